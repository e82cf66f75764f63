"""Pure rules of a verification session: methods, statuses, the decision and its result.

* Methods after the Ordinance of the Act on Prevention of Transfer of Criminal Proceeds,
  Art. 6(1)(i): ``jp_ho`` (ホ: card-surface photos, one tilted, + selfie), ``jp_he``
  (ヘ: IC chip data + selfie), and ``icao_chip`` (ICAO 9303 ePassport chip + selfie).
* The decision turns the analysis (:mod:`honnin.verifications.analysis`) into
  ``approved`` / ``rejected`` / ``review`` with stable reason codes.
* The result is an OIDC4IDA 1.0 ``verified_claims`` element: ``trust_framework``
  ``jp_aml``, one evidence of type ``document`` with ``check_details`` (check methods from
  the OIDC4IDA predefined values: ``vcrypt`` cryptographic validation of the chip,
  ``vri`` visual inspection of a remotely captured document, ``bvr`` biometric
  verification of the remote person), the method and the time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Final, Literal

Method = Literal["jp_ho", "jp_he", "icao_chip"]
METHODS: Final[tuple[Method, ...]] = ("jp_ho", "jp_he", "icao_chip")
CHIP_METHODS: Final = frozenset({"jp_he", "icao_chip"})

AWAITING: Final = "awaiting_capture"
PROCESSING: Final = "processing"
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
REVIEW: Final = "review"
EXPIRED: Final = "expired"
FINAL: Final = frozenset({APPROVED, REJECTED, EXPIRED})

WEBHOOK_EVENT: Final = "verification.decided"
TRUST_FRAMEWORK: Final = "jp_aml"
ORGANIZATION: Final = "honnin"

# Stable reason codes. A rejection reason ends the session; a review reason sends it to a
# person (unless a rejection reason is also present).
REJECT_REASONS: Final = frozenset(
    {
        "chip_data_malformed",
        "chip_tampered",
        "chip_untrusted",
        "chip_signer_invalid",
        "chip_face_missing",
        "document_expired",
        "document_face_not_found",
        "card_unreadable",
        "card_tilt_missing",
        "card_tilt_same_image",
        "face_mismatch",
        "no_face",
        "multiple_faces",
        "liveness_failed",
        "applicant_mismatch",
        "analysis_failed",
    }
)
REVIEW_REASONS: Final = frozenset(
    {
        "face_match_borderline",
        "applicant_partial",
        "chip_trust_unknown",
        "card_fields_uncertain",
    }
)
# Liveness report reasons that mean "no usable face" rather than "not live".
_NO_FACE: Final = frozenset({"face_not_found", "too_few_face_frames"})
OCR_CONFIDENCE_FLOOR: Final = 0.8


def uploads_needed(method: str) -> tuple[str, ...]:
    """What a session of ``method`` must receive before it can be submitted."""
    if method == "jp_ho":
        return ("card", "selfie")
    return ("chip", "selfie")


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    """What the document says about its holder (MRZ, OCR); personal data, sealed."""

    document_type: str  # OIDC4IDA document type: passport, idcard, ...
    document_number: str | None = None
    issuing_state: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    name: str | None = None  # the whole name when the parts cannot be told apart (OCR)
    birthdate: str | None = None  # ISO 8601
    expiry_date: str | None = None  # ISO 8601
    address: str | None = None
    ocr_confidence: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class Analysis:
    """The outcome of the image and chip work of one session (no decision yet).

    ``problems`` are reason codes found while analysing (see :data:`REJECT_REASONS` /
    :data:`REVIEW_REASONS`); the scores are kept for the evidence and the reviewer.
    """

    facts: DocumentFacts | None
    problems: tuple[str, ...]
    chip: Mapping[str, Any] | None = None  # checks, reasons, algorithms (no personal data)
    face: Mapping[str, Any] | None = None  # distance, similarity, threshold, match
    liveness: Mapping[str, Any] | None = None  # LivenessReport.as_dict()
    card: Mapping[str, Any] | None = None  # tilt check scores
    evidence_digest: str | None = None  # SHA-256 of the document evidence (SOD or card)
    seconds: float = 0.0
    worker: str | None = None  # the Celery worker (host:pid) that ran it, if one did

    def with_worker(self, worker: str) -> Analysis:
        return replace(self, worker=worker)

    def summary(self) -> dict[str, Any]:
        """Scores and check outcomes for the reviewer and the API: no personal data."""
        return {
            "problems": list(self.problems),
            "chip": dict(self.chip) if self.chip is not None else None,
            "face": dict(self.face) if self.face is not None else None,
            "liveness": dict(self.liveness) if self.liveness is not None else None,
            "card": dict(self.card) if self.card is not None else None,
            "seconds": round(self.seconds, 3),
            "worker": self.worker,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    status: str
    reasons: tuple[str, ...] = field(default=())


def chip_problems(checks: Mapping[str, str], reasons: Mapping[str, str]) -> list[str]:
    """Reason codes from a passive-authentication report (ICAO 9303-11 §5.1)."""
    problems = []
    if "fail" in (checks.get("sod_signature"), checks.get("data_group_hashes")):
        problems.append("chip_tampered")
    chain = checks.get("dsc_chain")
    if chain == "fail":
        problems.append("chip_untrusted")
    elif chain != "pass":
        problems.append("chip_trust_unknown")
    if checks.get("dsc_validity") == "fail":
        problems.append("chip_signer_invalid")
    if reasons.get("data_group_hashes") == "missing_required_data_group":
        problems.append("chip_tampered")
    return list(dict.fromkeys(problems))


def liveness_problems(passed: bool, reasons: Sequence[str]) -> list[str]:
    """Reason codes from a liveness report; its own codes follow ``liveness_failed``."""
    if passed:
        return []
    if any(r in _NO_FACE for r in reasons):
        return ["no_face"]
    if "multiple_faces" in reasons:
        return ["multiple_faces"]
    return ["liveness_failed", *reasons]


def face_problems(distance: float, threshold: float, *, margin: float) -> list[str]:
    """Mismatch beyond the threshold's margin, review within it (either side)."""
    if distance > threshold + margin:
        return ["face_mismatch"]
    if distance > threshold - margin:
        return ["face_match_borderline"]
    return []


