"""Contrastive fine-tuning of the bi-encoder (sentence-transformers), in-process or on Ray."""
