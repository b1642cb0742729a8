"""Fonts for rendered programs: the ones the parser was tuned on, and held-out ones.

Tuning uses Pillow's bundled font and DejaVu (Debian's default); the benchmark adds
typefaces installed by scripts/install_fonts.sh that the parser never saw while tuning.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

BUNDLED = "pillow-default"
_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")


class FontSpec(BaseModel):
    name: str
    #: file name to look for under the system font folders; BUNDLED for Pillow's own font
    file: str
    bold_file: str | None = None
    handwriting: bool = False


TUNING_FONTS = [
    FontSpec(name="pillow-default", file=BUNDLED),
    FontSpec(name="dejavu-sans", file="DejaVuSans.ttf", bold_file="DejaVuSans-Bold.ttf"),
    FontSpec(name="dejavu-serif", file="DejaVuSerif.ttf", bold_file="DejaVuSerif-Bold.ttf"),
]
HELD_OUT_FONTS = [
    FontSpec(
        name="liberation-sans",
        file="LiberationSans-Regular.ttf",
        bold_file="LiberationSans-Bold.ttf",
    ),
    FontSpec(
        name="liberation-serif",
        file="LiberationSerif-Regular.ttf",
        bold_file="LiberationSerif-Bold.ttf",
    ),
    FontSpec(name="open-sans", file="OpenSans-Regular.ttf", bold_file="OpenSans-Bold.ttf"),
    FontSpec(name="lato", file="Lato-Regular.ttf", bold_file="Lato-Bold.ttf"),
    FontSpec(name="freesans", file="FreeSans.ttf", bold_file="FreeSansBold.ttf"),
]
HANDWRITING_FONTS = [
    FontSpec(
        name="comic-neue",
        file="ComicNeue-Regular.otf",
        bold_file="ComicNeue-Bold.otf",
        handwriting=True,
    ),
    FontSpec(name="humor-sans", file="Humor-Sans.ttf", handwriting=True),
    FontSpec(name="dkg-handwriting", file="dkg.ttf", handwriting=True),
]


@lru_cache(maxsize=256)
def find_font_file(file: str) -> Path | None:
    for root in _ROOTS:
        if root.is_dir():
            for hit in root.rglob(file):
                return hit
    return None


def available(specs: list[FontSpec]) -> list[FontSpec]:
    return [s for s in specs if s.file == BUNDLED or find_font_file(s.file) is not None]


@lru_cache(maxsize=256)
def load_font(spec_file: str, size: int):
    from PIL import ImageFont

    if spec_file == BUNDLED:
        return ImageFont.load_default(size=size)
    path = find_font_file(spec_file)
    if path is None:
        raise FileNotFoundError(f"font {spec_file} is not installed (scripts/install_fonts.sh)")
    return ImageFont.truetype(str(path), size)


def font_for(spec: FontSpec, size: int, bold: bool = False):
    file = spec.bold_file if bold and spec.bold_file else spec.file
    return load_font(file, size)


@lru_cache(maxsize=4096)
def _has_glyph_cached(spec_file: str, size: int, char: str) -> bool:
    font = load_font(spec_file, size)
    # a missing glyph draws the same as a code point no font defines (.notdef or nothing)
    missing = font.getmask("\U0010fffd")
    mask = font.getmask(char)
    if mask.getbbox() is None:
        return False
    return bytes(mask) != bytes(missing) or mask.size != missing.size


def has_glyph(spec: FontSpec, char: str, size: int = 24) -> bool:
    return _has_glyph_cached(spec.file, size, char)
