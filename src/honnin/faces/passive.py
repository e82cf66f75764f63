"""Passive liveness: is the recorded face a live 3-D face, or a photo or a screen?

Presentation-attack detection signals (ISO/IEC 30107-1 vocabulary), each reported with
its value, its threshold and whether it passed:

* ``motion``: RMS landmark displacement from the first face frame, in inter-ocular
  units (largest over the recording). A photo held still barely moves.
* ``parallax``: how much of the motion of the nose and eye landmarks a single
  homography *cannot* explain. Every view of a flat photo is related to every other by
  a homography (Hartley & Zisserman, *Multiple View Geometry*, 2nd ed., §13.1), so its
  landmarks fit one almost exactly; a real head turning moves the nose against the eye
  corners (depth parallax) and blinking moves points non-rigidly. Residual RMS in
  inter-ocular units; the second-largest frame counts, so one bad landmark fit cannot
  pass a photo.
* ``moire``: a screen filmed by a camera shows the pixel grid beating against the
  sensor grid, a sharp isolated peak in the face region's spectrum (Patel, Han & Jain,
  "Secure face unlock: spoof detection on smartphones", IEEE TIFS 2016). Peak height
  above the band's median, in log-magnitude; the JPEG/video block grid (multiples of
  1/8 cycle per pixel) and the axes are masked.
* ``screen_colour``: a filmed screen lifts the blacks and its light is bluer than light
  on skin: the frame's 1st-percentile grey level plus a quarter of the cheeks' mean
  (B - R) / (R + G + B).

The face is live when every signal passes. Thresholds were set on the synthetic data
of :mod:`honnin.faces.synthetic` (docs/faces.md) and should be re-tuned on real
recordings before production use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from honnin.faces import tracking
from honnin.faces.imaging import RGBImage
from honnin.faces.tracking import Observation, Track
from honnin.faces.video import DEFAULT_MAX_FRAMES, Frame, frames_from_video

MOTION_MIN = 0.05
PARALLAX_MIN = 0.022
_SURFACE_POINTS = list(range(27, 48))
"""Nose (27-35) and eyes (36-47): points on the face's surface. The jaw line is a
silhouette that the landmark model re-draws for a tilted photo as if the head had
turned, which would hand a flat photo some parallax."""
MOIRE_MAX = 2.5
SCREEN_COLOUR_MAX = 0.075
BLUE_WEIGHT = 0.25
SPECTRUM_FRAMES = 4
_SPECTRUM_SIZE = 128
_CHEEK_POLYGON = (1, 2, 3, 4, 48, 31, 35, 54, 12, 13, 14, 15, 45, 42, 39, 36)


@dataclass(frozen=True, slots=True)
class Signal:
    """One passive cue: its measured value against its threshold."""

    name: str
    value: float
    threshold: float
    passed: bool
    higher_is_live: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "threshold": self.threshold,
            "passed": self.passed,
            "higher_is_live": self.higher_is_live,
        }


@dataclass(frozen=True, slots=True)
class PassiveReport:
    """All passive signals; ``reasons`` name the ones that failed."""

    passed: bool
    reasons: tuple[str, ...]
    signals: tuple[Signal, ...]
    frames: int
    frames_with_face: int

    def signal(self, name: str) -> Signal:
        return next(s for s in self.signals if s.name == name)

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "reasons": list(self.reasons),
            "signals": {s.name: s.as_dict() for s in self.signals},
            "frames": self.frames,
            "frames_with_face": self.frames_with_face,
        }


def _signal(name: str, value: float, threshold: float, *, higher_is_live: bool) -> Signal:
    passed = value >= threshold if higher_is_live else value <= threshold
    return Signal(name, float(value), threshold, passed, higher_is_live)


def _points(observations: Sequence[Observation]) -> list[tuple[NDArray[np.float64], float]]:
    return [
        (o.landmarks, o.metrics.interocular)
        for o in observations
        if o.landmarks is not None and o.metrics is not None and not o.tracked
    ]


def motion(observations: Sequence[Observation]) -> float:
    points = _points(observations)
    if len(points) < 2:
        return 0.0
    reference, unit = points[0]
    return max(
        float(np.sqrt(np.mean(np.sum((marks - reference) ** 2, axis=1)))) / unit
        for marks, _ in points[1:]
    )


def parallax(observations: Sequence[Observation]) -> float:
    points = [(marks[_SURFACE_POINTS], unit) for marks, unit in _points(observations)]
    if len(points) < 3:
        return 0.0
    reference, unit = points[0]
    residuals = []
    for marks, _ in points[1:]:
        found, _mask = cv2.findHomography(reference, marks, 0)
        # OpenCV answers None for a degenerate fit; asarray turns that into a 0-d NaN.
        matrix = np.asarray(found, dtype=np.float64)
        if matrix.shape != (3, 3) or not np.isfinite(matrix).all():
            continue
        mapped = cv2.perspectiveTransform(reference.reshape(-1, 1, 2), matrix).reshape(-1, 2)
        residuals.append(float(np.sqrt(np.mean(np.sum((mapped - marks) ** 2, axis=1)))) / unit)
    if len(residuals) < 2:
        return 0.0
    return sorted(residuals)[-2]


def _face_crop(pixels: RGBImage, observation: Observation) -> RGBImage | None:
    if observation.landmarks is None:
        return None
    marks = observation.landmarks
    left, top = np.floor(marks.min(axis=0)).astype(int)
    right, bottom = np.ceil(marks.max(axis=0)).astype(int)
    height, width = pixels.shape[:2]
    left, top = max(left, 0), max(top, 0)
    right, bottom = min(right, width), min(bottom, height)
    if right - left < 32 or bottom - top < 32:
        return None
    return pixels[top:bottom, left:right]


def moire_peak(crop: RGBImage) -> float:
    """Height of the strongest isolated spectral peak above its ring's median (log units).

    Natural images fall off smoothly with frequency; subtracting each ring's median
    leaves what stands out at its own frequency: a periodic pattern.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float64)
    size = _SPECTRUM_SIZE
    shrink = min(gray.shape) > size
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    gray = np.asarray(cv2.resize(gray, (size, size), interpolation=interpolation), np.float64)
    gray -= cv2.GaussianBlur(gray, (0, 0), 3.0)
    window = np.outer(np.hanning(size), np.hanning(size))
    spectrum = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(gray * window))))
    freqs = np.fft.fftshift(np.fft.fftfreq(size))
    fy, fx = np.meshgrid(freqs, freqs, indexing="ij")
    ring = np.round(np.hypot(fx, fy) * size).astype(int)
    usable = (np.abs(fx) > 0.02) & (np.abs(fy) > 0.02)
    for block in (0.125, 0.25, 0.375, 0.5):
        usable &= (np.abs(np.abs(fx) - block) > 0.01) & (np.abs(np.abs(fy) - block) > 0.01)
    best = 0.0
    for radius in range(int(0.12 * size), int(0.48 * size)):
        values = spectrum[(ring == radius) & usable]
        if len(values) >= 8:
            best = max(best, float(values.max() - np.median(values)))
    return best


