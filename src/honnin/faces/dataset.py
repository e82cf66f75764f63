"""Labelled face folders for calibration and benchmarks (reads files: an edge module).

Layout: ``DIR/<identity>/<file>``, as in the face_recognition example set. A file in a
folder whose name is not its identity (``partial/obama_partial_1.jpg``) belongs to the
identity folder whose name prefixes the file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from honnin.faces import calibration, engine
from honnin.faces.errors import FaceError
from honnin.faces.imaging import decode_image, encode_image
from honnin.faces.match import DEFAULT_THRESHOLD, DLIB_PUBLISHED_THRESHOLD
from honnin.faces.synthetic import chip_portrait

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".jp2")
SWEEP = (0.45, 0.5, 0.55, 0.65, 0.7)
CHIP_RATE = 12
"""JPEG 2000 compression ratio for derived chip portraits (~15 KB at 240x320)."""


@dataclass(frozen=True, slots=True)
class LabelledImage:
    identity: str
    path: Path
    data: bytes


def load(directory: Path) -> list[LabelledImage]:
    """Every image under ``directory`` with its identity."""
    folders = sorted(p.name for p in directory.iterdir() if p.is_dir())
    images = []
    for path in sorted(directory.glob("*/*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        owners = [f for f in folders if path.stem.startswith(f"{f}_")]
        identity = max(owners, key=len) if owners else path.parent.name
        images.append(LabelledImage(identity=identity, path=path, data=path.read_bytes()))
    return images


def embed_all(
    images: list[LabelledImage], *, with_chips: bool
) -> tuple[list[calibration.Sample], list[calibration.Sample], dict[str, str]]:
    """Embeddings of the usable images (and of chip portraits made from them).

    Images rejected by the face checks (several faces, none) are returned by name with
    their error code: they are not pairs, but the report should show them.
    """
    photos: list[calibration.Sample] = []
    chips: list[calibration.Sample] = []
    rejected: dict[str, str] = {}
    for image in images:
        name = f"{image.path.parent.name}/{image.path.name}"
        try:
            pixels = decode_image(image.data)
            face = engine.analyse(pixels)
        except FaceError as exc:
            rejected[name] = exc.code
            continue
        assert face.embedding is not None
        photos.append(calibration.Sample(image.identity, name, face.embedding))
        if with_chips:
            chip = encode_image(chip_portrait(pixels), fmt="JPEG2000", quality=CHIP_RATE)
            chip_face = engine.analyse(decode_image(chip))
            assert chip_face.embedding is not None
            chips.append(calibration.Sample(image.identity, name, chip_face.embedding))
    return photos, chips, rejected


def report(
    directory: Path, *, with_chips: bool = True, cost_false_match: float = 10.0
) -> dict[str, object]:
    """Calibrate on ``directory`` and give FMR / FNMR at the calibrated, default and
    dlib thresholds, for photo-photo pairs and (with chips) photo-chip pairs."""
    photos, chips, rejected = embed_all(load(directory), with_chips=with_chips)
    genuine, impostor = calibration.pair_distances(photos)
    sets: dict[str, tuple[list[float], list[float]]] = {"photo_photo": (genuine, impostor)}
    if with_chips:
        sets["photo_chip"] = calibration.pair_distances(photos, chips)
    all_genuine = [d for g, _ in sets.values() for d in g]
    all_impostor = [d for _, i in sets.values() for d in i]
    calibrated = calibration.calibrate(all_genuine, all_impostor, cost_false_match=cost_false_match)
    thresholds = sorted({*SWEEP, calibrated, DEFAULT_THRESHOLD, DLIB_PUBLISHED_THRESHOLD})
    return {
        "images": len(photos),
        "rejected": rejected,
        "calibrated_threshold": calibrated,
        "default_threshold": DEFAULT_THRESHOLD,
        "cost_false_match": cost_false_match,
        "sets": {
            name: {
                "genuine_distance": calibration.summary(g),
                "impostor_distance": calibration.summary(i),
                "rates": [calibration.rates(g, i, t).as_dict() for t in thresholds],
            }
            for name, (g, i) in sets.items()
        },
    }
