"""Bytes in, entries out: the one function the CLI and the KServe predictor both call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from urtraining.domain import TrackerEntry
from urtraining.tracker.imaging import decode_image
from urtraining.tracker.settings import TrackerSettings

if TYPE_CHECKING:
    from urtraining.tracker.backends import TrackerBackend


class TrackResult(BaseModel):
    entries: list[TrackerEntry]
    #: why ``entries`` is empty, in words a user can act on; None when there are entries
    reason: str | None = None


def track_bytes_explained(
    data: bytes,
    settings: TrackerSettings | None = None,
    backend: TrackerBackend | None = None,
) -> TrackResult:
    from urtraining.tracker.backends import get_backend

    settings = settings or TrackerSettings()
    image = decode_image(data, settings)
    backend = backend or get_backend(settings)
    explained = getattr(backend, "read_with_reason", None)
    if explained is not None:
        parsed = explained(image)
        return TrackResult(entries=parsed.entries, reason=parsed.reason)
    entries = backend.read(image)
    return TrackResult(entries=entries, reason=None if entries else "no exercise lines found")


def track_bytes(
    data: bytes,
    settings: TrackerSettings | None = None,
    backend: TrackerBackend | None = None,
) -> list[TrackerEntry]:
    """Decode and check ``data`` (size, pixels, format), then read it with ``backend``.

    An empty list means the page had no exercise lines; bad input raises TrackerError
    (a UsageError) or PayloadTooLarge, with one line that names the problem.
    """
    return track_bytes_explained(data, settings, backend).entries