def expiry_problems(expiry: str | None, today: date) -> list[str]:
    if expiry is None:
        return []
    return ["document_expired"] if date.fromisoformat(expiry) < today else []


def decide(analysis: Analysis, *, match_overall: str | None) -> Decision:
    """``approved`` without reasons, ``review`` when every reason is a review reason,
    else ``rejected``: a reason this table does not know (an analysis error code) fails
    closed. The applicant comparison (``match_overall`` from
    :func:`honnin.matching.claims.match_applicant`) adds its own reason."""
    reasons = list(analysis.problems)
    if match_overall == "mismatch":
        reasons.append("applicant_mismatch")
    elif match_overall == "partial":
        reasons.append("applicant_partial")
    reasons = list(dict.fromkeys(reasons))
    if not reasons:
        return Decision(APPROVED, ())
    if all(r in REVIEW_REASONS for r in reasons):
        return Decision(REVIEW, tuple(reasons))
    return Decision(REJECTED, tuple(reasons))


def claims_of(facts: DocumentFacts) -> dict[str, Any]:
    """OIDC claims of the document holder (OpenID Connect Core 1.0 §5.1)."""
    claims: dict[str, Any] = {}
    for name in ("family_name", "given_name", "name", "birthdate"):
        value = getattr(facts, name)
        if value:
            claims[name] = value
    if facts.address:
        claims["address"] = {"formatted": facts.address}
    return claims


def _document_type(method: str, facts: DocumentFacts) -> str:
    if method == "icao_chip":
        return "passport"
    return facts.document_type


def verified_claims(
    *,
    method: str,
    facts: DocumentFacts,
    verification_id: str,
    decided_at: datetime,
    captured_at: datetime,
) -> dict[str, Any]:
    """The OIDC4IDA ``verified_claims`` element of an approved session."""
    when = _rfc3339(decided_at)
    checks: list[dict[str, Any]] = []
    if method in CHIP_METHODS:
        checks.append(
            {"check_method": "vcrypt", "organization": ORGANIZATION, "time": _rfc3339(captured_at)}
        )
    else:
        checks.append(
            {"check_method": "vri", "organization": ORGANIZATION, "time": _rfc3339(captured_at)}
        )
    checks.append({"check_method": "bvr", "organization": ORGANIZATION, "time": when})
    details: dict[str, Any] = {"type": _document_type(method, facts)}
    if facts.document_number:
        details["document_number"] = facts.document_number
    if facts.expiry_date:
        details["date_of_expiry"] = facts.expiry_date
    if facts.issuing_state:
        details["issuer"] = {"country_code": facts.issuing_state}
    return {
        "verification": {
            "trust_framework": TRUST_FRAMEWORK,
            "time": when,
            "verification_process": verification_id,
            "evidence": [
                {
                    "type": "document",
                    "method": method,
                    "time": _rfc3339(captured_at),
                    "check_details": checks,
                    "document_details": details,
                }
            ],
        },
        "claims": claims_of(facts),
    }


def _rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def webhook_payload(
    *, verification_id: str, status: str, reasons: Sequence[str], decided_at: datetime
) -> dict[str, Any]:
    """What the webhook says; the data itself is read by API."""
    return {
        "type": WEBHOOK_EVENT,
        "timestamp": decided_at.isoformat(),
        "data": {"verification_id": verification_id, "status": status, "reasons": list(reasons)},
    }


def ledger_identity(facts: DocumentFacts) -> dict[str, str]:
    """The identity attributes pseudonymised for the shared ledger: Latin or kanji name as
    on the document, upper-cased, and the birth date."""
    if facts.family_name is None and facts.name:
        return {"name": facts.name.upper(), "birthdate": facts.birthdate or ""}
    return {
        "family_name": (facts.family_name or "").upper(),
        "given_name": (facts.given_name or "").upper(),
        "birthdate": facts.birthdate or "",
    }


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def token_digest(token: str) -> str:
    return digest(token.encode())
