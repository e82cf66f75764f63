"""JSON forms of an analysis job and its result, for a message broker.

Celery messages are JSON, not pickle: a worker must not execute whatever a compromised
broker hands it. Bytes travel as base64, times as ISO 8601 (RFC 3339).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from honnin.faces.challenge import Challenge
from honnin.verifications.analysis import (
    AnalysisJob,
    CardUpload,
    ChipUpload,
    Limits,
    SelfieUpload,
)
from honnin.verifications.core import Analysis, DocumentFacts


def _b(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _u(text: str) -> bytes:
    return base64.b64decode(text)


def job_to_wire(job: AnalysisJob) -> dict[str, Any]:
    return {
        "method": job.method,
        "selfie": {
            "frames": [_b(f) for f in job.selfie.frames],
            "times": list(job.selfie.times),
            "video": _b(job.selfie.video) if job.selfie.video is not None else None,
        },
        "challenge": job.challenge.as_dict(),
        "nonce": job.nonce,
        "received_at": job.received_at.isoformat(),
        "at": job.at.isoformat(),
        "chip": None
        if job.chip is None
        else {
            "sod": _b(job.chip.sod),
            "data_groups": {str(n): _b(d) for n, d in job.chip.data_groups.items()},
        },
        "card": None
        if job.card is None
        else {"front": _b(job.card.front), "tilted": _b(job.card.tilted)},
        "trust_anchors": [_b(a) for a in job.trust_anchors],
        "limits": {
            "max_frames": job.limits.max_frames,
            "max_frame_pixels": job.limits.max_frame_pixels,
            "max_card_pixels": job.limits.max_card_pixels,
            "detect_max_side": job.limits.detect_max_side,
            "match_threshold": job.limits.match_threshold,
            "review_margin": job.limits.review_margin,
        },
    }


def job_from_wire(data: dict[str, Any]) -> AnalysisJob:
    selfie = data["selfie"]
    chip = data["chip"]
    card = data["card"]
    return AnalysisJob(
        method=str(data["method"]),
        selfie=SelfieUpload(
            frames=tuple(_u(f) for f in selfie["frames"]),
            times=tuple(float(t) for t in selfie["times"]),
            video=_u(selfie["video"]) if selfie["video"] else None,
        ),
        challenge=Challenge.from_dict(data["challenge"]),
        nonce=str(data["nonce"]),
        received_at=datetime.fromisoformat(data["received_at"]),
        at=datetime.fromisoformat(data["at"]),
        chip=None
        if chip is None
        else ChipUpload(
            sod=_u(chip["sod"]),
            data_groups={int(n): _u(d) for n, d in chip["data_groups"].items()},
        ),
        card=None
        if card is None
        else CardUpload(front=_u(card["front"]), tilted=_u(card["tilted"])),
        trust_anchors=tuple(_u(a) for a in data["trust_anchors"]),
        limits=Limits(**data["limits"]),
    )


def analysis_to_wire(result: Analysis) -> dict[str, Any]:
    return {
        "facts": result.facts.as_dict() if result.facts else None,
        "problems": list(result.problems),
        "chip": result.chip,
        "face": result.face,
        "liveness": result.liveness,
        "card": result.card,
        "evidence_digest": result.evidence_digest,
        "seconds": result.seconds,
        "worker": result.worker,
    }


def analysis_from_wire(data: dict[str, Any]) -> Analysis:
    return Analysis(
        facts=DocumentFacts(**data["facts"]) if data["facts"] else None,
        problems=tuple(data["problems"]),
        chip=data["chip"],
        face=data["face"],
        liveness=data["liveness"],
        card=data["card"],
        evidence_digest=data["evidence_digest"],
        seconds=float(data["seconds"]),
        worker=data.get("worker"),
    )
