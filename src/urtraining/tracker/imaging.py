"""Bytes -> a safe RGB image: size and pixel limits before decoding, clean errors after."""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

from urtraining.errors import PayloadTooLarge
from urtraining.tracker.settings import TrackerError, TrackerSettings

if TYPE_CHECKING:
    from PIL import Image


def decode_image(data: bytes, settings: TrackerSettings) -> Image.Image:
    """Decode ``data`` into an upright RGB image, or raise a one-line TrackerError/413."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise TrackerError("empty file: not an image")
    if len(data) > settings.max_image_bytes:
        raise PayloadTooLarge(
            f"image is {len(data)} bytes; the limit is {settings.max_image_bytes} bytes"
        )
    try:
        # Pillow's own bomb check only warns below 2x its limit; ours is exact and configurable,
        # so its warning is silenced and the header size is checked before load().
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > settings.max_pixels:
                raise PayloadTooLarge(
                    f"image is {width}x{height} = {width * height} pixels; "
                    f"the limit is {settings.max_pixels}"
                )
            img.load()
    except PayloadTooLarge:
        raise
    except Image.DecompressionBombError as exc:
        raise PayloadTooLarge(f"image has too many pixels ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise TrackerError("not an image (unknown or unsupported format)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        # truncated files and corrupt streams surface as OSError from the decoders
        raise TrackerError(f"image could not be decoded: {_first_line(exc)}") from exc
    if width < 8 or height < 8:
        raise TrackerError(f"image is too small to hold text ({width}x{height})")
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # transparent screenshots: text drawn on nothing must end up on white, not black
        background = Image.new("RGB", img.size, "white")
        background.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        img = background
    return img.convert("RGB")


def shrink(img: Image.Image, max_side: int) -> Image.Image:
    from PIL import Image

    if max(img.size) <= max_side:
        return img
    scale = max_side / max(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
