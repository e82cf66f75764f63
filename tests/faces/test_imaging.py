import contextlib
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from honnin.faces.errors import CorruptImageError, TooManyPixelsError
from honnin.faces.imaging import decode_image, downscale, encode_image


def _gradient(width: int = 40, height: int = 20) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs * 5 % 256, ys * 9 % 256, (xs + ys) % 256], axis=-1).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "JPEG2000"])
def test_decodes_each_accepted_format(fmt: str) -> None:
    pixels = _gradient()
    decoded = decode_image(encode_image(pixels, fmt=fmt, quality=95 if fmt == "JPEG" else 5))
    assert decoded.shape == (20, 40, 3)
    assert decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - pixels.astype(int)).mean() < 12


def test_exif_orientation_is_applied() -> None:
    image = Image.fromarray(_gradient())
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    assert decode_image(buffer.getvalue()).shape == (40, 20, 3)


def test_pixel_limit_is_checked_before_decoding() -> None:
    # A PNG header claiming 100000 x 100000 pixels and no real pixel data.
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    with pytest.raises(TooManyPixelsError) as caught:
        decode_image(bomb)
    assert caught.value.code == "too_many_pixels"


def test_pixel_limit_is_configurable() -> None:
    with pytest.raises(TooManyPixelsError):
        decode_image(encode_image(_gradient()), max_pixels=100)


def test_gif_is_not_accepted() -> None:
    buffer = io.BytesIO()
    Image.fromarray(_gradient()).save(buffer, format="GIF")
    with pytest.raises(CorruptImageError):
        decode_image(buffer.getvalue())


@pytest.mark.parametrize("cut", [0, 10, 100])
def test_truncated_jpeg_is_corrupt(cut: int) -> None:
    data = encode_image(_gradient(200, 200), fmt="JPEG")
    with pytest.raises(CorruptImageError) as caught:
        decode_image(data[:cut])
    assert caught.value.code == "corrupt_image"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_give_only_stable_errors(data: bytes) -> None:
    with contextlib.suppress(CorruptImageError, TooManyPixelsError):
        decode_image(data)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=4000), st.integers(min_value=0, max_value=255))
def test_damaged_png_gives_only_stable_errors(position: int, value: int) -> None:
    data = bytearray(encode_image(_gradient(60, 60)))
    data[position % len(data)] = value
    with contextlib.suppress(CorruptImageError, TooManyPixelsError):
        decode_image(bytes(data))


def test_downscale_keeps_aspect_and_reports_scale() -> None:
    small, scale = downscale(np.zeros((1000, 2000, 3), np.uint8), 500)
    assert small.shape == (250, 500, 3)
    assert scale == 0.25
    same, one = downscale(np.zeros((10, 20, 3), np.uint8), 500)
    assert same.shape == (10, 20, 3)
    assert one == 1.0
