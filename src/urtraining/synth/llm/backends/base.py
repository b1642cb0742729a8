"""One interface for every LLM backend: chat messages (+ an optional JSON schema) in, text out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

Message = dict[str, str]


@dataclass
class LLMRequest:
    messages: list[Message]
    #: JSON schema the answer must follow; backends that can constrain decoding do
    schema: dict | None = None
    max_tokens: int = 768
    temperature: float = 0.8
    seed: int | None = None
    #: let a reasoning model think (``<think>...</think>``) before the constrained JSON
    reasoning: bool = False


@dataclass
class LLMResponse:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    #: "stop" or "length" (truncated); a truncated answer is retried, never repaired
    finish_reason: str = "stop"
    #: wall time of the model call(s), transport retries included
    latency_s: float = 0.0
    #: transport retries the backend made itself (HTTP 5xx, timeouts)
    transport_retries: int = 0
    #: the reasoning a server returned separately (vLLM's reasoning parser), if any
    reasoning: str | None = None


class BackendError(RuntimeError):
    """The backend gave no answer, even after its own transport retries."""

    def __init__(self, message: str, transport_retries: int = 0, latency_s: float = 0.0):
        super().__init__(message)
        self.transport_retries = transport_retries
        self.latency_s = latency_s


class LLMBackend(ABC):
    """A model behind some transport. ``complete`` must be safe to call from several threads."""

    kind: str = "base"

    def __init__(self, model: str):
        self.model = model

    @abstractmethod
    def complete(self, request: LLMRequest) -> LLMResponse: ...

    def complete_many(self, requests: list[LLMRequest]) -> list[LLMResponse | BackendError]:
        """Several requests at once; engines that batch internally (vLLM) override this."""
        out: list[LLMResponse | BackendError] = []
        for r in requests:
            try:
                out.append(self.complete(r))
            except BackendError as exc:
                out.append(exc)
        return out

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
