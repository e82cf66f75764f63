"""Ledger use cases: append records and events, serve the log, witness peers, look-ups.

Does I/O (database, HTTP to peers and witnesses). Composes the pure modules: records
(RFC 8785 entries), the tiled log (RFC 9162, C2SP tlog-tiles), signed checkpoints (C2SP
tlog-checkpoint, signed-note), the witness role (C2SP tlog-witness, tlog-cosignature)
and look-up bundles. Built once at start-up by :func:`build_ledger_service`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from honnin.clock import Clock, SystemClock
from honnin.config import Settings
from honnin.db import Database
from honnin.http_limits import BodyTooLargeError, send_capped
from honnin.ledger import bundle as bundle_mod
from honnin.ledger import merkle, records, witness
from honnin.ledger.checkpoint import Checkpoint
from honnin.ledger.errors import (
    BundleError,
    ConsentRequiredError,
    LedgerError,
    LookupRateLimitedError,
    LookupRequestError,
    NoteError,
    PeerUnavailableError,
    UnknownPeerError,
    WitnessConflictError,
)
from honnin.ledger.log import NewEntry, Receipt, SignedCheckpoint, TransparencyLog
from honnin.ledger.models import (
    LedgerEvidenceSalt,
    LedgerLookupAudit,
    LedgerPeerState,
    LedgerWitnessedLog,
    LedgerWitnessProgress,
)
from honnin.ledger.note import SIG_COSIGNATURE_V1, Signer, Verifier, open_note, parse

log = structlog.get_logger(__name__)

MAX_REQUEST_AGE_SECONDS = 300
# Longest answers read from a witness (cosignature lines, or the size it knows) and from a
# peer log (a bundle of at most MAX_BUNDLE_ENTRIES entries with their proofs).
MAX_WITNESS_ANSWER_BYTES = 65_536
MAX_BUNDLE_BYTES = 1_048_576


@dataclass(frozen=True, slots=True)
class Peer:
    """A peer deployment: its log origin, base URL of its ``/ledger`` API and log key."""

    origin: str
    url: str
    log_key: Verifier


@dataclass(frozen=True, slots=True)
class Witness:
    """A witness: its cosigner key (name = key name) and ``add-checkpoint`` prefix URL."""

    url: str
    key: Verifier

    @property
    def name(self) -> str:
        return self.key.name


@dataclass(frozen=True, slots=True)
class LookupPolicy:
    accepted_methods: tuple[str, ...] = ("jp_he", "icao_chip")
    max_age_days: int = 90
    rate_per_minute: int = 30
    salt_retention_days: int = 2557


@dataclass(frozen=True, slots=True)
class LookupResult:
    peer: str
    records: tuple[records.VerificationRecord, ...]
    expired: int
    checkpoint_size: int
    witnesses: tuple[str, ...]
    bundle: dict[str, Any]

    @property
    def found(self) -> bool:
        return bool(self.records)


@dataclass
class _RateLimiter:
    """Sliding one-minute window per peer; the gateway's shared limiter comes later."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _hits: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def hit(self, peer: str) -> None:
        now = self.clock()
        window = self._hits[peer]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.per_minute:
            raise LookupRateLimitedError("too many look-ups from this peer; retry later")
        window.append(now)


