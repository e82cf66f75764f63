"""The verification-session use case.

create (challenge + capture link) -> uploads (chip / card photos, selfie frames; by the
enterprise's API or the capture page's token) -> submit -> analysis off the event loop
(process pool) -> decision -> result (OIDC4IDA ``verified_claims``) + trace event +
signed webhook (the inquiries outbox) + ledger record; ``review`` waits for an operator.

Uploads are sealed with the data key (AES-256-GCM, bound to the row and the part name)
and purged after the retention. Submitting claims the session with a conditional UPDATE
(``awaiting_capture`` -> ``processing``), so a replayed or concurrent submit finds
nothing to claim; the decision is written with a status guard in its own transaction.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import multiprocessing
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

import structlog
from sqlalchemy import Insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.audit.service import AuditService
from honnin.clock import Clock
from honnin.config import Settings
from honnin.contracts.models import Enterprise
from honnin.db import Database, conflict_insert
from honnin.documents import lds
from honnin.documents.service import load_trust_store
from honnin.errors import HonninError
from honnin.faces.challenge import Challenge, issue_challenge
from honnin.ids import new_id
from honnin.inquiries.models import WebhookDelivery
from honnin.inquiries.service import EventSink, NullEventSink
from honnin.matching.claims import match_applicant
from honnin.matching.errors import MatchingError
from honnin.security.aead import KeyRing
from honnin.verifications import analysis, core
from honnin.verifications.analysis import (
    AnalysisJob,
    CardUpload,
    ChipUpload,
    Limits,
    SelfieUpload,
)
from honnin.verifications.core import Analysis, DocumentFacts
from honnin.verifications.errors import (
    IdempotencyConflictError,
    IncompleteVerificationError,
    InvalidApplicantError,
    InvalidCaptureTokenError,
    InvalidUploadError,
    NotInReviewError,
    UploadNotAllowedError,
    UploadTooLargeError,
    VerificationNotFoundError,
    VerificationStateError,
)
from honnin.verifications.models import Verification

log = structlog.get_logger("honnin.verifications")
P = ParamSpec("P")
R = TypeVar("R")
MAX_DATA_GROUP_BYTES = 200_000
MAX_SOD_BYTES = 64_000


class LedgerRecorder(Protocol):
    """What the service needs of :class:`honnin.ledger.service.LedgerService`."""

    async def record_verification(
        self,
        *,
        identity: Mapping[str, str],
        method: str,
        assurance_level: str,
        verified_at: datetime,
        valid_until: datetime,
        evidence: bytes,
    ) -> tuple[Any, Any]: ...


@dataclass(frozen=True)
class Created:
    id: str
    status: str
    method: str
    challenge: dict[str, Any]
    capture_url: str
    expires_at: datetime
    uploads: tuple[str, ...]


@dataclass(frozen=True)
class VerificationView:
    id: str
    enterprise_id: str
    method: str
    purpose: str
    status: str
    reasons: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    received: tuple[str, ...]
    evidence: Mapping[str, Any] | None
    verified_claims: Mapping[str, Any] | None
    match: Mapping[str, Any] | None
    ledger_index: int | None
    purged: bool


@dataclass(frozen=True)
class CaptureInfo:
    verification_id: str
    method: str
    nonce: str
    actions: tuple[str, ...]
    expires_at: datetime
    step_seconds: float
    received: tuple[str, ...]
    needs: tuple[str, ...]


def _aad(verification_id: str, name: str) -> bytes:
    return f"verifications:{verification_id}:{name}".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class VerificationService:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        key_ring: KeyRing,
        audit: AuditService,
        base_url: str,
        session_ttl: timedelta,
        retention: timedelta,
        limits: Limits,
        trust_anchors: tuple[bytes, ...] = (),
        challenge_length: int = 3,
        challenge_ttl: timedelta = timedelta(seconds=120),
        step_window_s: float = 6.0,
        capture_step_seconds: float = 2.0,
        max_upload_bytes: int = 8_000_000,
        ledger_validity: timedelta = timedelta(days=365),
        events: EventSink | None = None,
        ledger: LedgerRecorder | None = None,
        on_decided: Callable[[], None] | None = None,
        workers: int = 0,
        celery_broker: str = "",
        celery_timeout: float = 60.0,
    ) -> None:
        self._database = database
        self._clock = clock
        self._key_ring = key_ring
        self._audit = audit
        self._base_url = base_url.rstrip("/")
        self._session_ttl = session_ttl
        self._retention = retention
        self.limits = limits
        self.trust_anchors = trust_anchors
        self._challenge_length = challenge_length
        self._challenge_ttl = challenge_ttl
        self._step_window_s = step_window_s
        self.capture_step_seconds = capture_step_seconds
        self._max_upload_bytes = max_upload_bytes
        self._ledger_validity = ledger_validity
        self._events = events or NullEventSink()
        self._ledger = ledger
        self._on_decided = on_decided
        self.workers = workers
        self.celery_broker = celery_broker
        self._celery_timeout = celery_timeout
        self._executor: Executor | None = None

    # -- the worker pool ---------------------------------------------------------------------

    def start_pool(self) -> None:
        """Create the process pool (app lifespan). Workers start on first use; ``spawn``
        because forking a process that runs an event loop and threads is unsafe."""
        if self.workers > 0 and self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=analysis.warm_up,
            )

    def stop_pool(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def _offload(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run CPU work off the event loop: the process pool, or a thread without one."""
        if self._executor is None:
            return await asyncio.to_thread(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    # -- create ------------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        *,
        enterprise_id: str,
        method: str,
        purpose: str,
        applicant: Mapping[str, Any],
        return_url: str | None,
        idempotency_key: str | None,
    ) -> Created:
        if method not in core.METHODS:
            raise InvalidUploadError("unknown method")
        request_digest = core.digest(
            core.canonical_json(
                {
                    "method": method,
                    "purpose": purpose,
                    "applicant": dict(applicant),
                    "return_url": return_url,
                }
            )
        )
        if idempotency_key is not None:
            earlier = await self._earlier(
                session,
                enterprise_id=enterprise_id,
                idempotency_key=idempotency_key,
                request_digest=request_digest,
            )
            if earlier is not None:
                return earlier
        try:
            match_applicant(dict(applicant), {"claims": {}})
        except MatchingError as exc:
            raise InvalidApplicantError(exc.safe_message) from exc
        now = self._clock.now()
        verification_id = new_id("vrf")
        challenge = issue_challenge(
            now=now,
            length=self._challenge_length,
            ttl_s=self._challenge_ttl.total_seconds(),
            step_window_s=self._step_window_s,
        )
        token = secrets.token_urlsafe(32)
        values: dict[str, Any] = {
            "id": verification_id,
            "enterprise_id": enterprise_id,
            "method": method,
            "purpose": purpose,
            "status": core.AWAITING,
            "reasons": [],
            "capture_token_digest": core.token_digest(token),
            "return_url": return_url,
            "sealed_applicant": self._seal(verification_id, "applicant", dict(applicant)),
            "sealed_challenge": self._seal(
                verification_id, "challenge", {"challenge": challenge.as_dict(), "token": token}
            ),
            "idempotency_key": idempotency_key,
            "request_digest": request_digest,
            "created_at": now,
            "expires_at": now + self._session_ttl,
        }
        row = Verification(**values)
        if idempotency_key is None:
            session.add(row)
        else:
            inserted = await session.execute(_insert_unless_key_used(session, values))
            if not inserted.rowcount:  # type: ignore[attr-defined]
                # The same key in a request that committed meanwhile: the insert waited for
                # it (a unique key's conflict waits for the other writer) and did nothing.
                earlier = await self._earlier(
                    session,
                    enterprise_id=enterprise_id,
                    idempotency_key=idempotency_key,
                    request_digest=request_digest,
                )
                if earlier is None:  # pragma: no cover - the conflict names a committed row
                    raise VerificationStateError("the earlier request with this key vanished")
                return earlier
        await self._events.record(
            session,
            kind="verification.created",
            object_id=verification_id,
            enterprise_id=enterprise_id,
            method=method,
            purpose=purpose,
            outcome=core.AWAITING,
        )
        return self._created(row)

    async def _earlier(
        self,
        session: AsyncSession,
        *,
        enterprise_id: str,
        idempotency_key: str,
        request_digest: str,
    ) -> Created | None:
        """The session an earlier request with this key created, if one did."""
        existing = await session.scalar(
            select(Verification).where(
                Verification.enterprise_id == enterprise_id,
                Verification.idempotency_key == idempotency_key,
            )
        )
        if existing is None:
            return None
        if existing.request_digest != request_digest:
            raise IdempotencyConflictError("this Idempotency-Key was used with a different request")
        return self._created(existing)

    def _created(self, row: Verification) -> Created:
        challenge, token = self._challenge(row)
        return Created(
            id=row.id,
            status=row.status,
            method=row.method,
            challenge={
                "nonce": challenge.nonce,
                "actions": [a.value for a in challenge.actions],
                "expires_at": challenge.expires_at,
                "step_window_s": challenge.step_window_s,
            },
            capture_url=f"{self._base_url}/capture/{token}" if token else "",
            expires_at=row.expires_at,
            uploads=core.uploads_needed(row.method),
        )

    def _challenge(self, row: Verification) -> tuple[Challenge, str]:
        if row.sealed_challenge is None:
            raise VerificationStateError("this verification has ended")
        data = self._open(row.id, "challenge", row.sealed_challenge)
        return Challenge.from_dict(data["challenge"]), str(data["token"])

    # -- read --------------------------------------------------------------------------------

    async def _owned(self, session: AsyncSession, enterprise_id: str, vid: str) -> Verification:
        row = await session.get(Verification, vid)
        # Another enterprise's verification is indistinguishable from a missing one.
        if row is None or row.enterprise_id != enterprise_id:
            raise VerificationNotFoundError(f"no verification {vid[:48]}")
        return row

    async def get(
        self, session: AsyncSession, *, enterprise_id: str | None, verification_id: str
    ) -> VerificationView:
        """One session; ``enterprise_id=None`` is the operator's view (any enterprise)."""
        if enterprise_id is None:
            row = await session.get(Verification, verification_id)
            if row is None:
                raise VerificationNotFoundError(f"no verification {verification_id[:48]}")
        else:
            row = await self._owned(session, enterprise_id, verification_id)
        return self._view(row)

    def _view(self, row: Verification) -> VerificationView:
        result = None
        if row.sealed_result is not None:
            result = self._open(row.id, "result", row.sealed_result)
        released = result is not None and row.status == core.APPROVED
        return VerificationView(
            id=row.id,
            enterprise_id=row.enterprise_id,
            method=row.method,
            purpose=row.purpose,
            status=row.status,
            reasons=tuple(row.reasons or ()),
            created_at=row.created_at,
            expires_at=row.expires_at,
            decided_at=row.decided_at,
            decided_by=row.decided_by,
            received=self._received(row),
            evidence=row.evidence_summary,
            verified_claims=result["verified_claims"] if released and result else None,
            match=result.get("match") if result else None,
            ledger_index=row.ledger_index,
            purged=row.purged_at is not None,
        )

    @staticmethod
    def _received(row: Verification) -> tuple[str, ...]:
        parts = {"chip": row.sealed_chip, "card": row.sealed_card, "selfie": row.sealed_selfie}
        return tuple(name for name, value in parts.items() if value is not None)

    # -- the capture link --------------------------------------------------------------------

    async def by_token(self, token: str) -> str:
        """The open verification a capture token belongs to."""
        if not token or len(token) > 100:
            raise InvalidCaptureTokenError("this link is not valid")
        async with self._database.session() as session:
            row = await session.scalar(
                select(Verification).where(
                    Verification.capture_token_digest == core.token_digest(token)
                )
            )
            if row is None:
                raise InvalidCaptureTokenError("this link is not valid")
            if row.status != core.AWAITING or self._clock.now() >= row.expires_at:
                raise InvalidCaptureTokenError("this identity check has already ended")
            return row.id

    async def capture_info(self, token: str) -> CaptureInfo:
        vid = await self.by_token(token)
        async with self._database.session() as session:
            row = await session.get(Verification, vid)
            assert row is not None
            challenge, _ = self._challenge(row)
            received = self._received(row)
        return CaptureInfo(
            verification_id=vid,
            method=row.method,
            nonce=challenge.nonce,
            actions=tuple(a.value for a in challenge.actions),
            expires_at=challenge.expires_at,
            step_seconds=self.capture_step_seconds,
            received=received,
            needs=tuple(p for p in core.uploads_needed(row.method) if p not in received),
        )

    # -- uploads -----------------------------------------------------------------------------

    def _check_size(self, *parts: bytes) -> None:
        if sum(len(p) for p in parts) > self._max_upload_bytes:
            raise UploadTooLargeError(f"the upload exceeds {self._max_upload_bytes} bytes")

    async def put_chip(
        self, *, verification_id: str, enterprise_id: str | None, upload: ChipUpload
    ) -> tuple[str, ...]:
        """EF.SOD and data groups as read from the chip (with their outer tags)."""
        if len(upload.sod) > MAX_SOD_BYTES or any(
            len(d) > MAX_DATA_GROUP_BYTES for d in upload.data_groups.values()
        ):
            raise UploadTooLargeError("a chip file exceeds its size limit")
        lds.parse_sod(upload.sod)  # truncated / not ASN.1: chip_data_malformed now
        for number, data in upload.data_groups.items():
            if lds.data_group_number(data) != number:
                raise InvalidUploadError(f"data group {number} does not carry its own tag")
        for required in (1, 2):
            if required not in upload.data_groups:
                raise InvalidUploadError(f"data group {required} is required")
        value = {
            "sod": _b64(upload.sod),
            "data_groups": {str(n): _b64(d) for n, d in upload.data_groups.items()},
        }
        return await self._store(verification_id, enterprise_id, "chip", value)

    async def put_card(
        self, *, verification_id: str, enterprise_id: str | None, upload: CardUpload
    ) -> tuple[str, ...]:
        self._check_size(upload.front, upload.tilted)
        await self._offload(analysis.probe_card, upload, self.limits)
        value = {"front": _b64(upload.front), "tilted": _b64(upload.tilted)}
        return await self._store(verification_id, enterprise_id, "card", value)

    async def put_selfie(
        self,
        *,
        verification_id: str,
        enterprise_id: str | None,
        upload: SelfieUpload,
        nonce: str,
    ) -> tuple[str, ...]:
        """Frames (or a video) recorded while the challenge was shown, and the nonce."""
        self._check_size(*upload.frames, upload.video or b"")
        if upload.video is None:
            if not upload.frames:
                raise InvalidUploadError("no frames")
            if len(upload.frames) > self.limits.max_frames:
                raise InvalidUploadError(f"at most {self.limits.max_frames} frames")
            if len(upload.times) != len(upload.frames):
                raise InvalidUploadError("one time per frame is required")
        if len(nonce) > 100:
            raise InvalidUploadError("nonce too long")
        await self._offload(analysis.probe_selfie, upload, self.limits)
        value = {
            "nonce": nonce,
            "frames": [_b64(f) for f in upload.frames],
            "times": list(upload.times),
            "video": _b64(upload.video) if upload.video is not None else None,
            "received_at": self._clock.now().isoformat(),
        }
        return await self._store(verification_id, enterprise_id, "selfie", value)

    async def _store(
        self, vid: str, enterprise_id: str | None, part: str, value: Mapping[str, Any]
    ) -> tuple[str, ...]:
        async with self._database.transaction() as session:
            row = await self._open_row(session, vid, enterprise_id)
            if part not in core.uploads_needed(row.method):
                raise UploadNotAllowedError(f"a {row.method} verification takes no {part}")
            sealed = self._seal(vid, part, value)
            setattr(row, f"sealed_{part}", sealed)
            if part == "selfie":
                row.selfie_at = self._clock.now()
            return self._received(row)

    async def _open_row(
        self, session: AsyncSession, vid: str, enterprise_id: str | None
    ) -> Verification:
        if enterprise_id is None:
            row = await session.get(Verification, vid)
            if row is None:
                raise VerificationNotFoundError("no such verification")
        else:
            row = await self._owned(session, enterprise_id, vid)
        if row.status != core.AWAITING:
            raise VerificationStateError(f"this verification is {row.status}")
        if self._clock.now() >= row.expires_at:
            raise VerificationStateError("this verification has expired")
        return row

    # -- submit and decide -------------------------------------------------------------------

    async def submit(self, *, verification_id: str, enterprise_id: str | None) -> VerificationView:
        """Claim the session, analyse it off the event loop, decide, and record."""
        job, applicant = await self._claim(verification_id, enterprise_id)
        try:
            if self.celery_broker:
                result = await self._analyse_on_celery(job)
            else:
                result = await self._offload(analysis.analyse, job)
        except HonninError as exc:
            result = Analysis(facts=None, problems=(exc.code,))
        except Exception:
            log.exception("verification analysis failed", verification_id=verification_id)
            result = Analysis(facts=None, problems=("analysis_failed",))
        return await self._decide(verification_id, job, applicant, result)

    async def _analyse_on_celery(self, job: AnalysisJob) -> Analysis:
        """Run the analysis on a Celery worker (JSON messages, Redis result backend)."""
        from honnin.verifications import tasks, wire

        app = tasks.celery_app(self.celery_broker)
        pending = app.send_task(tasks.TASK_NAME, args=[wire.job_to_wire(job)], queue=tasks.QUEUE)
        data = await asyncio.to_thread(pending.get, timeout=self._celery_timeout)
        return wire.analysis_from_wire(data)

    async def _claim(
        self, vid: str, enterprise_id: str | None
    ) -> tuple[AnalysisJob, dict[str, Any]]:
        async with self._database.transaction() as session:
            row = await self._open_row(session, vid, enterprise_id)
            missing = [p for p in core.uploads_needed(row.method) if p not in self._received(row)]
            if missing:
                raise IncompleteVerificationError("missing: " + ", ".join(missing))
            claimed = await session.execute(
                update(Verification)
                .where(Verification.id == vid, Verification.status == core.AWAITING)
                .values(status=core.PROCESSING)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise VerificationStateError("this verification is already being processed")
            challenge, _ = self._challenge(row)
            assert row.sealed_selfie is not None
            selfie = self._open(vid, "selfie", row.sealed_selfie)
            chip = card = None
            if row.sealed_chip is not None:
                data = self._open(vid, "chip", row.sealed_chip)
                chip = ChipUpload(
                    sod=base64.b64decode(data["sod"]),
                    data_groups={
                        int(n): base64.b64decode(v) for n, v in data["data_groups"].items()
                    },
                )
            if row.sealed_card is not None:
                data = self._open(vid, "card", row.sealed_card)
                card = CardUpload(
                    front=base64.b64decode(data["front"]), tilted=base64.b64decode(data["tilted"])
                )
            applicant = self._open(vid, "applicant", row.sealed_applicant)
            job = AnalysisJob(
                method=row.method,
                selfie=SelfieUpload(
                    frames=tuple(base64.b64decode(f) for f in selfie["frames"]),
                    times=tuple(float(t) for t in selfie["times"]),
                    video=base64.b64decode(selfie["video"]) if selfie["video"] else None,
                ),
                challenge=challenge,
                nonce=str(selfie["nonce"]),
                received_at=datetime.fromisoformat(selfie["received_at"]),
                at=self._clock.now(),
                chip=chip,
                card=card,
                trust_anchors=self.trust_anchors,
                limits=self.limits,
            )
            return job, applicant

    async def _decide(
        self, vid: str, job: AnalysisJob, applicant: Mapping[str, Any], result: Analysis
    ) -> VerificationView:
        now = self._clock.now()
        facts = result.facts
        claims = None
        match_report = None
        if facts is not None:
            claims = core.verified_claims(
                method=job.method,
                facts=facts,
                verification_id=vid,
                decided_at=now,
                captured_at=job.received_at,
            )
            try:
                match_report = match_applicant(applicant, claims).to_dict()
            except MatchingError:
                match_report = None
        decision = core.decide(
            result, match_overall=match_report["overall"] if match_report else None
        )
        if facts is None and decision.status == core.APPROVED:
            decision = core.Decision(core.REJECTED, ("card_unreadable",))
        stored = {
            "verified_claims": claims,
            "match": match_report,
            "facts": facts.as_dict() if facts else None,
            "evidence_digest": result.evidence_digest,
        }
        async with self._database.transaction() as session:
            row = await session.get(Verification, vid, with_for_update=True)
            assert row is not None
            guarded = await session.execute(
                update(Verification)
                .where(Verification.id == vid, Verification.status == core.PROCESSING)
                .values(
                    status=decision.status,
                    reasons=list(decision.reasons),
                    sealed_result=self._seal(vid, "result", stored),
                    evidence_summary=result.summary(),
                    face_distance=(result.face or {}).get("distance"),
                    result_digest=core.digest(core.canonical_json(stored)),
                    analysed_at=now,
                    decided_at=now if decision.status != core.REVIEW else None,
                    decided_by="system" if decision.status != core.REVIEW else None,
                    # Images stay for the reviewer until a person decides.
                    purge_after=None if decision.status == core.REVIEW else now + self._retention,
                )
            )
            if guarded.rowcount != 1:  # type: ignore[attr-defined]
                raise VerificationStateError("this verification was decided meanwhile")
            await self._announce(
                session, row, status=decision.status, reasons=decision.reasons, facts=facts,
                now=now, actor="system",
            )  # fmt: skip
        if decision.status == core.APPROVED and facts is not None:
            await self._record_in_ledger(vid, job.method, facts, result.evidence_digest, now)
        if self._on_decided is not None:
            self._on_decided()
        async with self._database.session() as session:
            fresh = await session.get(Verification, vid)
            assert fresh is not None
            return self._view(fresh)

    async def _announce(
        self,
        session: AsyncSession,
        row: Verification,
        *,
        status: str,
        reasons: Sequence[str],
        facts: DocumentFacts | None,
        now: datetime,
        actor: str,
    ) -> None:
        """The trace event and the webhook of a decision (inside its transaction)."""
        subject = core.ledger_identity(facts) if facts is not None else None
        await self._events.record(
            session,
            kind="verification.decided",
            object_id=row.id,
            enterprise_id=row.enterprise_id,
            method=row.method,
            claims=sorted(core.claims_of(facts)) if facts is not None else [],
            purpose=row.purpose,
            outcome=status,
            latency_ms=int((now - row.created_at).total_seconds() * 1000),
            actor=actor,
            **({"subject": subject} if subject and all(subject.values()) else {}),
        )
        webhook_url = await session.scalar(
            select(Enterprise.webhook_url).where(Enterprise.id == row.enterprise_id)
        )
        if webhook_url:
            session.add(
                WebhookDelivery(
                    id=new_id("msg"),
                    enterprise_id=row.enterprise_id,
                    object_id=row.id,
                    event_type=core.WEBHOOK_EVENT,
                    payload=core.webhook_payload(
                        verification_id=row.id, status=status, reasons=reasons, decided_at=now
                    ),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )

    async def _record_in_ledger(
        self, vid: str, method: str, facts: DocumentFacts, evidence: str | None, now: datetime
    ) -> None:
        """The shared history (issue 8): pseudonymous, after the decision committed."""
        if self._ledger is None:
            return
        valid_until = now + self._ledger_validity
        if facts.expiry_date:
            expiry = datetime.fromisoformat(facts.expiry_date).replace(tzinfo=now.tzinfo)
            valid_until = min(valid_until, max(expiry, now))
        try:
            _record, receipt = await self._ledger.record_verification(
                identity=core.ledger_identity(facts),
                method=method,
                assurance_level="IAL2",
                verified_at=now,
                valid_until=valid_until,
                evidence=(evidence or vid).encode(),
            )
        except Exception:
            # The decision stands; the ledger entry is retried by nobody, so say so loudly.
            log.exception("ledger record failed", verification_id=vid)
            return
        async with self._database.transaction() as session:
            await session.execute(
                update(Verification)
                .where(Verification.id == vid)
                .values(ledger_index=getattr(receipt, "index", None))
            )

    # -- reviewer queue ----------------------------------------------------------------------

    async def list(
        self, session: AsyncSession, *, status: str | None, limit: int = 100
    ) -> list[VerificationView]:
        query = select(Verification).order_by(Verification.created_at).limit(limit)
        if status is not None:
            query = query.where(Verification.status == status)
        rows = (await session.scalars(query)).all()
        return [self._view(row) for row in rows]

    async def review(
        self, *, verification_id: str, actor: str, decision: str, note: str | None
    ) -> VerificationView:
        """An operator approves or rejects a session in review (audited)."""
        if decision not in (core.APPROVED, core.REJECTED):
            raise InvalidUploadError("decision must be approved or rejected")
        now = self._clock.now()
        async with self._database.transaction() as session:
            row = await session.get(Verification, verification_id, with_for_update=True)
            if row is None:
                raise VerificationNotFoundError(f"no verification {verification_id[:48]}")
            if row.status != core.REVIEW:
                raise NotInReviewError(f"this verification is {row.status}")
            reasons = [*row.reasons, f"reviewer_{decision}"]
            guarded = await session.execute(
                update(Verification)
                .where(Verification.id == row.id, Verification.status == core.REVIEW)
                .values(
                    status=decision,
                    reasons=reasons,
                    decided_at=now,
                    decided_by=actor,
                    purge_after=now + self._retention,
                )
            )
            if guarded.rowcount != 1:  # type: ignore[attr-defined]
                raise NotInReviewError("this verification was decided meanwhile")
            await self._audit.record(
                session,
                actor=actor,
                action="verification.review",
                object_type="verification",
                object_id=row.id,
                details={
                    "decision": decision,
                    "reasons": list(row.reasons),
                    "note": (note or "")[:500],
                },
            )
            result = self._open(row.id, "result", row.sealed_result) if row.sealed_result else {}
            facts = DocumentFacts(**result["facts"]) if result.get("facts") else None
            await self._announce(
                session, row, status=decision, reasons=reasons, facts=facts, now=now, actor=actor
            )
        if decision == core.APPROVED and facts is not None:
            await self._record_in_ledger(
                verification_id, row.method, facts, result.get("evidence_digest"), now
            )
        if self._on_decided is not None:
            self._on_decided()
        async with self._database.session() as session:
            fresh = await session.get(Verification, verification_id)
            assert fresh is not None
            return self._view(fresh)

    async def evidence_image(self, session: AsyncSession, verification_id: str, kind: str) -> bytes:
        """The document portrait or the matched selfie frame, for the reviewer."""
        row = await session.get(Verification, verification_id)
        if row is None or row.purged_at is not None:
            raise VerificationNotFoundError("no evidence for this verification")
        if kind == "document":
            if row.sealed_chip is not None:
                chip = self._open(row.id, "chip", row.sealed_chip)
                dg2 = base64.b64decode(chip["data_groups"]["2"])
                return lds.parse_dg2(dg2)[0].data
            if row.sealed_card is not None:
                return base64.b64decode(self._open(row.id, "card", row.sealed_card)["front"])
        if kind == "selfie" and row.sealed_selfie is not None:
            frames = self._open(row.id, "selfie", row.sealed_selfie)["frames"]
            index = int(((row.evidence_summary or {}).get("face") or {}).get("selfie_frame") or 0)
            if frames:
                return base64.b64decode(frames[min(index, len(frames) - 1)])
        raise VerificationNotFoundError("no such evidence")

    # -- housekeeping ------------------------------------------------------------------------

    async def expire_overdue(self, *, limit: int = 200) -> int:
        """Sessions nobody submitted in time end as ``expired`` (their uploads are purged)."""
        now = self._clock.now()
        async with self._database.transaction() as session:
            rows = (
                await session.scalars(
                    select(Verification)
                    .where(Verification.status == core.AWAITING, Verification.expires_at <= now)
                    .limit(limit)
                )
            ).all()
            for row in rows:
                row.status = core.EXPIRED
                row.reasons = ["session_expired"]
                row.decided_at = now
                row.purge_after = now
                await self._announce(
                    session, row, status=core.EXPIRED, reasons=["session_expired"], facts=None,
                    now=now, actor="system",
                )  # fmt: skip
            return len(rows)

    async def purge_due(self, *, limit: int = 200) -> int:
        """Drop images and personal data past retention; status, reasons, scores stay."""
        now = self._clock.now()
        async with self._database.transaction() as session:
            rows = (
                await session.scalars(
                    select(Verification)
                    .where(Verification.purge_after <= now, Verification.purged_at.is_(None))
                    .limit(limit)
                )
            ).all()
            for row in rows:
                row.sealed_applicant = b""
                row.sealed_challenge = None
                row.sealed_chip = None
                row.sealed_card = None
                row.sealed_selfie = None
                row.sealed_result = None
                row.purged_at = now
                await self._events.record(
                    session,
                    kind="data.purged",
                    object_type="verification",
                    object_id=row.id,
                    enterprise_id=row.enterprise_id,
                    method=row.method,
                    outcome="purged",
                )
            return len(rows)

    # -- sealing -----------------------------------------------------------------------------

    def _seal(self, vid: str, name: str, value: Any) -> bytes:
        return self._key_ring.encrypt(core.canonical_json(value), associated_data=_aad(vid, name))

    def _open(self, vid: str, name: str, sealed: bytes) -> Any:
        return json.loads(self._key_ring.decrypt(sealed, associated_data=_aad(vid, name)))


def trust_anchors_from(directory: Path | None) -> tuple[bytes, ...]:
    """The CSCA certificates (files and master lists) of a trust directory, as DER."""
    if directory is None:
        return ()
    return tuple(csca.der for csca in load_trust_store(directory).cscas)


def create_verification_service(
    *,
    settings: Settings,
    database: Database,
    clock: Clock,
    key_ring: KeyRing,
    audit: AuditService,
    events: EventSink | None = None,
    ledger: LedgerRecorder | None = None,
    on_decided: Callable[[], None] | None = None,
    trust_anchors: tuple[bytes, ...] | None = None,
) -> VerificationService:
    """The service from settings (``verifications_*``, ``faces_*``); ``trust_anchors``
    overrides the trust directory (tests, the demo's sandbox CSCA)."""
    if trust_anchors is None:
        trust_anchors = trust_anchors_from(
            settings.verifications_trust_dir or settings.documents_trust_dir
        )
    return VerificationService(
        database=database,
        clock=clock,
        key_ring=key_ring,
        audit=audit,
        base_url=settings.base_url,
        session_ttl=timedelta(seconds=settings.verifications_session_ttl_seconds),
        retention=timedelta(hours=settings.verifications_retention_hours),
        limits=Limits(
            max_frames=settings.verifications_max_frames,
            max_frame_pixels=settings.verifications_max_frame_pixels,
            max_card_pixels=settings.faces_max_pixels,
            detect_max_side=settings.faces_detect_max_side,
            match_threshold=settings.faces_match_threshold,
            review_margin=settings.verifications_review_margin,
        ),
        trust_anchors=trust_anchors,
        challenge_length=settings.faces_challenge_length,
        challenge_ttl=timedelta(seconds=settings.faces_challenge_ttl_seconds),
        step_window_s=settings.faces_challenge_step_window_seconds,
        capture_step_seconds=settings.verifications_capture_step_seconds,
        max_upload_bytes=settings.verifications_max_upload_bytes,
        ledger_validity=timedelta(days=settings.verifications_ledger_validity_days),
        events=events,
        ledger=ledger,
        on_decided=on_decided,
        workers=settings.verifications_workers,
        celery_broker=settings.verifications_celery_broker,
        celery_timeout=settings.verifications_celery_timeout_seconds,
    )


def _insert_unless_key_used(session: AsyncSession, values: Mapping[str, Any]) -> Insert:
    """``INSERT ... ON CONFLICT (enterprise_id, idempotency_key) DO NOTHING``.

    Two requests with one Idempotency-Key at once both find no earlier session; with this
    insert the second waits for the first to commit and then inserts nothing (rowcount 0)
    instead of failing on the unique constraint. SQLite and PostgreSQL spell it alike.
    """
    return (
        conflict_insert(session.get_bind().dialect.name, Verification)
        .values(dict(values))
        .on_conflict_do_nothing(
            index_elements=[Verification.enterprise_id, Verification.idempotency_key]
        )
    )
