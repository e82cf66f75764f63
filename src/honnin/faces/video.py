"""Frames for the liveness checks: decoded from a video container or from still images.

Containers are whatever the bundled OpenCV/FFmpeg build reads (MP4/H.264, WebM/VP8,
Y4M, ...). OpenCV reads from a path only, so the bytes given are written to a private
temporary file that is removed before returning; that is the one I/O these functions do.
Frames are sampled to at most ``max_frames`` evenly over the clip, because liveness
needs the actions' timeline, not every frame, and each analysed frame costs a detection.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from honnin.faces.errors import CorruptVideoError, TooManyPixelsError
from honnin.faces.imaging import RGBImage, decode_image

DEFAULT_MAX_FRAMES = 48
DEFAULT_MAX_FRAME_PIXELS = 1920 * 1080
DEFAULT_MAX_DURATION_S = 60.0


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One RGB frame and its time in seconds from the start of the recording."""

    pixels: RGBImage
    t: float


def frames_from_images(
    images: Sequence[bytes],
    *,
    fps: float | None = None,
    times: Sequence[float] | None = None,
    max_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
) -> list[Frame]:
    """Frames from encoded stills, timed by ``times`` or by a constant ``fps``."""
    if times is not None and len(times) != len(images):
        raise CorruptVideoError("one time per frame is required")
    if times is None and (fps is None or fps <= 0):
        raise CorruptVideoError("frame times or a positive fps are required")
    frames = []
    for index, data in enumerate(images):
        t = float(times[index]) if times is not None else index / float(fps or 1.0)
        frames.append(Frame(pixels=decode_image(data, max_pixels=max_pixels), t=t))
    if not frames:
        raise CorruptVideoError("no frames")
    return frames


def frames_from_video(
    data: bytes,
    *,
    max_frames: int = DEFAULT_MAX_FRAMES,
    max_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
) -> list[Frame]:
    """Decode a video and return up to ``max_frames`` frames spread over its length."""
    if not data:
        raise CorruptVideoError("empty video")
    handle, path = tempfile.mkstemp(prefix="honnin-video-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        return _read(path, max_frames=max_frames, max_pixels=max_pixels, max_s=max_duration_s)
    finally:
        Path(path).unlink()


def _read(path: str, *, max_frames: int, max_pixels: int, max_s: float) -> list[Frame]:
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise CorruptVideoError("not a readable video")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width * height > max_pixels:
            msg = f"video frames have {width * height} pixels, the limit is {max_pixels}"
            raise TooManyPixelsError(msg)
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = fps if 0 < fps <= 240 else 30.0
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    limits = _Limits(fps=fps, max_pixels=max_pixels, max_s=max_s)
    if count > 0:
        # The container states its length: pick evenly spaced indices up front.
        last = min(count, int(max_s * fps) + 1) - 1
        picks = np.linspace(0, max(last, 0), min(max_frames, last + 1)).round()
        wanted = set(picks.astype(int).tolist())
        decoded, total = _decode(path, limits, keep=wanted.__contains__)
        # Streamed containers (MediaRecorder WebM) may state a wrong length; then the
        # picks are not spread over the real clip and the second pass below is needed.
        if decoded and abs(total - min(count, last + 1)) <= max(2, count // 20):
            return decoded
    decoded = _decode_thinning(path, limits, max_frames=max_frames)
    if not decoded:
        raise CorruptVideoError("the video holds no decodable frame")
    return decoded


@dataclass(frozen=True, slots=True)
class _Limits:
    fps: float
    max_pixels: int
    max_s: float


def _raw_frames(path: str, limits: _Limits) -> Iterator[tuple[int, NDArray[np.uint8]]]:
    """(index, BGR pixels) of every frame within the duration limit."""
    capture = cv2.VideoCapture(path)
    try:
        index = 0
        while index / limits.fps <= limits.max_s:
            ok, bgr = capture.read()
            if not ok or bgr is None:
                break
            if bgr.shape[0] * bgr.shape[1] > limits.max_pixels:
                raise TooManyPixelsError("a video frame exceeds the pixel limit")
            yield index, np.asarray(bgr, dtype=np.uint8)
            index += 1
    finally:
        capture.release()


def _frame(index: int, bgr: NDArray[np.uint8], limits: _Limits) -> Frame:
    rgb = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    return Frame(pixels=rgb, t=index / limits.fps)


def _decode(path: str, limits: _Limits, *, keep: Callable[[int], bool]) -> tuple[list[Frame], int]:
    """Frames whose index ``keep`` accepts, and how many frames were read in all."""
    decoded: list[Frame] = []
    total = 0
    for index, bgr in _raw_frames(path, limits):
        total = index + 1
        if keep(index):
            decoded.append(_frame(index, bgr, limits))
    return decoded, total


def _decode_thinning(path: str, limits: _Limits, *, max_frames: int) -> list[Frame]:
    """Unknown length: keep every ``stride``-th frame, halving the kept frames and
    doubling the stride whenever the buffer fills; spacing stays even, memory bounded."""
    kept: list[Frame] = []
    stride = 1
    for index, bgr in _raw_frames(path, limits):
        if index % stride == 0:
            kept.append(_frame(index, bgr, limits))
        if len(kept) >= 2 * max_frames:
            kept = kept[::2]
            stride *= 2
    return kept[::2] if len(kept) > max_frames else kept


def sample(frames: Sequence[Frame], max_frames: int) -> list[Frame]:
    """At most ``max_frames`` frames evenly spaced, always keeping the first and last."""
    if len(frames) <= max_frames:
        return list(frames)
    picks = np.linspace(0, len(frames) - 1, max_frames).round().astype(int)
    return [frames[i] for i in sorted(set(picks.tolist()))]


def encode_y4m(frames: Sequence[Frame], *, fps: int) -> bytes:
    """YUV4MPEG2 (4:2:0) bytes of ``frames``: the format Chromium's fake camera reads."""
    if not frames:
        raise CorruptVideoError("no frames")
    height, width = frames[0].pixels.shape[:2]
    chunks = [f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()]
    for frame in frames:
        yuv = cv2.cvtColor(frame.pixels, cv2.COLOR_RGB2YUV_I420)
        chunks.append(b"FRAME\n")
        chunks.append(yuv.tobytes())
    return b"".join(chunks)


def encode_mp4(frames: Sequence[Frame], *, fps: int) -> bytes:
    """MPEG-4 Part 2 video of ``frames`` (OpenCV's built-in ``mp4v`` encoder)."""
    if not frames:
        raise CorruptVideoError("no frames")
    height, width = frames[0].pixels.shape[:2]
    handle, path = tempfile.mkstemp(prefix="honnin-video-", suffix=".mp4")
    os.close(handle)
    try:
        writer = cv2.VideoWriter(path, cv2.VideoWriter.fourcc(*"mp4v"), float(fps), (width, height))
        if not writer.isOpened():
            raise CorruptVideoError("no MP4 encoder in this OpenCV build")
        for frame in frames:
            writer.write(cv2.cvtColor(frame.pixels, cv2.COLOR_RGB2BGR))
        writer.release()
        return Path(path).read_bytes()
    finally:
        Path(path).unlink()
