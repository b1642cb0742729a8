"""A vision-language model behind an OpenAI-compatible chat endpoint (vLLM, Qwen2.5-VL).

The answer is constrained by a JSON schema derived from TrackerEntry, then cleaned by the
shared parser. Transport errors are retried by the client; malformed answers are retried
here, and what still fails becomes one clean TrackerError.
"""

from __future__ import annotations

import base64
import io
import os
from typing import TYPE_CHECKING

from urtraining.errors import UpstreamUnavailable
from urtraining.tracker.imaging import shrink
from urtraining.tracker.parser import normalise_entries
from urtraining.tracker.prompt import (
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    USER_PROMPT,
    parse_model_output,
    response_schema,
)
from urtraining.tracker.settings import TrackerError, TrackerSettings

if TYPE_CHECKING:
    from PIL import Image

    from urtraining.domain import TrackerEntry


class BackendUnavailable(TrackerError, UpstreamUnavailable):
    """The model server could not be reached or kept failing (HTTP callers: 503)."""


class VlmBackend:
    name = "vlm"

    def __init__(self, settings: TrackerSettings):
        import openai

        if not settings.vlm_base_url or not settings.vlm_model:
            raise TrackerError("the vlm backend needs vlm_base_url and vlm_model")
        self.settings = settings
        self.client = openai.OpenAI(
            base_url=settings.vlm_base_url,
            # vLLM accepts any key unless started with --api-key
            api_key=os.environ.get(settings.vlm_api_key_env) or "EMPTY",
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )

    def request(self, image: Image.Image) -> dict:
        buf = io.BytesIO()
        shrink(image, min(self.settings.max_side, 1600)).save(buf, "PNG")
        url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        return {
            "model": self.settings.vlm_model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": url}},
                        {"type": "text", "text": USER_PROMPT},
                    ],
                },
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": PROMPT_VERSION.replace("-", "_"),
                    "schema": response_schema(self.settings.max_entries),
                },
            },
            "temperature": 0,
            "max_tokens": self.settings.vlm_max_tokens,
        }

    def read(self, image: Image.Image) -> list[TrackerEntry]:
        import openai

        request = self.request(image)
        last_error: TrackerError | None = None
        for _ in range(self.settings.max_retries + 1):
            try:
                reply = self.client.chat.completions.create(**request)
            except (openai.APIConnectionError, openai.APITimeoutError) as exc:
                raise BackendUnavailable(
                    f"VLM server {self.settings.vlm_base_url} unreachable: {exc.__class__.__name__}"
                ) from exc
            except openai.APIStatusError as exc:
                raise BackendUnavailable(
                    f"VLM server {self.settings.vlm_base_url} answered HTTP {exc.status_code}"
                ) from exc
            choice = reply.choices[0] if reply.choices else None
            text = choice.message.content if choice else None
            try:
                entries = parse_model_output(text)
            except TrackerError as exc:
                last_error = exc
                continue
            if choice.finish_reason == "length" and not entries:
                last_error = TrackerError(
                    "could not read the image: the model's answer was cut off"
                )
                continue
            return normalise_entries(entries, self.settings.max_entries)
        assert last_error is not None
        raise last_error
