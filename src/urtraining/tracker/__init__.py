"""Image-to-tracker: a workout program's photo or screenshot becomes TrackerEntry items.

Backends (``ocr`` offline default, ``vlm`` OpenAI-compatible, ``transformers`` in-process)
share one parser, so every backend returns entries cleaned and filled the same way.
"""

from urtraining.tracker.backends import TrackerBackend, get_backend
from urtraining.tracker.pages import TrackerPage, to_tracker_pages
from urtraining.tracker.render import render_sample_program
from urtraining.tracker.service import TrackResult, track_bytes, track_bytes_explained
from urtraining.tracker.settings import TrackerError, TrackerSettings

__all__ = [
    "TrackResult",
    "TrackerBackend",
    "TrackerError",
    "TrackerPage",
    "TrackerSettings",
    "get_backend",
    "render_sample_program",
    "to_tracker_pages",
    "track_bytes",
    "track_bytes_explained",
]