def screen_colour(pixels: RGBImage, observation: Observation) -> float:
    """The frame's black level plus a quarter of the cheeks' blue shift.

    A screen cannot emit black and a camera filming it lifts the darkest pixels; its
    white point is bluer than the light on skin. On the synthetic set lit skin scores
    below 0.06 and replays above 0.085.
    """
    if observation.landmarks is None:
        return 0.0
    mask = np.zeros(pixels.shape[:2], dtype=np.uint8)
    polygon = observation.landmarks[list(_CHEEK_POLYGON)].round().astype(np.int32)
    cv2.fillPoly(mask, [polygon], 1)
    skin = pixels[mask.astype(bool)].astype(np.float64)
    if len(skin) < 50:
        return 0.0
    blue_shift = float(np.mean((skin[:, 2] - skin[:, 0]) / (skin.sum(axis=1) + 1.0)))
    gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    black_level = float(np.percentile(gray, 1)) / 255.0
    return black_level + BLUE_WEIGHT * blue_shift


def evaluate(track: Track, frames: Sequence[Frame]) -> PassiveReport:
    """The passive report for an already observed recording."""
    observations = track.observations
    faces = [o for o in observations if o.landmarks is not None and not o.tracked]
    picks = np.linspace(0, len(faces) - 1, min(SPECTRUM_FRAMES, len(faces))).round().astype(int)
    sampled = [faces[i] for i in sorted(set(picks.tolist()))] if faces else []
    moire_values = [
        moire_peak(crop)
        for o in sampled
        if (crop := _face_crop(frames[o.index].pixels, o)) is not None
    ]
    colour_values = [screen_colour(frames[o.index].pixels, o) for o in sampled]
    signals = (
        _signal("motion", motion(observations), MOTION_MIN, higher_is_live=True),
        _signal("parallax", parallax(observations), PARALLAX_MIN, higher_is_live=True),
        _signal(
            "moire",
            float(np.median(moire_values)) if moire_values else 0.0,
            MOIRE_MAX,
            higher_is_live=False,
        ),
        _signal(
            "screen_colour",
            float(np.median(colour_values)) if colour_values else 0.0,
            SCREEN_COLOUR_MAX,
            higher_is_live=False,
        ),
    )
    reasons = [f"{s.name}_failed" for s in signals if not s.passed]
    if not faces:
        reasons.insert(0, "face_not_found")
    return PassiveReport(
        passed=not reasons,
        reasons=tuple(reasons),
        signals=signals,
        frames=len(observations),
        frames_with_face=len(faces),
    )


def check_passive_liveness(
    frames: Sequence[Frame] | bytes,
    *,
    detect_max_side: int = tracking.DEFAULT_VIDEO_DETECT_MAX_SIDE,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> PassiveReport:
    """Passive presentation-attack check of a recording (frames or encoded video bytes).

    CPU only; no I/O besides decoding the bytes given.
    """
    frame_list = (
        frames_from_video(frames, max_frames=max_frames)
        if isinstance(frames, bytes)
        else list(frames)
    )
    track = tracking.observe(frame_list, detect_max_side=detect_max_side)
    return evaluate(track, frame_list)
