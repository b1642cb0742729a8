"""What the OCR backend hands the parser: recognizer output folded to the text it reads."""

import pytest

from urtraining.tracker.backends.ocr import clean_text


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
