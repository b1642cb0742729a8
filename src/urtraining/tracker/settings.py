"""How the tracker reads images: which backend, and the limits that protect it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from urtraining.errors import UsageError
from urtraining.tracker.ocr_models import DetModel, RecModel

BACKENDS = ("ocr", "vlm", "transformers")


class TrackerError(UsageError):
    """An image the tracker cannot use: not an image, truncated, or unreadable by the model."""


class TrackerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str = "ocr"
    max_image_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    #: decompression-bomb guard: checked from the header, before any pixel is decoded
    max_pixels: int = Field(default=40_000_000, ge=1)
    #: images are shrunk to this longest side before the model sees them (speed, not safety)
    max_side: int = Field(default=2000, ge=64)
    vlm_base_url: str | None = None
    vlm_model: str | None = None
    vlm_api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    #: tokens the VLM may spend on one page; a workout page is rarely over 40 entries
    vlm_max_tokens: int = Field(default=2048, ge=8)
    max_entries: int = Field(default=100, ge=1)
    #: transformers backend: a model folder (or hub id when online) and its device
    hf_model: str | None = None
    hf_device: str = "cpu"
    #: OCR weights (urtraining.tracker.ocr_models). The PP-OCRv6 recognizer reads
    #: handwriting far better than RapidOCR's bundled v4 (tuning seeds, handwriting-like
    #: fonts degraded 0.80 -> 0.94). The tiny detector costs next to nothing in F1 against
    #: the small one (0.987 / 0.941 vs 0.996 / 0.945 clean / degraded) and is faster on
    #: tall pages (median 0.54 vs 0.70 s, slowest 1.3 vs 2.0 s)
    ocr_rec_model: RecModel = "ppocrv6-small"
    ocr_det_model: DetModel = "ppocrv6-tiny"
    #: OCR threads; None lets onnxruntime choose
    ocr_threads: int | None = Field(default=None, ge=1)
    #: fix OCR's lookalike digits and misspelt exercise words (urtraining.tracker.ocr_repair)
    ocr_repair: bool = True
    #: re-read misread exercise names against the vocabulary with the recognizer's own
    #: probabilities (urtraining.tracker.name_decoding); needs ocr_repair
    ocr_name_decoding: bool = True
    #: width every recognised text box is padded to (RapidOCR's default is 320). A table
    #: cell holding "3" costs as much as a full line, so 80-cell tables took 2 s. Tuning
    #: seeds at 200: handwriting tables degraded 0.79 -> 0.83 (less padding, fewer glued
    #: words), print unchanged, the slowest table 2.0 -> 1.1 s; at 160 tables lose digits
    ocr_rec_width: int = Field(default=200, ge=48)
    #: boxes read with less mean confidence are dropped (RapidOCR's default is 0.5). A lone
    #: handwritten digit in a table cell is where the recognizer is least sure ("2" at 0.45);
    #: junk that gets through is rejected by the parser (tuning seeds: handwriting tables
    #: 0.94 -> 0.96, print unchanged)
    ocr_min_confidence: float = Field(default=0.3, ge=0, le=1)
