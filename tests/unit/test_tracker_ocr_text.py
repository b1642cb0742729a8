"""What the OCR backend hands the parser: recognizer output folded to the text it reads,
and lone dashes the recognizer reads as "1" given back."""

import pytest

from urtraining.tracker.backends.ocr import clean_text, is_dash
from urtraining.tracker.fonts import TUNING_FONTS, available, font_for


@pytest.mark.parametrize(
    ("read", "clean"),
    [
        ("Ｚ", "Z"),  # full-width forms of the Chinese+Latin alphabet: the repair sees a Z
        ("５ x １０", "5 x 10"),
        ("5號", "5"),  # an ideograph stuck to a number on a Latin page
        ("12 了", "12"),
        ("Rest 90 s ", "Rest 90 s"),
        ("二", "二"),  # alone it is not next to anything it could spoil: left for the parser
        ("Übung 3 x 8", "Übung 3 x 8"),  # Latin letters beyond ASCII stay
    ],
)
def test_clean_text(read, clean):
    assert clean_text(read) == clean


def _glyph_box(text: str, font, *, rotate: float = 0, blur: float = 0):
    """A grey page holding one glyph, and a detector-like box around it (ink plus margin)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    img = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(img).text((40, 30), text, fill=0, font=font)
    img = img.rotate(rotate, fillcolor=255).filter(ImageFilter.GaussianBlur(blur))
    grey = np.asarray(img)
    ys, xs = np.nonzero(grey < 128)
    x0, x1, y0, y1 = xs.min() - 6, xs.max() + 6, ys.min() - 6, ys.max() + 6
    return grey, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


@pytest.mark.parametrize("spec", available(TUNING_FONTS), ids=lambda s: s.name)
@pytest.mark.parametrize(("rotate", "blur"), [(0, 0), (4, 1.2)])
def test_a_flat_stroke_is_a_dash_and_a_one_is_not(spec, rotate, blur):
    font = font_for(spec, 36)
    assert is_dash(*_glyph_box("-", font, rotate=rotate, blur=blur))
    assert not is_dash(*_glyph_box("1", font, rotate=rotate, blur=blur))
    assert not is_dash(*_glyph_box("l", font, rotate=rotate, blur=blur))


def test_an_empty_box_is_not_a_dash():
    import numpy as np

    assert not is_dash(np.full((50, 50), 250, np.uint8), [[5, 5], [40, 5], [40, 30], [5, 30]])
