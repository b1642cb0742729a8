"""An in-process VLM for GPU workers: transformers' AutoModelForImageTextToText.

Same prompt and output contract as the ``vlm`` backend; decoding is not grammar-constrained
here, so an answer that is not the expected JSON ends as a clean 'could not read' error.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

from urtraining.tracker.imaging import shrink
from urtraining.tracker.parser import normalise_entries
from urtraining.tracker.prompt import (
    SYSTEM_PROMPT,
    USER_PROMPT,
    parse_model_output,
    response_schema,
)
from urtraining.tracker.settings import TrackerError, TrackerSettings

if TYPE_CHECKING:
    from PIL import Image

    from urtraining.domain import TrackerEntry


class TransformersBackend:
    name = "transformers"

    def __init__(self, settings: TrackerSettings):
        if not settings.hf_model:
            raise TrackerError("the transformers backend needs hf_model (a model folder)")
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.settings = settings
        self.processor = AutoProcessor.from_pretrained(settings.hf_model)
        dtype = torch.bfloat16 if settings.hf_device.startswith("cuda") else torch.float32
        self.model = AutoModelForImageTextToText.from_pretrained(settings.hf_model, dtype=dtype)
        self.model.to(settings.hf_device).eval()
        self._lock = threading.Lock()

    def messages(self) -> list[dict]:
        schema = json.dumps(response_schema(self.settings.max_entries))
        return [
            {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
            {
                "role": "user",
                "content": [
                    {"type": "image"},
                    {"type": "text", "text": f"{USER_PROMPT}\nJSON schema: {schema}"},
                ],
            },
        ]

    def generate(self, image: Image.Image) -> str:
        import torch

        prompt = self.processor.apply_chat_template(self.messages(), add_generation_prompt=True)
        inputs = self.processor(
            images=[shrink(image, min(self.settings.max_side, 1600))],
            text=[prompt],
            return_tensors="pt",
        ).to(self.settings.hf_device)
        with self._lock, torch.inference_mode():
            out = self.model.generate(
                **inputs, max_new_tokens=self.settings.vlm_max_tokens, do_sample=False
            )
        new_tokens = out[0, inputs["input_ids"].shape[1] :]
        return self.processor.decode(new_tokens, skip_special_tokens=True)

    def read(self, image: Image.Image) -> list[TrackerEntry]:
        try:
            text = self.generate(image)
        except (RuntimeError, ValueError) as exc:
            first = (str(exc).splitlines() or [exc.__class__.__name__])[0][:200]
            raise TrackerError(f"could not read the image: the model failed ({first})") from exc
        return normalise_entries(parse_model_output(text), self.settings.max_entries)
