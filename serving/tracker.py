"""The ``tracker`` predictor: image -> tracker entries (or pages), by ``urtraining.tracker``."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kserve
from kserve import InferRequest

from serving import metrics, protocol
from serving.limits import Limits
from serving.requests import (
    TrackerInstance,
    TrackerParams,
    decode_base64_image,
    parameters,
    validate,
)

NAME = "tracker"


class TrackerModel(kserve.Model):
    def __init__(
        self,
        name: str = NAME,
        backend: str = "ocr",
        vlm_base_url: str | None = None,
        vlm_model: str | None = None,
        limits: Limits | None = None,
        workers: int = 1,
    ):
        super().__init__(name)
        self.limits = limits or Limits()
        self._settings_kwargs = {
            "backend": backend,
            "vlm_base_url": vlm_base_url,
            "vlm_model": vlm_model,
            "max_image_bytes": self.limits.max_image_bytes,
            "max_pixels": self.limits.max_pixels,
        }
        # Reading an image takes ~0.1-1 s of CPU: it runs off the event loop, so health checks
        # and metrics stay answered, on as many threads as the pod has cores for it.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tracker")
        self.settings: Any = None
        self.backend: Any = None

    def load(self) -> bool:
        from urtraining.tracker import TrackerSettings, get_backend

        self.settings = TrackerSettings(**self._settings_kwargs)
        self.backend = get_backend(self.settings)
        warm_up = getattr(self.backend, "warm_up", None)
        if warm_up is not None:
            warm_up()  # before ready: the first request must not pay the first-run cost
        self.ready = True
        return self.ready

    def stop(self) -> None:
        self.ready = False
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def preprocess(self, payload: dict | InferRequest, headers: dict | None = None):
        try:
            with metrics.stage(self.name, "validate"):
                decoded = protocol.decode(
                    payload, "image", lambda text, i: {"image_b64": text}, self.limits
                )
                where = "inputs.image" if decoded.v2 else "instances"
                params = parameters(TrackerParams, decoded.parameters)
                images = []
                for i, obj in enumerate(decoded.instances):
                    inst = validate(TrackerInstance, obj, f"{where}.{i}")
                    field = f"{where}.{i}" if decoded.v2 else f"{where}.{i}.image_b64"
                    images.append(
                        decode_base64_image(inst.image_b64, field, self.limits.max_image_bytes)
                    )
        except Exception as exc:
            metrics.count_error(self.name, exc)
            raise
        return decoded, params, images

    async def predict(self, payload, headers: dict | None = None):
        decoded, params, images = payload
        try:
            loop = asyncio.get_running_loop()
            results = []
            for i, data in enumerate(images):
                try:
                    result = await loop.run_in_executor(self._pool, self._track, data, params)
                    results.append(result)
                except Exception as exc:
                    # name the image that failed: the client sent several
                    if hasattr(exc, "args") and exc.args and isinstance(exc.args[0], str):
                        where = "inputs.image" if decoded.v2 else "instances"
                        exc.args = (f"{where}.{i}: {exc.args[0]}",) + exc.args[1:]
                    raise
        except Exception as exc:
            metrics.count_error(self.name, exc)
            raise
        metrics.INSTANCES_TOTAL.labels(self.name).inc(len(images))
        with metrics.stage(self.name, "serialize"):
            return protocol.encode(
                decoded, self.name, "pages" if params.pages else "entries", results
            )

    def _track(self, data: bytes, params: TrackerParams) -> list[dict]:
        from urtraining.tracker import to_tracker_pages, track_bytes

        with metrics.stage(self.name, "backend"):
            entries = track_bytes(data, settings=self.settings, backend=self.backend)
        if params.pages:
            return [p.model_dump(mode="json", exclude_none=True) for p in to_tracker_pages(entries)]
        return [e.model_dump(mode="json", exclude_none=True) for e in entries]
