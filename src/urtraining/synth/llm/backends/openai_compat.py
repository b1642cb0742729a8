"""Any OpenAI-compatible chat endpoint: vLLM's server, DeepSeek's API, Ollama, llama.cpp.

Transport problems (connection errors, timeouts, 429, 5xx) are retried here with
exponential backoff and jitter; the SDK's own retries are off so every retry is counted.
Answers that arrive but are wrong (malformed JSON, invalid records) are not this layer's
business: the engine retries those with the errors fed back.
"""

from __future__ import annotations

import os
import random
import threading
import time

from urtraining.synth.llm.backends.base import BackendError, LLMBackend, LLMRequest, LLMResponse

BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 20.0


class OpenAIBackend(LLMBackend):
    kind = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 120.0,
        max_retries: int = 3,
        concurrency: int = 8,
        structured_output: str = "json_schema",
    ):
        import openai

        super().__init__(model)
        self.base_url = base_url
        self.max_retries = max_retries
        self.structured_output = structured_output
        # local servers (vLLM, llama.cpp, our test server) accept any key
        key = os.environ.get(api_key_env) or "not-needed"
        self._client = openai.OpenAI(
            api_key=key, base_url=base_url, timeout=timeout_s, max_retries=0
        )
        # bounds requests in flight from this process, whatever the caller's thread count
        self._slots = threading.BoundedSemaphore(concurrency)
        self._retryable = (
            openai.APIConnectionError,  # includes APITimeoutError
            openai.RateLimitError,
            openai.InternalServerError,
        )
        self._status_error = openai.APIStatusError

    def _response_format(self, request: LLMRequest) -> dict | None:
        if request.schema is None or self.structured_output == "none":
            return None
        if self.structured_output == "json_object":
            return {"type": "json_object"}
        return {
            "type": "json_schema",
            # strict=False: vLLM ignores it, OpenAI's strict mode rejects optional fields
            "json_schema": {"name": "record", "schema": request.schema, "strict": False},
        }

    def complete(self, request: LLMRequest) -> LLMResponse:
        kwargs: dict = {
            "model": self.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed
        fmt = self._response_format(request)
        if fmt is not None:
            kwargs["response_format"] = fmt
        t0 = time.perf_counter()
        retries = 0
        while True:
            try:
                with self._slots:
                    resp = self._client.chat.completions.create(**kwargs)
                break
            except self._retryable as exc:
                if retries >= self.max_retries:
                    raise BackendError(
                        f"{self.model}: {type(exc).__name__} after {retries} retries: {exc}",
                        transport_retries=retries,
                        latency_s=time.perf_counter() - t0,
                    ) from exc
                retries += 1
                delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (retries - 1))
                time.sleep(delay * random.uniform(0.5, 1.0))
            except self._status_error as exc:  # 4xx: our request is wrong, retrying won't help
                raise BackendError(
                    f"{self.model}: HTTP {exc.status_code}: {exc}",
                    transport_retries=retries,
                    latency_s=time.perf_counter() - t0,
                ) from exc
        choice = resp.choices[0]
        msg = choice.message
        usage = resp.usage
        reasoning = getattr(msg, "reasoning_content", None) or getattr(msg, "reasoning", None)
        return LLMResponse(
            text=msg.content or "",
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            finish_reason=choice.finish_reason or "stop",
            latency_s=time.perf_counter() - t0,
            transport_retries=retries,
            reasoning=reasoning if isinstance(reasoning, str) else None,
        )

    def close(self) -> None:
        self._client.close()
