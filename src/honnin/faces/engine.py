"""dlib face pipeline: HOG detection, 68-point landmarks, 128-d ResNet embeddings.

Models: ``shape_predictor_68_face_landmarks.dat`` (iBUG 300-W markup, Sagonas et al.
2013; Kazemi & Sullivan 2014 regression trees) and ``dlib_face_recognition_resnet_model_v1``
(King 2017, 99.38% on LFW at distance 0.6), both shipped inside the
``face_recognition_models`` wheel. Nothing is downloaded: the files are located through
the import system without importing that package (its ``__init__`` pulls in
``pkg_resources``). Models load lazily, once per process, so worker processes of a pool
each pay the load (~1 s) on their first call only.

Detection runs on a copy shrunk to ``detect_max_side`` (HOG cost grows with the pixel
count and selfie faces are large); landmarks and the embedding use the full image,
because the aligned 150x150 chip the network sees should come from the sharpest pixels.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import dlib
import numpy as np
from numpy.typing import NDArray

from honnin.faces.errors import ModelNotFoundError, MultipleFacesError, NoFaceError
from honnin.faces.imaging import RGBImage, downscale

DEFAULT_DETECT_MAX_SIDE = 640
SMALL_IMAGE_SIDE = 480
"""Below this longer side (chip portraits, thumbnails) a missed face is retried upsampled."""
SECONDARY_FACE_RATIO = 0.5
"""Faces narrower than this fraction of the largest are background faces, not a second
person presenting; they are counted in ``ignored`` but do not make the image ambiguous."""

Landmarks = NDArray[np.float64]
"""68 x 2 array of (x, y) pixel coordinates in iBUG 300-W order."""
Embedding = NDArray[np.float64]
"""128 floats; Euclidean distance between two is the face distance."""

_MODEL_FILES = {
    "landmarks": "shape_predictor_68_face_landmarks.dat",
    "embedding": "dlib_face_recognition_resnet_model_v1.dat",
}


@dataclass(frozen=True, slots=True)
class Box:
    """A face rectangle in pixel coordinates of the full image."""

    left: int
    top: int
    right: int
    bottom: int
    score: float

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


@dataclass(frozen=True, slots=True)
class Detection:
    """The faces found in one image: the significant ones, largest first."""

    boxes: tuple[Box, ...]
    ignored: int
    upsampled: bool


@dataclass(frozen=True, slots=True)
class Face:
    """One analysed face: where it is, its landmarks and (when asked) its embedding."""

    box: Box
    landmarks: Landmarks
    embedding: Embedding | None
    faces_found: int


def models_dir() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models`` distribution."""
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "models"
        if all((candidate / name).is_file() for name in _MODEL_FILES.values()):
            return candidate
    msg = "install face_recognition_models: its dlib model files were not found"
    raise ModelNotFoundError(msg)


@lru_cache(maxsize=1)
def _detector() -> Any:
    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=1)
def _shape_predictor() -> Any:
    return dlib.shape_predictor(str(models_dir() / _MODEL_FILES["landmarks"]))


@lru_cache(maxsize=1)
def _recogniser() -> Any:
    return dlib.face_recognition_model_v1(str(models_dir() / _MODEL_FILES["embedding"]))


def warm_up() -> None:
    """Load every model now (pool initialiser), instead of on the first request."""
    _detector()
    _shape_predictor()
    _recogniser()


def detect(
    image: RGBImage,
    *,
    detect_max_side: int = DEFAULT_DETECT_MAX_SIDE,
    upsample: int | None = None,
) -> Detection:
    """Find faces. ``upsample=None`` retries small images once at double size."""
    small, scale = downscale(image, detect_max_side)
    passes = [upsample] if upsample is not None else [0]
    if upsample is None and max(small.shape[:2]) < SMALL_IMAGE_SIDE:
        passes.append(1)
    rects: list[Any] = []
    scores: list[float] = []
    used = 0
    for used in passes:
        rects, scores, _ = _detector().run(small, used, 0.0)
        if len(rects) > 0:
            break
    boxes = sorted(
        (
            Box(
                left=round(rect.left() / scale),
                top=round(rect.top() / scale),
                right=round(rect.right() / scale),
                bottom=round(rect.bottom() / scale),
                score=float(score),
            )
            for rect, score in zip(rects, scores, strict=True)
        ),
        key=lambda box: box.width,
        reverse=True,
    )
    if not boxes:
        return Detection(boxes=(), ignored=0, upsampled=used > 0)
    largest = boxes[0].width
    significant = tuple(b for b in boxes if b.width >= SECONDARY_FACE_RATIO * largest)
    return Detection(boxes=significant, ignored=len(boxes) - len(significant), upsampled=used > 0)


def _rectangle(box: Box) -> Any:
    return dlib.rectangle(box.left, box.top, box.right, box.bottom)


def landmarks(image: RGBImage, box: Box) -> Landmarks:
    """The 68 iBUG landmarks of the face in ``box``."""
    shape = _shape_predictor()(image, _rectangle(box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def embedding(image: RGBImage, marks: Landmarks) -> Embedding:
    """The 128-d descriptor of the face whose landmarks are ``marks``."""
    points = dlib.points([dlib.point(round(x), round(y)) for x, y in marks])
    left, top = np.floor(marks.min(axis=0)).astype(int)
    right, bottom = np.ceil(marks.max(axis=0)).astype(int)
    shape = dlib.full_object_detection(dlib.rectangle(left, top, right, bottom), points)
    descriptor = _recogniser().compute_face_descriptor(image, shape)
    return np.array(descriptor, dtype=np.float64)


def analyse(
    image: RGBImage,
    *,
    with_embedding: bool = True,
    detect_max_side: int = DEFAULT_DETECT_MAX_SIDE,
) -> Face:
    """The single face of ``image``; :class:`NoFaceError` / :class:`MultipleFacesError`."""
    found = detect(image, detect_max_side=detect_max_side)
    if not found.boxes:
        raise NoFaceError("no face found in the image")
    if len(found.boxes) > 1:
        msg = f"{len(found.boxes)} faces found in the image, expected one"
        raise MultipleFacesError(msg, faces=len(found.boxes))
    box = found.boxes[0]
    marks = landmarks(image, box)
    vector = embedding(image, marks) if with_embedding else None
    return Face(box=box, landmarks=marks, embedding=vector, faces_found=1)