class LedgerService:
    """The shared verification history of one deployment."""

    def __init__(
        self,
        *,
        database: Database,
        log_signer: Signer,
        witness_signer: Signer,
        consortium_key: bytes,
        peers: Sequence[Peer] = (),
        witnesses: Sequence[Witness] = (),
        quorum: int = 1,
        policy: LookupPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch_size: int = 512,
    ) -> None:
        if witness_signer.sig_type != SIG_COSIGNATURE_V1:
            raise LedgerError("witness key must be a cosignature/v1 (type 0x04) key")
        self.database = database
        self.origin = log_signer.name
        self.log = TransparencyLog(
            database=database,
            signer=log_signer,
            origin=log_signer.name,
            clock=clock,
            batch_size=batch_size,
        )
        self.witness_signer = witness_signer
        self.consortium_key = consortium_key
        self.peers = {p.origin: p for p in peers}
        self.witnesses = tuple(witnesses)
        self.quorum = quorum
        self.policy = policy or LookupPolicy()
        self.clock = clock
        self._http = http
        self._own_http = http is None
        self._limiter = _RateLimiter(self.policy.rate_per_minute)
        self._witness_lock = asyncio.Lock()
        self._cosign_task: asyncio.Task[None] | None = None

    @property
    def log_verifier(self) -> Verifier:
        return self.log.signer.verifier

    @property
    def witness_verifier(self) -> Verifier:
        return self.witness_signer.verifier

    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10.0)
        return self._http

    async def aclose(self) -> None:
        if self._cosign_task is not None:
            self._cosign_task.cancel()
            await asyncio.gather(self._cosign_task, return_exceptions=True)
        if self._own_http and self._http is not None:
            await self._http.aclose()

    # --- appending (called by other packages) ----------------------------------------

    async def append_event(self, kind: str, payload: Mapping[str, Any]) -> Receipt:
        """Commit a generic event (e.g. a trace event) into the log; no personal data."""
        receipt = await self.log.append(NewEntry(records.event_entry(kind, payload), kind))
        self.request_cosignatures()
        return receipt

    async def append_events(
        self, kind: str, payloads: Sequence[Mapping[str, Any]]
    ) -> list[Receipt]:
        """Commit several generic events at once, in order: one transaction and one
        checkpoint per log batch. Callers that have a batch in hand use this rather than
        many ``append_event`` at once, which wait on the log's lock one after another."""
        receipts = await self.log.append_many(
            [NewEntry(records.event_entry(kind, payload), kind) for payload in payloads]
        )
        self.request_cosignatures()
        return receipts

    async def append_verification(self, record: records.VerificationRecord) -> Receipt:
        """Commit a completed verification (already pseudonymous) into the log."""
        receipt = await self.log.append(
            NewEntry(record.to_entry(), records.KIND_VERIFICATION, record.subject_id)
        )
        self.request_cosignatures()
        return receipt

    def subject_id(self, identity: Mapping[str, str]) -> str:
        return records.subject_id(self.consortium_key, identity)

    async def record_verification(
        self,
        *,
        identity: Mapping[str, str],
        method: str,
        assurance_level: str,
        verified_at: datetime,
        valid_until: datetime,
        evidence: bytes,
    ) -> tuple[records.VerificationRecord, Receipt]:
        """Pseudonymise, salt the evidence digest (salt kept off the log) and append."""
        salt = secrets.token_bytes(32)
        record = records.VerificationRecord(
            subject_id=self.subject_id(identity),
            provider=self.origin,
            method=method,
            assurance_level=assurance_level,
            verified_at=verified_at,
            valid_until=valid_until,
            evidence_digest=records.evidence_digest(salt, evidence),
        )
        retention = timedelta(days=self.policy.salt_retention_days)
        async with self.database.transaction() as session:
            session.add(
                LedgerEvidenceSalt(
                    evidence_digest=record.evidence_digest,
                    salt=salt,
                    delete_after=self.clock() + retention,
                )
            )
        return record, await self.append_verification(record)

    async def evidence_matches(self, record: records.VerificationRecord, evidence: bytes) -> bool:
        """Whether ``evidence`` is what the record committed to (only while the salt lives)."""
        async with self.database.session() as session:
            row = await session.get(LedgerEvidenceSalt, record.evidence_digest)
        if row is None:
            return False
        return records.evidence_digest(bytes(row.salt), evidence) == record.evidence_digest

    async def purge_expired_salts(self) -> int:
        """Delete salts past retention: their entries can no longer be linked to evidence."""
        async with self.database.transaction() as session:
            result = await session.execute(
                delete(LedgerEvidenceSalt).where(LedgerEvidenceSalt.delete_after <= self.clock())
            )
        return int(getattr(result, "rowcount", 0) or 0)

    # --- serving ---------------------------------------------------------------------

    async def checkpoint_note(self) -> str:
        """The latest checkpoint with the witness cosignatures collected for it."""
        cp = await self.log.latest_checkpoint()
        if cp is None:
            cp = await self.log.publish_checkpoint()
        return cp.note + "".join(await self.log.cosignatures(cp.checkpoint.size))

    # --- our witnesses cosign our checkpoints ----------------------------------------

    def request_cosignatures(self) -> None:
        """Ask the witnesses in the background (one task at a time)."""
        if not self.witnesses:
            return
        if self._cosign_task is None or self._cosign_task.done():
            self._cosign_task = asyncio.get_running_loop().create_task(self._cosign_quietly())

    async def _cosign_quietly(self) -> None:
        try:
            await self.collect_cosignatures()
        except LedgerError as exc:
            log.warning("ledger.cosign_failed", code=exc.code)

    async def collect_cosignatures(self) -> list[str]:
        """Submit the latest checkpoint to every witness; returns who cosigned it."""
        async with self._witness_lock:
            cp = await self.log.latest_checkpoint()
            if cp is None:
                cp = await self.log.publish_checkpoint()
            cosigned = []
            for w in self.witnesses:
                try:
                    if await self._submit(w, cp):
                        cosigned.append(w.name)
                except (httpx.HTTPError, LedgerError) as exc:
                    log.warning("ledger.witness_unreachable", witness=w.name, error=str(exc))
            return cosigned

    async def _submit(self, w: Witness, cp: SignedCheckpoint) -> bool:
        size = cp.checkpoint.size
        old = await self._witness_progress(w.name)
        for _ in range(2):
            if old > size:
                log.warning("ledger.witness_ahead", witness=w.name, witness_size=old)
                return False
            proof = await self.log.consistency_proof(old, size) if old else []
            try:
                response = await send_capped(
                    self.http(),
                    "POST",
                    w.url.rstrip("/") + "/add-checkpoint",
                    content=witness.format_request(old, proof, cp.note),
                    limit=MAX_WITNESS_ANSWER_BYTES,
                )
            except BodyTooLargeError:
                log.warning("ledger.witness_answer_too_large", witness=w.name)
                return False
            body = response.text.strip()
            # A witness's 409 body is the size it knows; only plain ASCII digits count.
            known = len(body) <= 20 and body.isascii() and body.isdigit()
            if response.status_code == 409 and known:
                old = int(body)
                continue
            if response.status_code != 200:
                log.warning("ledger.witness_refused", witness=w.name, status=response.status_code)
                return False
            lines = [line + "\n" for line in response.text.splitlines() if line]
            try:
                open_note(cp.note + "".join(lines), [w.key])
            except NoteError:
                log.warning("ledger.witness_bad_cosignature", witness=w.name)
                return False
            mine = [
                line
                for line in lines
                if parse(cp.note + line).signatures[-1].key_id == w.key.key_id
            ]
            for line in mine:
                await self.log.add_cosignature(size, w.name, line)
            await self._set_witness_progress(w.name, size)
            return bool(mine)
        return False

    async def _witness_progress(self, name: str) -> int:
        async with self.database.session() as session:
            row = await session.get(LedgerWitnessProgress, name)
        return 0 if row is None else int(row.size)

    async def _set_witness_progress(self, name: str, size: int) -> None:
        async with self.database.transaction() as session:
            row = await session.get(LedgerWitnessProgress, name)
            if row is None:
                session.add(LedgerWitnessProgress(witness=name, size=size, updated_at=self.clock()))
            else:
                row.size = size
                row.updated_at = self.clock()

    # --- we witness peers (C2SP tlog-witness) -----------------------------------------

    async def add_checkpoint(self, body: bytes) -> str:
        """Handle ``add-checkpoint``: check, atomically record, and cosign (tlog-witness)."""
        request = witness.parse_request(body)
        log_keys = {origin: [p.log_key] for origin, p in self.peers.items()}
        origin = _origin_of(request.note)
        recorded = await self._recorded(origin)
        cp = witness.check(request, log_keys=log_keys, recorded=recorded)
        await self._record_witnessed(cp, request.note, recorded)
        timestamp = int(self.clock().timestamp())
        return self.witness_signer.signature_line(cp.text, timestamp=timestamp)

    async def _recorded(self, origin: str | None) -> witness.Recorded | None:
        if origin is None:
            return None
        async with self.database.session() as session:
            row = await session.get(LedgerWitnessedLog, origin)
        return None if row is None else witness.Recorded(int(row.size), bytes(row.root_hash))

    async def _record_witnessed(
        self, cp: Checkpoint, note: str, recorded: witness.Recorded | None
    ) -> None:
        """Compare-and-swap on the recorded size: the check and the update are atomic."""
        now = self.clock()
        text = note[:4096]
        try:
            async with self.database.transaction() as session:
                if recorded is None:
                    session.add(
                        LedgerWitnessedLog(
                            origin=cp.origin,
                            size=cp.size,
                            root_hash=cp.root_hash,
                            note=text,
                            updated_at=now,
                        )
                    )
                    await session.flush()
                    return
                result = await session.execute(
                    update(LedgerWitnessedLog)
                    .where(
                        LedgerWitnessedLog.origin == cp.origin,
                        LedgerWitnessedLog.size == recorded.size,
                        LedgerWitnessedLog.root_hash == recorded.root_hash,
                    )
                    .values(size=cp.size, root_hash=cp.root_hash, note=text, updated_at=now)
                )
                if getattr(result, "rowcount", 0) == 1:
                    return
        except IntegrityError:
            pass
        latest = await self._recorded(cp.origin)
        raise WitnessConflictError(
            "recorded size changed concurrently", latest_size=latest.size if latest else 0
        )

    # --- look-ups: answering peers ---------------------------------------------------

    async def answer_lookup(self, request_note: str) -> dict[str, Any]:
        """Answer a peer's signed look-up with an offline-verifiable bundle; audited."""
        peer_keys = {origin: p.log_key for origin, p in self.peers.items()}
        try:
            request = bundle_mod.open_request(request_note, peer_keys=peer_keys)
        except LookupRequestError:
            await self._audit("in", _requester_of(request_note), request_note, "rejected", 0)
            raise
        now = self.clock()
        try:
            if request.responder != self.origin:
                raise LookupRequestError("request is addressed to another log")
            if abs(int(now.timestamp()) - request.time) > MAX_REQUEST_AGE_SECONDS:
                raise LookupRequestError("request is stale or from the future")
            if not request.consent.strip("-"):
                raise ConsentRequiredError("request carries no consent reference")
            self._limiter.hit(request.requester)
        except LedgerError as exc:
            await self._audit("in", request.requester, request_note, exc.code, 0)
            raise
        cp = await self._checkpoint_for_answer(request.known_size)
        size = cp.checkpoint.size
        stored = await self.log.entries_for_subject(
            request.subject_id, below=size, limit=bundle_mod.MAX_BUNDLE_ENTRIES
        )
        entries = [
            bundle_mod.BundleEntry(
                index=e.index,
                entry=e.data,
                inclusion_proof=tuple(await self.log.inclusion_proof(e.index, size)),
            )
            for e in stored
        ]
        known = request.known_size if request.known_size <= size else 0
        consistency = await self.log.consistency_proof(known, size) if known else []
        await self._audit("in", request.requester, request_note, "answered", len(entries))
        return bundle_mod.build_bundle(
            origin=self.origin,
            checkpoint_note=cp.note + "".join(await self.log.cosignatures(size)),
            entries=entries,
            known_size=known,
            consistency_proof=consistency,
        )

    async def _checkpoint_for_answer(self, known_size: int) -> SignedCheckpoint:
        """The newest checkpoint our witnesses cosigned (what peers can trust), unless the
        requester already knows a larger tree; then the latest one."""
        quorum = min(self.quorum, len(self.witnesses))
        if quorum:
            cosigned = await self.log.latest_cosigned_checkpoint(quorum)
            if cosigned is not None and cosigned.checkpoint.size >= known_size:
                return cosigned
        latest = await self.log.latest_checkpoint()
        return latest if latest is not None else await self.log.publish_checkpoint()

    async def _audit(
        self, direction: str, peer: str, request: str, outcome: str, matches: int
    ) -> None:
        async with self.database.transaction() as session:
            session.add(
                LedgerLookupAudit(
                    direction=direction,
                    peer=peer[:255],
                    request=request[:8192],
                    outcome=outcome[:64],
                    matches=matches,
                    at=self.clock(),
                )
            )

    # --- look-ups: asking peers ------------------------------------------------------

    async def lookup(
        self,
        *,
        peer: str,
        subject_id: str,
        consent_reference: str,
        methods: Sequence[str] | None = None,
        max_age_days: int | None = None,
    ) -> LookupResult:
        """Ask ``peer`` whether the subject was verified recently; verify the bundle."""
        if not consent_reference or any(ch.isspace() for ch in consent_reference):
            raise ConsentRequiredError("record the user's consent before a look-up")
        target = self.peers.get(peer)
        if target is None:
            raise UnknownPeerError("peer is not configured")
        accepted = tuple(methods or self.policy.accepted_methods)
        max_age = max_age_days or self.policy.max_age_days
        known = await self._peer_state(peer)
        request = bundle_mod.LookupRequest(
            requester=self.origin,
            responder=peer,
            subject_id=subject_id,
            methods=accepted,
            max_age_days=max_age,
            consent=consent_reference,
            time=int(self.clock().timestamp()),
            known_size=known[0],
        )
        signed = request.signed(self.log.signer)
        try:
            response = await send_capped(
                self.http(),
                "POST",
                target.url.rstrip("/") + "/lookup",
                content=signed.encode(),
                headers={"content-type": "text/plain; charset=utf-8"},
                limit=MAX_BUNDLE_BYTES,
            )
        except BodyTooLargeError as exc:
            await self._audit("out", peer, signed, "invalid_bundle", 0)
            raise BundleError("peer's answer is too large") from exc
        except httpx.HTTPError as exc:
            await self._audit("out", peer, signed, "unreachable", 0)
            raise PeerUnavailableError("peer did not answer") from exc
        if response.status_code != 200:
            await self._audit("out", peer, signed, f"http_{response.status_code}", 0)
            raise PeerUnavailableError(f"peer answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            await self._audit("out", peer, signed, "invalid_bundle", 0)
            raise BundleError("peer's answer is not JSON") from exc
        try:
            verified = bundle_mod.verify_bundle(
                data,
                peer=bundle_mod.PeerTrust(peer, target.log_key, known[0], known[1]),
                witness_keys=[w.key for w in self.witnesses],
                quorum=self.quorum,
                subject_id=subject_id,
                methods=accepted,
                max_age_days=max_age,
                now=self.clock(),
            )
        except LedgerError as exc:
            await self._audit("out", peer, signed, exc.code, 0)
            raise
        await self._remember_peer(peer, verified.trusted.checkpoint, verified.checkpoint_note)
        await self._audit("out", peer, signed, "verified", len(verified.usable))
        return LookupResult(
            peer=peer,
            records=verified.usable,
            expired=verified.expired,
            checkpoint_size=verified.trusted.checkpoint.size,
            witnesses=verified.trusted.witnesses,
            bundle=data,
        )

    def verify_bundle(
        self,
        data: Mapping[str, Any],
        *,
        peer: str,
        subject_id: str,
        methods: Sequence[str] | None = None,
        max_age_days: int | None = None,
    ) -> bundle_mod.VerifiedBundle:
        """Offline re-verification of a stored bundle (e.g. when a session reuses it)."""
        target = self.peers.get(peer)
        if target is None:
            raise UnknownPeerError("peer is not configured")
        return bundle_mod.verify_bundle(
            data,
            peer=bundle_mod.PeerTrust(peer, target.log_key),
            witness_keys=[w.key for w in self.witnesses],
            quorum=self.quorum,
            subject_id=subject_id,
            methods=tuple(methods or self.policy.accepted_methods),
            max_age_days=max_age_days or self.policy.max_age_days,
            now=self.clock(),
        )

    async def _peer_state(self, origin: str) -> tuple[int, bytes]:
        async with self.database.session() as session:
            row = await session.get(LedgerPeerState, origin)
        return (0, merkle.EMPTY_ROOT) if row is None else (int(row.size), bytes(row.root_hash))

    async def _remember_peer(self, origin: str, cp: Checkpoint, note: str) -> None:
        async with self.database.transaction() as session:
            row = await session.get(LedgerPeerState, origin)
            if row is None:
                session.add(
                    LedgerPeerState(
                        origin=origin,
                        size=cp.size,
                        root_hash=cp.root_hash,
                        note=note[:8192],
                        updated_at=self.clock(),
                    )
                )
            elif cp.size > row.size:
                row.size = cp.size
                row.root_hash = cp.root_hash
                row.note = note[:8192]
                row.updated_at = self.clock()


def _origin_of(note: str) -> str | None:
    first = note.split("\n", 1)[0]
    return first or None


def _requester_of(note: str) -> str:
    for line in note.split("\n")[1:3]:
        if line.startswith("requester "):
            return line.removeprefix("requester ")[:255]
    return "unknown"


# --- composition ---------------------------------------------------------------------


def default_origin(settings: Settings) -> str:
    host = urlsplit(settings.base_url).netloc or "localhost"
    return f"{host}/ledger"


def _load_or_create_keys(settings: Settings, origin: str) -> dict[str, str]:
    """Demo/test keys persisted under ``var_dir`` so restarts keep the same log identity."""
    path = Path(settings.var_dir) / "ledger-keys.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if stored.get("origin") != origin:
        stored = {
            "origin": origin,
            "log": Signer.generate(origin).skey,
            "witness": Signer.generate(f"{origin}/witness", SIG_COSIGNATURE_V1).skey,
            "consortium": secrets.token_hex(32),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    return stored


def build_ledger_service(
    *,
    settings: Settings,
    database: Database,
    http: httpx.AsyncClient | None = None,
    clock: Clock | None = None,
) -> LedgerService:
    """The one ledger service of a deployment, from settings (keys, peers, witnesses)."""
    origin = settings.ledger_origin or default_origin(settings)
    log_key = settings.ledger_signing_key.get_secret_value()
    witness_key = settings.ledger_witness_key.get_secret_value()
    consortium = settings.ledger_consortium_key.get_secret_value()
    if not (log_key and witness_key and consortium):
        if settings.mode == "production":
            raise LedgerError(
                "set HONNIN_LEDGER_SIGNING_KEY, HONNIN_LEDGER_WITNESS_KEY and "
                "HONNIN_LEDGER_CONSORTIUM_KEY"
            )
        generated = _load_or_create_keys(settings, origin)
        log_key = log_key or generated["log"]
        witness_key = witness_key or generated["witness"]
        consortium = consortium or generated["consortium"]
    peers = [
        Peer(origin=p["origin"], url=p["url"], log_key=Verifier.from_vkey(p["log_key"]))
        for p in settings.ledger_peers
    ]
    witnesses = [
        Witness(url=w["url"], key=Verifier.from_vkey(w["key"])) for w in settings.ledger_witnesses
    ]
    if peers and settings.ledger_witness_quorum > len(witnesses):
        raise LedgerError("HONNIN_LEDGER_WITNESS_QUORUM exceeds the configured witnesses")
    return LedgerService(
        database=database,
        log_signer=Signer.from_skey(log_key),
        witness_signer=Signer.from_skey(witness_key),
        consortium_key=consortium.encode(),
        peers=peers,
        witnesses=witnesses,
        quorum=settings.ledger_witness_quorum,
        policy=LookupPolicy(
            accepted_methods=tuple(settings.ledger_accepted_methods),
            max_age_days=settings.ledger_lookup_max_age_days,
            rate_per_minute=settings.ledger_lookup_rate_per_minute,
            salt_retention_days=settings.ledger_salt_retention_days,
        ),
        http=http,
        clock=(clock or SystemClock()).now,
        batch_size=settings.ledger_batch_size,
    )
