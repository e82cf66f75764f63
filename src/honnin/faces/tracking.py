"""Per-frame face measurements shared by the active and passive liveness checks.

One detection + landmark pass per frame (HOG on a copy no wider than
``detect_max_side``); embeddings only on a few frames (the first, the last and any the
caller names), because they cost ~75 ms each and identity is checked on samples.
When a turned face escapes the frontal detector for a frame, the previous box seeds
the landmark regression (the face moved little between frames); such frames are marked
``tracked`` and at most :data:`MAX_TRACKED_GAP` follow each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from honnin.faces import engine, geometry
from honnin.faces.engine import Box, Embedding, Landmarks
from honnin.faces.errors import CorruptVideoError
from honnin.faces.geometry import FaceMetrics
from honnin.faces.video import Frame

DEFAULT_VIDEO_DETECT_MAX_SIDE = 480
MAX_TRACKED_GAP = 3
MAX_FRAMES = 240


@dataclass(frozen=True, slots=True, eq=False)
class Observation:
    """What one frame showed."""

    index: int
    t: float
    faces: int
    box: Box | None
    landmarks: Landmarks | None
    metrics: FaceMetrics | None
    tracked: bool


@dataclass(frozen=True, slots=True, eq=False)
class Track:
    """Observations of a whole recording, plus embeddings of sampled frames."""

    observations: tuple[Observation, ...]
    size: tuple[int, int]
    embeddings: dict[int, Embedding]

    @property
    def with_face(self) -> list[Observation]:
        return [o for o in self.observations if o.landmarks is not None]


def validate(frames: Sequence[Frame]) -> None:
    """Reject empty, oversized, mixed-size or time-travelling frame lists."""
    if not frames:
        raise CorruptVideoError("no frames")
    if len(frames) > MAX_FRAMES:
        raise CorruptVideoError(f"at most {MAX_FRAMES} frames are analysed; sample first")
    first = frames[0].pixels.shape
    if len(first) != 3 or first[2] != 3:
        raise CorruptVideoError("frames must be RGB")
    previous = -np.inf
    for frame in frames:
        if frame.pixels.shape != first or frame.pixels.dtype != np.uint8:
            raise CorruptVideoError("all frames must share one size and be 8-bit")
        if not np.isfinite(frame.t) or frame.t < previous:
            raise CorruptVideoError("frame times must increase")
        previous = frame.t


def observe(
    frames: Sequence[Frame], *, detect_max_side: int = DEFAULT_VIDEO_DETECT_MAX_SIDE
) -> Track:
    """Detect, landmark and measure every frame (no embeddings yet)."""
    validate(frames)
    height, width = frames[0].pixels.shape[:2]
    size = (width, height)
    observations = []
    previous: Box | None = None
    gap = 0
    for index, frame in enumerate(frames):
        found = engine.detect(frame.pixels, detect_max_side=detect_max_side, upsample=0)
        box: Box | None = found.boxes[0] if found.boxes else None
        tracked = False
        if box is None and previous is not None and gap < MAX_TRACKED_GAP:
            box, tracked = previous, True
            gap += 1
        elif box is not None:
            gap = 0
        marks = engine.landmarks(frame.pixels, box) if box is not None else None
        observations.append(
            Observation(
                index=index,
                t=frame.t,
                faces=len(found.boxes),
                box=box,
                landmarks=marks,
                metrics=geometry.metrics(marks, size) if marks is not None else None,
                tracked=tracked,
            )
        )
        previous = box
    return Track(observations=tuple(observations), size=size, embeddings={})


def with_embeddings(track: Track, frames: Sequence[Frame], indices: Iterable[int]) -> Track:
    """``track`` plus the embeddings of the frames at ``indices`` (face frames only)."""
    embeddings = dict(track.embeddings)
    for index in sorted(set(indices)):
        observation = track.observations[index]
        if index in embeddings or observation.landmarks is None or observation.tracked:
            continue
        embeddings[index] = engine.embedding(frames[index].pixels, observation.landmarks)
    return Track(observations=track.observations, size=track.size, embeddings=embeddings)
