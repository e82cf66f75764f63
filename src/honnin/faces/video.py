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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

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
        wanted: set[int] | None = None
        if count > 0:
            # The container knows its length: pick evenly spaced indices up front.
            last = min(count, int(max_s * fps) + 1) - 1
            picks = np.linspace(0, max(last, 0), min(max_frames, last + 1)).round()
            wanted = set(picks.astype(int).tolist())
        decoded: list[Frame] = []
        index = 0
        stride = 1
        while True:
            ok, bgr = capture.read()
            if not ok or bgr is None:
                break
            t = index / fps
            if t > max_s:
                break
            if bgr.shape[0] * bgr.shape[1] > max_pixels:
                raise TooManyPixelsError("a video frame exceeds the pixel limit")
            keep = index in wanted if wanted is not None else index % stride == 0
            if keep:
                rgb = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
                decoded.append(Frame(pixels=rgb, t=t))
            index += 1
            # Unknown length: bounded memory by halving the kept frames and the rate,
            # which keeps the spacing even.
            if wanted is None and len(decoded) >= 2 * max_frames:
                decoded = decoded[::2]
                stride *= 2
    finally:
        capture.release()
    if not decoded:
        raise CorruptVideoError("the video holds no decodable frame")
    return sample(decoded, max_frames)


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
