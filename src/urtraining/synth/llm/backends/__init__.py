"""Backends by name; each is imported only when a roster uses it (vLLM is GPU-only)."""

from __future__ import annotations

import json
import threading

from urtraining.config import LLMEndpoint
from urtraining.synth.llm.backends.base import (
    BackendError,
    LLMBackend,
    LLMRequest,
    LLMResponse,
)

__all__ = ["BackendError", "LLMBackend", "LLMRequest", "LLMResponse", "backend_for"]

_CACHE: dict[str, LLMBackend] = {}
_LOCK = threading.Lock()


def backend_for(endpoint: LLMEndpoint) -> LLMBackend:
    """The backend object for ``endpoint``, created once per process (a Ray worker keeps
    its model loaded across batches)."""
    key = json.dumps(endpoint.model_dump(mode="json"), sort_keys=True)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _make(endpoint)
        return _CACHE[key]


def _make(ep: LLMEndpoint) -> LLMBackend:
    if ep.backend == "local":
        from urtraining.synth.llm.backends.local import LocalBackend

        return LocalBackend(ep.model)
    if ep.backend == "openai":
        from urtraining.synth.llm.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(
            ep.model,
            base_url=ep.base_url,
            api_key_env=ep.api_key_env,
            timeout_s=ep.timeout_s,
            max_retries=ep.max_retries,
            concurrency=ep.concurrency,
            structured_output=ep.structured_output,
        )
    if ep.backend == "vllm":
        from urtraining.synth.llm.backends.vllm_engine import VLLMBackend

        return VLLMBackend(ep.model)
    raise BackendError(f"unknown LLM backend {ep.backend!r}")
