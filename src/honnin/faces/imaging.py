"""Decoding untrusted image bytes into RGB pixel arrays (pure: no file or network I/O).

Formats: JPEG (ISO/IEC 10918), PNG (ISO/IEC 15948) and JPEG 2000 (ISO/IEC 15444-1, the
ICAO 9303-10 / JIS X 6320 chip portrait format). The EXIF ``Orientation`` tag (CIPA
DC-008 §4.6.4) is applied, because phone cameras store portrait selfies sideways and a
sideways face is not found by a frontal detector. The pixel limit is checked on the
header, before any pixel is decoded, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import io
import struct
import warnings

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from honnin.faces.errors import CorruptImageError, TooManyPixelsError

RGBImage = NDArray[np.uint8]
"""Height x width x 3 array, RGB order, the layout dlib expects."""

DEFAULT_MAX_PIXELS = 40_000_000
"""A 48 MP phone photo is ~48e6; uploads are expected to be camera frames or scans."""

ACCEPTED_FORMATS = ("JPEG", "PNG", "JPEG2000")
_CORRUPT = "not a decodable JPEG, PNG or JPEG 2000 image"

# Pillow reports malformed input with a spread of exception types, depending on which
# decoder stage notices the damage.
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    IndexError,
    EOFError,
    TypeError,
    KeyError,
    struct.error,
    Image.DecompressionBombError,
)


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> RGBImage:
    """Decode ``data`` (JPEG, PNG or JPEG 2000) to an upright RGB array.

    Raises :class:`CorruptImageError` for anything that is not a whole image of an
    accepted format and :class:`TooManyPixelsError` above ``max_pixels``.
    """
    if not data:
        raise CorruptImageError("empty image")
    image = _open(data)
    width, height = image.size
    if width <= 0 or height <= 0:
        raise CorruptImageError("image has no pixels")
    if width * height > max_pixels:
        msg = f"image has {width * height} pixels, the limit is {max_pixels}"
        raise TooManyPixelsError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            rgb = ImageOps.exif_transpose(image).convert("RGB")
    except Image.DecompressionBombWarning as exc:
        raise TooManyPixelsError("image exceeds the decoder's pixel limit") from exc
    except _DECODE_ERRORS as exc:
        raise CorruptImageError(_CORRUPT) from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _open(data: bytes) -> Image.Image:
    """Parse the header only (Pillow decodes pixels on ``load``)."""
    try:
        return Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise TooManyPixelsError("image exceeds the decoder's pixel limit") from exc
    except _DECODE_ERRORS as exc:
        raise CorruptImageError(_CORRUPT) from exc


def encode_image(image: RGBImage, *, fmt: str = "PNG", quality: int = 90) -> bytes:
    """Encode an RGB array (PNG, JPEG or JPEG2000); used by tests, the CLI and synthetic data."""
    buffer = io.BytesIO()
    pil = Image.fromarray(image, mode="RGB")
    if fmt == "JPEG":
        pil.save(buffer, format="JPEG", quality=quality)
    elif fmt == "JPEG2000":
        # A compression ratio instead of a quality: chip portraits are budgeted in bytes.
        pil.save(buffer, format="JPEG2000", quality_mode="rates", quality_layers=[quality])
    else:
        pil.save(buffer, format=fmt)
    return buffer.getvalue()


def downscale(image: RGBImage, max_side: int) -> tuple[RGBImage, float]:
    """Shrink ``image`` so its longer side is at most ``max_side``; return it and the scale.

    Area interpolation averages the dropped pixels, which keeps HOG gradients clean.
    """
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image, 1.0
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small, dtype=np.uint8), scale
