"""One-to-one face verification (ISO/IEC 19795-1 terms: a comparison yields a distance;
a decision applies the threshold).

The distance is the Euclidean distance of dlib ResNet embeddings. dlib publishes 0.6 as
its operating point (99.38% accuracy on LFW); this deployment's default,
:data:`DEFAULT_THRESHOLD`, is calibrated on the bundled face set (docs/faces.md) and is
stricter, because an identity-confirmation service weighs a false match (someone else
passes as the card holder) above a false non-match (the holder retries).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from honnin.faces import engine
from honnin.faces.engine import Embedding
from honnin.faces.imaging import DEFAULT_MAX_PIXELS, RGBImage, decode_image

DLIB_PUBLISHED_THRESHOLD = 0.6
DEFAULT_THRESHOLD = 0.57
"""Calibrated by ``honnin face calibrate`` on the bundled set (docs/faces.md)."""


@dataclass(frozen=True, slots=True)
class CompareResult:
    """The outcome of comparing two face images."""

    match: bool
    distance: float
    similarity: float
    threshold: float
    faces: tuple[int, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "match": self.match,
            "distance": round(self.distance, 4),
            "similarity": round(self.similarity, 4),
            "threshold": self.threshold,
            "faces": list(self.faces),
        }


def distance(a: Embedding, b: Embedding) -> float:
    """Euclidean distance of two embeddings."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def similarity(dist: float, threshold: float = DEFAULT_THRESHOLD) -> float:
    """Map a distance to 0..1: 1 at distance 0, 0.5 at the threshold, 0 at twice it.

    Linear and anchored at the threshold so ``similarity >= 0.5`` reads as "match"
    whatever threshold is configured.
    """
    return float(min(1.0, max(0.0, 1.0 - dist / (2.0 * threshold))))


def decide(a: Embedding, b: Embedding, *, threshold: float = DEFAULT_THRESHOLD) -> CompareResult:
    """Compare two embeddings of single-face images."""
    dist = distance(a, b)
    return CompareResult(
        match=dist <= threshold,
        distance=dist,
        similarity=similarity(dist, threshold),
        threshold=threshold,
        faces=(1, 1),
    )


def embed_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    detect_max_side: int = engine.DEFAULT_DETECT_MAX_SIDE,
) -> Embedding:
    """Decode ``data`` and return the embedding of its single face."""
    image = decode_image(data, max_pixels=max_pixels)
    face = engine.analyse(image, detect_max_side=detect_max_side)
    assert face.embedding is not None
    return face.embedding


def compare_pixels(
    image_a: RGBImage,
    image_b: RGBImage,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    detect_max_side: int = engine.DEFAULT_DETECT_MAX_SIDE,
) -> CompareResult:
    """:func:`compare` for decoded RGB arrays, e.g. a liveness frame and a chip portrait."""
    faces = [engine.analyse(image, detect_max_side=detect_max_side) for image in (image_a, image_b)]
    first, second = faces[0].embedding, faces[1].embedding
    assert first is not None
    assert second is not None
    return decide(first, second, threshold=threshold)


def compare(
    image_a: bytes,
    image_b: bytes,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    detect_max_side: int = engine.DEFAULT_DETECT_MAX_SIDE,
) -> CompareResult:
    """Compare the single face in ``image_a`` with the single face in ``image_b``.

    Both are encoded images (JPEG, PNG, JPEG 2000), e.g. a selfie and a chip portrait.
    Raises the :mod:`honnin.faces.errors` codes ``corrupt_image``, ``too_many_pixels``,
    ``no_face`` and ``multiple_faces``. CPU only and free of I/O, so it can run in a
    process pool.
    """
    options = {"max_pixels": max_pixels, "detect_max_side": detect_max_side}
    first = embed_image(image_a, **options)
    second = embed_image(image_b, **options)
    return decide(first, second, threshold=threshold)
