"""Bad input never reaches the model: non-images, truncation, bombs, size limits."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from urtraining.errors import PayloadTooLarge, UsageError
from urtraining.tracker import TrackerError, TrackerSettings
from urtraining.tracker.imaging import decode_image


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: decoding it would allocate gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def test_good_image_is_rgb():
    img = decode_image(_png(Image.new("L", (40, 30), 255)), TrackerSettings())
    assert img.mode == "RGB" and img.size == (40, 30)


def test_transparent_screenshot_lands_on_white():
    img = decode_image(_png(Image.new("RGBA", (20, 20), (0, 0, 0, 0))), TrackerSettings())
    assert img.getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"hello, this is text", "not an image"),
        (b"%PDF-1.7\n...", "not an image"),
    ],
)
def test_not_an_image(data, message):
    with pytest.raises(TrackerError, match=message):
        decode_image(data, TrackerSettings())


def test_truncated_file():
    buf = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(buf, "JPEG")
    data = buf.getvalue()
    with pytest.raises(TrackerError, match="could not be decoded"):
        decode_image(data[: len(data) // 2], TrackerSettings())


def test_image_bomb_is_refused_from_the_header():
    with pytest.raises(PayloadTooLarge, match="pixels"):
        decode_image(_png_header_only(100_000, 100_000), TrackerSettings())


def test_limits_are_configurable_and_413():
    data = _png(Image.new("RGB", (100, 100), "white"))
    with pytest.raises(PayloadTooLarge, match="pixels"):
        decode_image(data, TrackerSettings(max_pixels=5_000))
    with pytest.raises(PayloadTooLarge, match="bytes"):
        decode_image(data, TrackerSettings(max_image_bytes=10))
    assert issubclass(PayloadTooLarge, UsageError) and issubclass(TrackerError, UsageError)


def test_too_small_to_hold_text():
    with pytest.raises(TrackerError, match="too small"):
        decode_image(_png(Image.new("RGB", (4, 4))), TrackerSettings())
