"""Backends that read an image into entries; one is built per settings and reused."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from urtraining.tracker.settings import BACKENDS, TrackerError, TrackerSettings

if TYPE_CHECKING:
    from PIL import Image

    from urtraining.domain import TrackerEntry


class TrackerBackend(Protocol):
    name: str

    def read(self, image: Image.Image) -> list[TrackerEntry]: ...


_cache: dict[str, TrackerBackend] = {}
_lock = threading.Lock()


def get_backend(settings: TrackerSettings) -> TrackerBackend:
    """The backend for ``settings``, loaded once per distinct settings (models are costly)."""
    key = settings.model_dump_json()
    with _lock:
        if key not in _cache:
            _cache[key] = _build(settings)
        return _cache[key]


def _build(settings: TrackerSettings) -> TrackerBackend:
    if settings.backend == "ocr":
        from urtraining.tracker.backends.ocr import OcrBackend

        return OcrBackend(settings)
    if settings.backend == "vlm":
        from urtraining.tracker.backends.vlm import VlmBackend

        return VlmBackend(settings)
    if settings.backend == "transformers":
        from urtraining.tracker.backends.hf import TransformersBackend

        return TransformersBackend(settings)
    raise TrackerError(
        f"unknown tracker backend {settings.backend!r}; choose one of {', '.join(BACKENDS)}"
    )
