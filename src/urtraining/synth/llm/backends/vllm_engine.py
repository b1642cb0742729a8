"""vLLM's in-process engine for GPU workers (the optional ``gpu`` extra; never imported on
the CPU install unless a roster names the ``vllm`` backend).

Requests are batched: ``complete_many`` hands a whole batch to ``LLM.chat`` so vLLM's
continuous batching keeps the GPU busy. Structured output uses ``StructuredOutputsParams``
(vLLM >= 0.10.2) and falls back to ``GuidedDecodingParams`` on older versions.
"""

from __future__ import annotations

import os
import threading
import time

from urtraining.synth.llm.backends.base import BackendError, LLMBackend, LLMRequest, LLMResponse

_ENGINES: dict[str, object] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(model: str):
    """One engine per model per process: loading weights is the expensive part."""
    with _ENGINES_LOCK:
        if model not in _ENGINES:
            try:
                from vllm import LLM
            except ImportError as exc:  # pragma: no cover - GPU-only path
                raise BackendError(
                    "the vllm backend needs vLLM on a GPU worker: pip install 'urtraining[gpu]'"
                ) from exc
            _ENGINES[model] = LLM(
                model=model,
                gpu_memory_utilization=float(os.environ.get("URTRAINING_VLLM_GPU_UTIL", "0.85")),
                max_model_len=int(os.environ.get("URTRAINING_VLLM_MAX_LEN", "8192")),
                seed=0,
            )
        return _ENGINES[model]


def _sampling_params(request: LLMRequest):
    from vllm import SamplingParams

    kwargs = {
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "seed": request.seed,
    }
    if request.schema is None:
        return SamplingParams(**kwargs)
    try:
        from vllm.sampling_params import StructuredOutputsParams

        return SamplingParams(
            **kwargs, structured_outputs=StructuredOutputsParams(json=request.schema)
        )
    except ImportError:  # vLLM < 0.10.2
        from vllm.sampling_params import GuidedDecodingParams

        return SamplingParams(**kwargs, guided_decoding=GuidedDecodingParams(json=request.schema))


class VLLMBackend(LLMBackend):
    kind = "vllm"

    def __init__(self, model: str):
        super().__init__(model)
        self._llm = _engine(model)
        self._lock = threading.Lock()

    def complete(self, request: LLMRequest) -> LLMResponse:
        out = self.complete_many([request])[0]
        if isinstance(out, BackendError):
            raise out
        return out

    def complete_many(self, requests: list[LLMRequest]) -> list[LLMResponse | BackendError]:
        t0 = time.perf_counter()
        params = [_sampling_params(r) for r in requests]
        with self._lock:  # LLM.chat is not re-entrant
            try:
                results = self._llm.chat(
                    [r.messages for r in requests], sampling_params=params, use_tqdm=False
                )
            except Exception as exc:  # noqa: BLE001 - one failed batch must not kill the run
                err = BackendError(f"vllm: {type(exc).__name__}: {exc}")
                return [err for _ in requests]
        wall = time.perf_counter() - t0
        out: list[LLMResponse | BackendError] = []
        for res in results:
            comp = res.outputs[0]
            out.append(
                LLMResponse(
                    text=comp.text,
                    tokens_in=len(res.prompt_token_ids or ()),
                    tokens_out=len(comp.token_ids),
                    finish_reason=comp.finish_reason or "stop",
                    # the batch ran as one: each record is charged its share of the wall time
                    latency_s=wall / max(1, len(requests)),
                )
            )
        return out
