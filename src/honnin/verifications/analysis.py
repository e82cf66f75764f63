"""The CPU-heavy part of a verification: chip, card, face match and liveness.

Pure functions of the uploads (no database, no network; the only I/O is the temporary
file OpenCV needs to decode a video), so the service runs them in a process pool
(``concurrent.futures.ProcessPoolExecutor``): arguments and results are frozen
dataclasses that pickle. Per-process caches hold the trust store and the OCR engine.

* Chip methods: ICAO 9303-11 §5.1 passive authentication with
  :func:`honnin.documents.chip.verify`, the holder's facts from DG1 (MRZ), the portrait
  from DG2 (ISO/IEC 19794-5, JPEG or JPEG 2000).
* ``jp_ho``: card-surface OCR (:class:`honnin.documents.service.CardReader`), the
  printed portrait, and a second photo of the card held at an angle: the same portrait
  must be found in it, foreshortened (a flat re-sent copy of the first photo is not a
  tilted card).
* Both: active + passive liveness on the selfie frames against the challenge
  (:func:`honnin.faces.check_liveness`), then the most frontal selfie frame is matched
  with the document portrait (:func:`honnin.faces.match.compare_pixels`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from honnin.documents import chip as chip_module
from honnin.documents.errors import DocumentError
from honnin.documents.service import CardReader
from honnin.documents.trust import TrustStore
from honnin.errors import HonninError
from honnin.faces import engine
from honnin.faces.challenge import Challenge
from honnin.faces.errors import FaceError, MultipleFacesError, NoFaceError
from honnin.faces.imaging import RGBImage, decode_image
from honnin.faces.liveness import check_liveness
from honnin.faces.match import decide as decide_match
from honnin.faces.video import Frame, frames_from_images, frames_from_video
from honnin.verifications import core
from honnin.verifications.core import Analysis, DocumentFacts

# Foreshortening of the portrait in the tilted photo (relative change of the ratio of
# eye distance to eye-mouth height) below which the "tilted" photo is the same flat view.
MIN_TILT_CHANGE = 0.04
# The tilted photo's portrait must be this close to the front photo's (same printed photo).
SAME_CARD_DISTANCE = 0.5
# The card's portrait is a small part of a card photo: detect on a larger copy than for
# selfies, where the face fills the frame.
CARD_DETECT_MAX_SIDE = 1280
_CARD_TYPES = {
    "mynumber": "idcard",
    "driver_license": "driving_permit",
    "residence_card": "residence_permit",
    "passport": "passport",
}


@dataclass(frozen=True, slots=True)
class ChipUpload:
    sod: bytes
    data_groups: Mapping[int, bytes]


@dataclass(frozen=True, slots=True)
class CardUpload:
    front: bytes
    tilted: bytes


@dataclass(frozen=True, slots=True)
class SelfieUpload:
    """JPEG/PNG frames with their times (seconds), or one video."""

    frames: tuple[bytes, ...] = ()
    times: tuple[float, ...] = ()
    video: bytes | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    max_frames: int = 60
    max_frame_pixels: int = 1920 * 1080
    max_card_pixels: int = 40_000_000  # a phone photo of a card is 12-50 MP
    detect_max_side: int = engine.DEFAULT_DETECT_MAX_SIDE
    match_threshold: float = 0.57
    review_margin: float = 0.04


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    method: str
    selfie: SelfieUpload
    challenge: Challenge
    nonce: str
    received_at: datetime  # when the selfie arrived: judged against the challenge deadline
    at: datetime  # the instant the document is judged at
    chip: ChipUpload | None = None
    card: CardUpload | None = None
    trust_anchors: tuple[bytes, ...] = ()
    limits: Limits = field(default_factory=Limits)


_TRUST_CACHE: dict[str, TrustStore] = {}
_READER: list[CardReader] = []


def trust_store(anchors: tuple[bytes, ...]) -> TrustStore | None:
    """The trust store of ``anchors`` (CSCA certificates), built once per process."""
    if not anchors:
        return None
    key = hashlib.sha256(b"".join(hashlib.sha256(a).digest() for a in anchors)).hexdigest()
    store = _TRUST_CACHE.get(key)
    if store is None:
        store = TrustStore.build(csca_certificates=list(anchors))
        _TRUST_CACHE.clear()
        _TRUST_CACHE[key] = store
    return store


def warm_up() -> None:
    """Process-pool initialiser: load the face models once per worker."""
    engine.warm_up()


def selfie_frames(selfie: SelfieUpload, limits: Limits) -> list[Frame]:
    """Decode the selfie upload; ``corrupt_image`` / ``corrupt_video`` / ``too_many_pixels``."""
    if selfie.video is not None:
        return frames_from_video(
            selfie.video, max_frames=limits.max_frames, max_pixels=limits.max_frame_pixels
        )
    return frames_from_images(
        list(selfie.frames), times=list(selfie.times), max_pixels=limits.max_frame_pixels
    )


def probe_selfie(selfie: SelfieUpload, limits: Limits) -> int:
    """Check an upload before keeping it: it decodes, and its middle frame shows exactly
    one face (``no_face`` / ``multiple_faces``). Returns the number of frames."""
    frames = selfie_frames(selfie, limits)
    _one_face(frames[len(frames) // 2].pixels, limits)
    return len(frames)


def probe_card(card: CardUpload, limits: Limits) -> None:
    """Both card photos decode and the front shows one portrait."""
    front = decode_image(card.front, max_pixels=limits.max_card_pixels)
    decode_image(card.tilted, max_pixels=limits.max_card_pixels)
    _one_face(front, replace(limits, detect_max_side=CARD_DETECT_MAX_SIDE))


def _one_face(pixels: RGBImage, limits: Limits) -> None:
    found = engine.detect(pixels, detect_max_side=limits.detect_max_side)
    if not found.boxes:
        raise NoFaceError("no face found in the image")
    if len(found.boxes) > 1:
        msg = f"{len(found.boxes)} faces found in the image, expected one"
        raise MultipleFacesError(msg, faces=len(found.boxes))


def analyse(job: AnalysisJob) -> Analysis:
    """Everything but the decision (see :func:`honnin.verifications.core.decide`)."""
    started = time.perf_counter()
    problems: list[str] = []
    portrait: RGBImage | None = None
    facts: DocumentFacts | None = None
    chip_summary: dict[str, Any] | None = None
    card_summary: dict[str, Any] | None = None
    evidence: str | None = None
    if job.method in core.CHIP_METHODS:
        assert job.chip is not None
        facts, portrait, chip_summary, evidence = _chip(job, problems)
    else:
        assert job.card is not None
        facts, portrait, card_summary, evidence = _card(job.card, job.limits, problems)
    if facts is not None:
        problems.extend(core.expiry_problems(facts.expiry_date, job.at.date()))
    liveness, face = _selfie(job, portrait, problems)
    return Analysis(
        facts=facts,
        problems=tuple(dict.fromkeys(problems)),
        chip=chip_summary,
        face=face,
        liveness=liveness,
        card=card_summary,
        evidence_digest=evidence,
        seconds=time.perf_counter() - started,
    )


def _chip(
    job: AnalysisJob, problems: list[str]
) -> tuple[DocumentFacts | None, RGBImage | None, dict[str, Any] | None, str | None]:
    assert job.chip is not None
    try:
        report = chip_module.verify(
            job.chip.sod,
            job.chip.data_groups,
            trust=trust_store(job.trust_anchors),
            at=job.at,
            required_data_groups=(1, 2),
        )
    except DocumentError:
        problems.append("chip_data_malformed")
        return None, None, None, None
    summary = {
        "valid": report.valid,
        "checks": dict(report.checks),
        "reasons": dict(report.reasons),
        "algorithms": dict(report.algorithms),
    }
    problems.extend(core.chip_problems(report.checks, report.reasons))
    facts = None
    if report.mrz is not None:
        mrz = report.mrz
        facts = DocumentFacts(
            document_type="passport" if mrz.document_code.startswith("P") else "idcard",
            document_number=mrz.document_number,
            issuing_state=mrz.issuing_state,
            family_name=mrz.surname or None,
            given_name=mrz.given_names or None,
            birthdate=mrz.birth_date.isoformat() if mrz.birth_date else None,
            expiry_date=mrz.expiry_date.isoformat() if mrz.expiry_date else None,
        )
    else:
        problems.append("chip_data_malformed")
    portrait = None
    if report.face_image is None:
        problems.append("chip_face_missing")
    else:
        try:
            portrait = decode_image(report.face_image)
        except FaceError:
            problems.append("chip_face_missing")
    return facts, portrait, summary, hashlib.sha256(job.chip.sod).hexdigest()


def _reader() -> CardReader:
    if not _READER:
        _READER.append(CardReader())
    return _READER[0]


def _card(
    card: CardUpload, limits: Limits, problems: list[str]
) -> tuple[DocumentFacts | None, RGBImage | None, dict[str, Any], str]:
    evidence = hashlib.sha256(card.front + card.tilted).hexdigest()
    summary: dict[str, Any] = {}
    front = decode_image(card.front, max_pixels=limits.max_card_pixels)
    tilted = decode_image(card.tilted, max_pixels=limits.max_card_pixels)
    try:
        reading = _reader().read(card.front)
    except HonninError:
        problems.append("card_unreadable")
        return None, None, summary, evidence
    fields = reading.fields
    name = fields.get("name")
    birth = fields.get("birth_date")
    if name is None or birth is None:
        problems.append("card_unreadable")
    full = (name.value if name else "").replace("\u3000", " ").strip()
    family, _, given = full.partition(" ")
    confidences = [f.confidence for f in fields.values()]
    confidence = min(confidences) if confidences else 0.0
    summary["ocr_confidence"] = round(confidence, 3)
    summary["document_type"] = reading.document_type
    if confidence < core.OCR_CONFIDENCE_FLOOR:
        problems.append("card_fields_uncertain")

    def value(key: str) -> str | None:
        item = fields.get(key)
        return item.value if item else None

    facts = DocumentFacts(
        document_type=_CARD_TYPES.get(reading.document_type, "idcard"),
        document_number=value("document_number"),
        issuing_state="JPN",
        family_name=family if given.strip() else None,
        given_name=given.strip() or None,
        name=None if given.strip() else full or None,
        birthdate=value("birth_date"),
        expiry_date=value("expiry_date"),
        address=value("address"),
        ocr_confidence=confidence,
    )
    portrait = None
    try:
        front_face = engine.analyse(front, detect_max_side=CARD_DETECT_MAX_SIDE)
        portrait = front
    except FaceError:
        problems.append("document_face_not_found")
        return facts, None, summary, evidence
    try:
        tilted_face = engine.analyse(tilted, detect_max_side=CARD_DETECT_MAX_SIDE)
    except FaceError:
        problems.append("card_tilt_missing")
        return facts, portrait, summary, evidence
    assert front_face.embedding is not None
    assert tilted_face.embedding is not None
    same = decide_match(front_face.embedding, tilted_face.embedding, threshold=SAME_CARD_DISTANCE)
    change = abs(_shape_ratio(tilted_face.landmarks) / _shape_ratio(front_face.landmarks) - 1.0)
    summary["tilt_same_portrait_distance"] = round(same.distance, 4)
    summary["tilt_foreshortening"] = round(change, 4)
    if not same.match:
        problems.append("card_tilt_missing")
    elif change < MIN_TILT_CHANGE:
        problems.append("card_tilt_same_image")
    return facts, portrait, summary, evidence


def _shape_ratio(marks: Any) -> float:
    """Eye distance over eye-to-mouth height: changes when the card turns in depth."""
    points = np.asarray(marks, dtype=np.float64)
    left, right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    mouth = points[48:68].mean(axis=0)
    eyes = float(np.linalg.norm(right - left))
    height = float(np.linalg.norm(mouth - (left + right) / 2.0))
    return eyes / max(height, 1e-6)


def _selfie(
    job: AnalysisJob, portrait: RGBImage | None, problems: list[str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    try:
        frames = selfie_frames(job.selfie, job.limits)
    except FaceError as exc:
        problems.append(exc.code)
        return None, None
    report = check_liveness(
        frames,
        job.challenge,
        nonce=job.nonce,
        now=job.received_at,
        detect_max_side=job.limits.detect_max_side,
        max_frames=job.limits.max_frames,
    )
    liveness = report.as_dict()
    problems.extend(core.liveness_problems(report.passed, report.reasons))
    if portrait is None or report.selfie_frame is None:
        return liveness, None
    limits = job.limits
    try:
        side = CARD_DETECT_MAX_SIDE if job.method == "jp_ho" else limits.detect_max_side
        document_face = engine.analyse(portrait, detect_max_side=side)
    except FaceError:
        problems.append("document_face_not_found")
        return liveness, None
    try:
        selfie_face = engine.analyse(
            frames[report.selfie_frame].pixels, detect_max_side=limits.detect_max_side
        )
    except NoFaceError:
        problems.append("no_face")
        return liveness, None
    except MultipleFacesError:
        problems.append("multiple_faces")
        return liveness, None
    assert document_face.embedding is not None
    assert selfie_face.embedding is not None
    result = decide_match(
        selfie_face.embedding, document_face.embedding, threshold=limits.match_threshold
    )
    problems.extend(
        core.face_problems(result.distance, result.threshold, margin=limits.review_margin)
    )
    face = {
        "distance": round(result.distance, 4),
        "similarity": round(result.similarity, 4),
        "threshold": result.threshold,
        "match": result.match,
        "selfie_frame": report.selfie_frame,
    }
    return liveness, face
