"""The bank-inquiry use case.

create -> (user) start at Honnin -> bank login + consent -> callback -> token exchange ->
KYC fetch -> declarative mapping to OIDC4IDA -> match against the applicant -> result,
trace event and webhook outbox row, written together.

Every state change is a guarded write (:meth:`honnin.db.Database.write`): the inquiry's
``INSERT`` or guarded ``UPDATE`` with the rows that go with it (trace event, receipt,
outbox row), atomic, and one statement on PostgreSQL.

A callback claims its inquiry by consuming the state digest in a conditional UPDATE, so
a replayed or concurrent callback finds nothing to claim. Bank I/O happens outside any
database transaction; the outcome is then written with a status guard, so an inquiry
moves out of ``pending_consent`` exactly once and nothing is half-written.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar, cast

import structlog
from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    bindparam,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from honnin.banks.connection import BankConnection
from honnin.banks.connector import BankConnector
from honnin.banks.errors import BanksError
from honnin.banks.mapping import load_mapping
from honnin.banks.profiles import ConnectionProfiles
from honnin.clock import Clock
from honnin.contracts.core import ContractTerms
from honnin.contracts.models import Enterprise
from honnin.contracts.service import ContractService
from honnin.db import Database, GuardedWrite, NewRow, new_rows
from honnin.errors import HonninError
from honnin.ids import new_id
from honnin.inquiries import core
from honnin.inquiries.errors import (
    IdempotencyConflictError,
    InquiryNotFoundError,
    InvalidApplicantError,
    InvalidCallbackError,
    InvalidCursorError,
)
from honnin.inquiries.models import Inquiry, WebhookDelivery
from honnin.matching.claims import match_applicant
from honnin.matching.errors import MatchingError
from honnin.security.aead import KeyRing

T = TypeVar("T")


class EventSink(Protocol):
    """Where distribution events go (the trace package), with the state change they
    describe: added to the caller's async session, or given as a row for a guarded write
    (:meth:`honnin.db.Database.write`)."""

    async def record(self, session: AsyncSession, /, *, kind: str, **fields: Any) -> None: ...

    def event_row(self, *, kind: str, **fields: Any) -> NewRow | None: ...


class NullEventSink:
    async def record(self, session: AsyncSession, /, *, kind: str, **fields: Any) -> None:  # noqa: ARG002
        return None

    def event_row(self, *, kind: str, **fields: Any) -> NewRow | None:  # noqa: ARG002
        return None


class IssuedLink(Protocol):
    @property
    def url(self) -> str: ...


class ReceiptIssuer(Protocol):
    """Issues the user's receipt link after consent (the trace package): the row to
    insert with the consent, and the link it gives."""

    def receipt_row(
        self,
        *,
        object_id: str,
        enterprise_id: str | None = None,
        bank_id: str | None = None,
        purpose: str | None = None,
    ) -> tuple[NewRow, IssuedLink]: ...


class BankGuard(Protocol):
    """Flow control around every call to a bank (in-flight cap, rate, breaker, retries
    for idempotent calls): :class:`honnin.banks.flow.BankFlow`."""

    async def call(
        self, bank_id: str, fn: Callable[[], Awaitable[T]], *, idempotent: bool = False
    ) -> T: ...


class UnguardedBanks:
    """No flow control: each call goes straight to the bank."""

    async def call(
        self,
        bank_id: str,  # noqa: ARG002 - the protocol's shape
        fn: Callable[[], Awaitable[T]],
        *,
        idempotent: bool = False,  # noqa: ARG002 - the protocol's shape
    ) -> T:
        return await fn()


class Admission(Protocol):
    """The gateway's per-contract policy and plugin hooks (:class:`GatewayService`)."""

    async def admit(
        self,
        *,
        enterprise_id: str,
        api: str,
        bank_id: str | None = None,
        terms: ContractTerms | None = None,
        purpose: str | None = None,
        claims: Sequence[str] = (),
    ) -> dict[str, str]: ...

    async def after_bank_response(
        self, *, enterprise_id: str, bank_id: str, purpose: str, record: dict[str, Any]
    ) -> dict[str, Any]: ...

    async def before_delivery(
        self, *, enterprise_id: str, bank_id: str, purpose: str, result: dict[str, Any]
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CreatedInquiry:
    id: str
    status: str
    authorization_url: str
    expires_at: datetime
    rate_limit_headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InquiryView:
    id: str
    status: str
    bank_id: str
    purpose: str
    claims: tuple[str, ...]
    failure_code: str | None
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    authorization_url: str | None
    result: Mapping[str, Any] | None
    result_digest: str | None
    match_overall: str | None
    purged: bool


@dataclass(frozen=True, slots=True)
class InquirySummary:
    """An inquiry as a listing shows it: its status and outcome, never its data."""

    id: str
    status: str
    bank_id: str
    purpose: str
    claims: tuple[str, ...]
    failure_code: str | None
    match_overall: str | None
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    result_read_at: datetime | None
    purged: bool


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, newest first; ``next_cursor`` asks for the next one (None:
    this was the last)."""

    items: list[T]
    next_cursor: str | None


def page_query(
    table: Table,
    columns: Sequence[Any],
    *,
    enterprise_id: str,
    conditions: Sequence[ColumnElement[bool]],
    cursor: str | None,
    limit: int,
) -> Select[Any]:
    """One page of ``table``'s rows of ``enterprise_id`` newest first over
    ``(created_at, id)``, one row more than ``limit`` (to tell whether another page
    follows). A keyset page, not an offset: an index on ``(enterprise_id, created_at,
    id)`` serves every page alike, and rows added meanwhile neither repeat nor hide rows.
    Raises :class:`InvalidCursorError` for a cursor this API did not hand out."""
    query = select(*columns).where(table.c.enterprise_id == enterprise_id, *conditions)
    if cursor is not None:
        try:
            after = core.decode_cursor(cursor)
        except core.CursorError as exc:
            raise InvalidCursorError("cursor is not one this API returned") from exc
        # Bound with the columns' own types (UTCDateTime stores naive UTC on SQLite).
        position = tuple_(
            literal(after.created_at, table.c.created_at.type), literal(after.id, table.c.id.type)
        )
        query = query.where(tuple_(table.c.created_at, table.c.id) < position)
    return query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)


def page_of(rows: Sequence[Any], limit: int, item: Callable[[Any], T]) -> Page[T]:
    """The page of the (``limit`` + 1) ``rows`` a :func:`page_query` read."""
    items = [item(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = core.encode_cursor(core.PagePosition(created_at=last.created_at, id=last.id))
    return Page(items=items, next_cursor=next_cursor)


@dataclass(frozen=True, slots=True)
class _Pending:
    """What finishing a pending inquiry needs, read once (with the enterprise's webhook URL)."""

    id: str
    enterprise_id: str
    bank_id: str
    purpose: str
    claims: list[str]
    return_url: str
    created_at: datetime
    expires_at: datetime
    sealed_applicant: bytes
    sealed_flow_secrets: bytes | None
    webhook_url: str | None


# Core statements on the hot path, built once: the unit of work's bookkeeping (identity
# map, flush planning) and building a statement's expression tree and cache key on every
# call cost more than executing it. Values travel as bound parameters.
_INQUIRIES = cast("Table", Inquiry.__table__)
_WEBHOOK_DELIVERIES = cast("Table", WebhookDelivery.__table__)
_ENTERPRISES = cast("Table", Enterprise.__table__)
# Table columns, not the mapped attributes: a statement naming an ORM entity takes the
# ORM's execution path (entity loading, statement annotation) even for plain rows.
_I = _INQUIRIES.c
_PENDING_COLUMNS = (
    *(_I[f.name] for f in dataclasses.fields(_Pending) if f.name != "webhook_url"),
    _ENTERPRISES.c.webhook_url,
)
_VIEW_COLUMNS = (
    _I.id,
    _I.enterprise_id,
    _I.status,
    _I.bank_id,
    _I.purpose,
    _I.claims,
    _I.failure_code,
    _I.created_at,
    _I.expires_at,
    _I.finished_at,
    _I.sealed_flow_secrets,
    _I.sealed_result,
    _I.result_digest,
    _I.match_overall,
    _I.delivered_at,
    _I.purged_at,
)


def _select_pending() -> Select[Any]:
    return (
        select(*_PENDING_COLUMNS)
        .join(_ENTERPRISES, _ENTERPRISES.c.id == _I.enterprise_id)
        .where(_I.status == core.PENDING)
    )


_SUMMARY_COLUMNS = (
    _I.id,
    _I.status,
    _I.bank_id,
    _I.purpose,
    _I.claims,
    _I.failure_code,
    _I.match_overall,
    _I.created_at,
    _I.expires_at,
    _I.finished_at,
    _I.delivered_at,
    _I.purged_at,
)


def _summary(row: Row[Any]) -> InquirySummary:
    return InquirySummary(
        id=row.id,
        status=row.status,
        bank_id=row.bank_id,
        purpose=row.purpose,
        claims=tuple(row.claims),
        failure_code=row.failure_code,
        match_overall=row.match_overall,
        created_at=row.created_at,
        expires_at=row.expires_at,
        finished_at=row.finished_at,
        result_read_at=row.delivered_at,
        purged=row.purged_at is not None,
    )


_INSERT_INQUIRY = insert(_INQUIRIES)
_SELECT_START = select(
    _I.id, _I.status, _I.expires_at, _I.bank_id, _I.claims, _I.sealed_flow_secrets
).where(_I.start_token_digest == bindparam("b_digest"))
_SELECT_PENDING_BY_STATE = _select_pending().where(_I.state_digest == bindparam("b_state"))
_SELECT_IDEMPOTENT = select(
    _I.id, _I.status, _I.expires_at, _I.request_digest, _I.sealed_flow_secrets
).where(_I.enterprise_id == bindparam("b_enterprise_id"), _I.idempotency_key == bindparam("b_key"))
_SELECT_VIEW = select(*_VIEW_COLUMNS).where(_I.id == bindparam("b_id"))
_MARK_DELIVERED = (
    update(_INQUIRIES)
    .where(_I.id == bindparam("b_id"), _I.delivered_at.is_(None))
    .values(delivered_at=bindparam("b_now"))
)
_CLAIM_WITH_CONSENT = (
    update(_INQUIRIES)
    .where(
        _I.id == bindparam("b_id"),
        _I.state_digest == bindparam("b_state"),
        _I.status == core.PENDING,
    )
    .values(state_digest=bindparam("b_consumed"), consented_at=bindparam("b_now"))
)
# The SET columns of a final transition are the parameters' keys (they vary with outcome).
_FINISH = update(_INQUIRIES).where(_I.id == bindparam("b_id"), _I.status == core.PENDING)
_FINISH_CLAIMING = _FINISH.where(_I.state_digest == bindparam("b_state"))


@dataclass(frozen=True)
class CallbackOutcome:
    inquiry_id: str
    status: str
    return_url: str
    receipt_url: str | None = None


@dataclass(frozen=True)
class _FlowSecrets:
    state: str
    nonce: str
    code_verifier: str
    start_token: str


log = structlog.get_logger("honnin.inquiries")


def _aad(inquiry_id: str, name: str) -> bytes:
    return f"bank_inquiries:{inquiry_id}:{name}".encode()


def _consumed(inquiry_id: str) -> str:
    """What a state digest becomes once its callback arrived (never a valid digest)."""
    return "used:" + inquiry_id


class InquiryService:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        key_ring: KeyRing,
        contracts: ContractService,
        profiles: ConnectionProfiles,
        connector: BankConnector,
        base_url: str,
        consent_ttl: timedelta,
        retention: timedelta,
        events: EventSink | None = None,
        guard: BankGuard | None = None,
        on_finished: Callable[[], None] | None = None,
        admission: Admission | None = None,
        receipts: ReceiptIssuer | None = None,
    ) -> None:
        self._admission = admission
        self._receipts = receipts
        self._on_finished = on_finished
        self._database = database
        self._clock = clock
        self._key_ring = key_ring
        self._contracts = contracts
        self._profiles = profiles
        self._connector = connector
        self._base_url = base_url.rstrip("/")
        self._consent_ttl = consent_ttl
        self._retention = retention
        self._events = events or NullEventSink()
        self._guard = guard or UnguardedBanks()

    @property
    def events(self) -> EventSink:
        return self._events

    # -- create --------------------------------------------------------------------------

    async def create(
        self,
        *,
        enterprise_id: str,
        bank_id: str,
        purpose: str,
        claims: Sequence[str],
        applicant: Mapping[str, Any],
        return_url: str,
        idempotency_key: str | None,
    ) -> CreatedInquiry:
        request_digest = core.content_digest(
            {
                "bank_id": bank_id,
                "purpose": purpose,
                "claims": sorted(claims),
                "applicant": dict(applicant),
                "return_url": return_url,
            }
        )
        if idempotency_key is not None:
            earlier = await self._replay(enterprise_id, idempotency_key, request_digest)
            if earlier is not None:
                return earlier
        # The contract look-up is cached: the session takes a connection only on a miss,
        # and only reads. (The request transaction the handler once opened around all of
        # create cost 0.12 ms for nothing: docs/benchmarks.md, inquiry, eleventh round.)
        async with self._database.sessions() as session:
            contract = await self._contracts.authorize(
                session,
                enterprise_id=enterprise_id,
                bank_id=bank_id,
                claims=claims,
                purpose=purpose,
            )
        rate_headers: dict[str, str] = {}
        if self._admission is not None:
            # The contract's own per-bank rate and daily quota (429 with Retry-After).
            rate_headers = await self._admission.admit(
                enterprise_id=enterprise_id,
                api="bank-inquiries",
                bank_id=bank_id,
                terms=contract,
                purpose=purpose,
                claims=claims,
            )
        try:
            match_applicant(dict(applicant), {"claims": {}})
        except MatchingError as exc:
            raise InvalidApplicantError(exc.safe_message) from exc
        await self._profiles.open(self._database, bank_id)  # refuse unconfigured banks now

        now = self._clock.now()
        inquiry_id = new_id("inq")
        flow = _FlowSecrets(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48),
            start_token=secrets.token_urlsafe(32),
        )
        expires_at = now + self._consent_ttl
        stored_claims = sorted(set(claims))
        row = {
            "id": inquiry_id,
            "enterprise_id": enterprise_id,
            "bank_id": bank_id,
            "contract_id": contract.id,
            "purpose": purpose,
            "claims": stored_claims,
            "return_url": return_url,
            "status": core.PENDING,
            "start_token_digest": core.token_digest(flow.start_token),
            "state_digest": core.token_digest(flow.state),
            "sealed_applicant": self._seal(inquiry_id, "applicant", dict(applicant)),
            "sealed_flow_secrets": self._seal(inquiry_id, "flow", flow.__dict__),
            "idempotency_key": idempotency_key,
            "request_digest": request_digest,
            "created_at": now,
            "expires_at": expires_at,
        }

        event = self._events.event_row(
            kind="inquiry.created",
            object_id=inquiry_id,
            enterprise_id=enterprise_id,
            bank_id=bank_id,
            method="bank_inquiry",
            claims=stored_claims,
            purpose=purpose,
            outcome="pending_consent",
        )
        try:
            await self._database.write(GuardedWrite(_INSERT_INQUIRY, row, new_rows(event)))
        except IntegrityError:
            # The same Idempotency-Key in two requests at once: the other one's inquiry.
            earlier = (
                await self._replay(enterprise_id, idempotency_key, request_digest)
                if idempotency_key is not None
                else None
            )
            if earlier is None:
                raise
            return earlier
        return self._created(inquiry_id, core.PENDING, expires_at, flow, rate_headers)

    async def _replay(
        self, enterprise_id: str, idempotency_key: str, request_digest: str
    ) -> CreatedInquiry | None:
        """The inquiry an earlier request with this key created, if any."""
        existing = await self._database.first(
            _SELECT_IDEMPOTENT, {"b_enterprise_id": enterprise_id, "b_key": idempotency_key}
        )
        if existing is None:
            return None
        if existing.request_digest != request_digest:
            raise IdempotencyConflictError("this Idempotency-Key was used with a different request")
        return self._created(
            existing.id,
            existing.status,
            existing.expires_at,
            self._flow_secrets(existing.id, existing.sealed_flow_secrets),
        )

    def _created(
        self,
        inquiry_id: str,
        status: str,
        expires_at: datetime,
        flow: _FlowSecrets | None,
        headers: Mapping[str, str] | None = None,
    ) -> CreatedInquiry:
        url = self._start_url(flow) if flow else ""
        return CreatedInquiry(
            id=inquiry_id,
            status=status,
            authorization_url=url,
            expires_at=expires_at,
            rate_limit_headers=dict(headers or {}),
        )

    def _start_url(self, flow: _FlowSecrets) -> str:
        return f"{self._base_url}/broker/start/{flow.start_token}"

    # -- read ----------------------------------------------------------------------------

    async def get(self, *, enterprise_id: str, inquiry_id: str) -> InquiryView:
        row = await self._database.first(_SELECT_VIEW, {"b_id": inquiry_id})
        # Another enterprise's inquiry is indistinguishable from a missing one.
        if row is None or row.enterprise_id != enterprise_id:
            raise InquiryNotFoundError(f"no inquiry {inquiry_id}")
        result = None
        if row.sealed_result is not None:
            result = self._open(row.id, "result", row.sealed_result)
            if row.delivered_at is None:
                await self._mark_delivered(row, result)
        flow = (
            self._flow_secrets(row.id, row.sealed_flow_secrets)
            if row.status == core.PENDING
            else None
        )
        return InquiryView(
            id=row.id,
            status=row.status,
            bank_id=row.bank_id,
            purpose=row.purpose,
            claims=tuple(row.claims),
            failure_code=row.failure_code,
            created_at=row.created_at,
            expires_at=row.expires_at,
            finished_at=row.finished_at,
            authorization_url=self._start_url(flow) if flow else None,
            result=result,
            result_digest=row.result_digest,
            match_overall=row.match_overall,
            purged=row.purged_at is not None,
        )

    async def page(
        self,
        *,
        enterprise_id: str,
        status: str | None = None,
        bank_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[InquirySummary]:
        """The enterprise's inquiries, newest first, optionally of one status or bank.

        A listing shows statuses and outcomes only: reading one inquiry is what hands over
        its data (and records that it was delivered), so listing never does."""
        conditions = []
        if status is not None:
            conditions.append(_I.status == status)
        if bank_id is not None:
            conditions.append(_I.bank_id == bank_id)
        query = page_query(
            _INQUIRIES,
            _SUMMARY_COLUMNS,
            enterprise_id=enterprise_id,
            conditions=conditions,
            cursor=cursor,
            limit=limit,
        )
        rows = await self._database.read(lambda connection: list(connection.execute(query)))
        return page_of(rows, limit, _summary)

    async def _mark_delivered(self, row: Row[Any], result: Mapping[str, Any]) -> None:
        """The first time the enterprise reads the data is when it was delivered; of two
        first reads at once, one records it (the guard: ``delivered_at IS NULL``)."""
        event = self._event(
            row,
            kind="delivered",
            outcome="delivered",
            claims=sorted(result["verified_claims"]["claims"]),
        )
        values = {"b_id": row.id, "b_now": self._clock.now()}
        await self._database.write(GuardedWrite(_MARK_DELIVERED, values, new_rows(event)))

    # -- the user's way through the bank ----------------------------------------------------

    async def authorization_redirect(self, start_token: str) -> str:
        """Where the bank's consent begins for the user holding ``start_token``."""
        digest = core.token_digest(start_token)
        row = await self._database.first(_SELECT_START, {"b_digest": digest})
        if row is None:
            raise InvalidCallbackError("this link is not valid")
        if row.status != core.PENDING or self._clock.now() >= row.expires_at:
            raise InvalidCallbackError("this identity check has already ended")
        flow = self._flow_secrets(row.id, row.sealed_flow_secrets)
        if flow is None:
            raise InvalidCallbackError("this identity check has already ended")
        connection = await self._profiles.open(self._database, row.bank_id)
        claims = list(row.claims)
        scope = connection.scopes_for(claims)
        return await self._guard.call(
            connection.bank_id,
            lambda: self._connector.authorization_url(
                connection,
                state=flow.state,
                nonce=flow.nonce,
                code_verifier=flow.code_verifier,
                scope=scope,
            ),
        )

    async def handle_callback(self, params: Mapping[str, str]) -> CallbackOutcome:
        """The bank sent the user back: finish the inquiry one way or another.

        The inquiry is claimed by consuming its state digest in a guarded UPDATE before any
        bank I/O: together with the consent record when the user consented, or together
        with the final status when the answer already decides the outcome.
        """
        state = params.get("state", "")
        if not state:
            raise InvalidCallbackError("the bank's answer has no state")
        state_digest = core.token_digest(state)
        found = await self._database.first(_SELECT_PENDING_BY_STATE, {"b_state": state_digest})
        if found is None:
            raise InvalidCallbackError("this answer is unknown or was already used")
        row = _Pending(*cast("tuple[Any, ...]", found))
        connection = await self._profiles.open(self._database, row.bank_id)
        flow = self._flow_secrets(row.id, row.sealed_flow_secrets)
        if flow is None:
            raise InvalidCallbackError("this answer is unknown or was already used")
        verdict = core.callback_verdict(
            expired=self._clock.now() >= row.expires_at,
            issuer_problem=await self._check_issuer(connection, params.get("iss")),
            error=params.get("error"),
            code=params.get("code"),
        )
        if verdict is not None:
            status, failure_code = verdict
            return await self._finish(row, status, failure_code=failure_code, claim=state_digest)
        code = params["code"]
        receipt_url = await self._claim_with_consent(row, state_digest)
        try:
            verified_claims, raw = await self._fetch(
                connection, code=code, flow=flow, claims=row.claims
            )
            applicant = self._open(row.id, "applicant", row.sealed_applicant)
            if self._admission is not None:
                verified_claims = await self._admission.after_bank_response(
                    enterprise_id=row.enterprise_id,
                    bank_id=row.bank_id,
                    purpose=row.purpose,
                    record=verified_claims,
                )
            released = core.release_claims(verified_claims, row.claims)
            result = {
                "verified_claims": released,
                "match": match_applicant(applicant, released).to_dict(),
            }
            if self._admission is not None:
                result = await self._admission.before_delivery(
                    enterprise_id=row.enterprise_id,
                    bank_id=row.bank_id,
                    purpose=row.purpose,
                    result=result,
                )
        except HonninError as exc:
            # Bank faults, flow-control refusals, unmappable payloads: a clear final status.
            return await self._finish(row, core.FAILED, failure_code=exc.code)
        except Exception:
            # The state is consumed, so the inquiry must end here rather than linger.
            log.exception("inquiry processing failed", inquiry_id=row.id)
            return await self._finish(row, core.FAILED, failure_code="internal_error")
        outcome = await self._finish(row, core.COMPLETED, result=result, raw=raw)
        return dataclasses.replace(outcome, receipt_url=receipt_url)

    async def _check_issuer(self, connection: BankConnection, iss: str | None) -> str | None:
        """RFC 9207: the ``iss`` parameter must name the bank we sent the user to."""
        try:
            metadata = await self._connector.metadata(connection)
        except BanksError as exc:
            return exc.code
        if iss is not None and iss != connection.issuer:
            return "issuer_mismatch"
        if iss is None and metadata.get("authorization_response_iss_parameter_supported"):
            return "issuer_missing"
        return None

    async def _claim_with_consent(self, row: _Pending, state_digest: str) -> str | None:
        """Consume the state and record the consent (and the user's receipt), in one
        guarded write; returns the receipt URL. A replayed or concurrent callback finds the
        state already consumed and changes nothing."""

        rows = new_rows(self._event(row, kind="consent.given", outcome="consented"))
        receipt_url = None
        if self._receipts is not None:
            receipt, link = self._receipts.receipt_row(
                object_id=row.id,
                enterprise_id=row.enterprise_id,
                bank_id=row.bank_id,
                purpose=row.purpose,
            )
            rows.append(receipt)
            receipt_url = link.url
        values = {
            "b_id": row.id,
            "b_state": state_digest,
            "b_consumed": _consumed(row.id),
            "b_now": self._clock.now(),
        }
        if not await self._database.write(GuardedWrite(_CLAIM_WITH_CONSENT, values, rows)):
            raise InvalidCallbackError("this answer is unknown or was already used")
        return receipt_url

    async def _fetch(
        self,
        connection: BankConnection,
        *,
        code: str,
        flow: _FlowSecrets,
        claims: Sequence[str],
    ) -> tuple[dict[str, Any], bytes]:
        # A code is single-use, so its exchange is never retried; the KYC read may be.
        token = await self._guard.call(
            connection.bank_id,
            lambda: self._connector.exchange_code(
                connection, code=code, code_verifier=flow.code_verifier, nonce=flow.nonce
            ),
        )
        kyc = await self._guard.call(
            connection.bank_id,
            lambda: self._connector.fetch_kyc(connection, access_token=token.access_token),
            idempotent=True,
        )
        mapping = load_mapping(connection.mapping)
        verified = mapping.apply(
            kyc.body,
            content_type=kyc.content_type,
            bank_id=connection.bank_id,
            fetched_at=self._clock.now(),
            only_claims=claims,
        )
        return verified, kyc.body

    async def _finish(
        self,
        row: _Pending,
        status: str,
        *,
        failure_code: str | None = None,
        result: dict[str, Any] | None = None,
        raw: bytes | None = None,
        claim: str | None = None,
    ) -> CallbackOutcome:
        """Move ``row`` (as read while pending) to its final status, exactly once.

        The UPDATE is guarded by ``status = pending`` (and by the state digest when
        ``claim`` consumes it here), so of two finishers only one writes; the other gets
        :class:`InvalidCallbackError` and nothing it would have written.
        """
        now = self._clock.now()
        inquiry_id = row.id
        values: dict[str, Any] = {
            "status": status,
            "failure_code": failure_code,
            "finished_at": now,
            "sealed_flow_secrets": None,
            "purge_after": now + self._retention,
        }
        if result is not None:
            values["sealed_result"] = self._seal(inquiry_id, "result", result)
            values["result_digest"] = core.content_digest(result)
            values["match_overall"] = result["match"]["overall"]
        if raw is not None:
            values["sealed_bank_payload"] = self._key_ring.encrypt(
                raw, associated_data=_aad(inquiry_id, "bank_payload")
            )
        statement = _FINISH
        values["b_id"] = inquiry_id
        if claim is not None:
            statement = _FINISH_CLAIMING
            values["b_state"] = claim
            values["state_digest"] = _consumed(inquiry_id)

        rows = new_rows(
            self._final_event(row, status=status, failure_code=failure_code, now=now, result=result)
        )
        webhook = self._webhook_row(row, status=status, failure_code=failure_code, now=now)
        if webhook is not None:
            rows.append(webhook)
        if not await self._database.write(GuardedWrite(statement, values, rows)):
            raise InvalidCallbackError("this identity check has already ended")
        if webhook is not None and self._on_finished is not None:
            self._on_finished()
        return CallbackOutcome(inquiry_id=inquiry_id, status=status, return_url=row.return_url)

    def _final_event(
        self,
        row: _Pending,
        *,
        status: str,
        failure_code: str | None,
        now: datetime,
        result: Mapping[str, Any] | None,
    ) -> NewRow | None:
        """The one trace event of the final transition."""
        latency_ms = int((now - row.created_at).total_seconds() * 1000)
        if status == core.COMPLETED and result is not None:
            released = result["verified_claims"]["claims"]
            return self._event(
                row,
                kind="bank.fetched",
                outcome=result["match"]["overall"],
                claims=sorted(released),
                latency_ms=latency_ms,
                subject=core.subject_attributes(released),
            )
        kind = {
            core.DENIED: "consent.refused",
            core.EXPIRED: "inquiry.expired",
            core.FAILED: "inquiry.failed",
        }[status]
        return self._event(row, kind=kind, outcome=failure_code or status, latency_ms=latency_ms)

    def _event(
        self, row: _Pending | Row[Any], *, kind: str, outcome: str, **fields: Any
    ) -> NewRow | None:
        """An event of ``row``'s inquiry, for a guarded write; its claims are those the
        inquiry asked for unless ``fields`` names others."""
        fields.setdefault("claims", row.claims)
        return self._events.event_row(
            kind=kind,
            object_id=row.id,
            enterprise_id=row.enterprise_id,
            bank_id=row.bank_id,
            method="bank_inquiry",
            purpose=row.purpose,
            outcome=outcome,
            **fields,
        )

    def _webhook_row(
        self,
        row: _Pending,
        *,
        status: str,
        failure_code: str | None,
        now: datetime,
    ) -> NewRow | None:
        """The webhook of the final transition, for the outbox; None when the enterprise
        has no webhook URL.

        The URL was read with the pending inquiry; one changed since then applies to the
        next inquiry (the dispatcher sends to the URL current at delivery time)."""
        if not row.webhook_url:
            return None
        return NewRow(
            _WEBHOOK_DELIVERIES,
            {
                "id": new_id("msg"),
                "enterprise_id": row.enterprise_id,
                "object_id": row.id,
                "event_type": core.WEBHOOK_EVENT,
                "payload": core.webhook_payload(
                    inquiry_id=row.id,
                    status=status,
                    failure_code=failure_code,
                    finished_at=now.isoformat(),
                ),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )

    # -- housekeeping ----------------------------------------------------------------------

    async def expire_overdue(self, *, limit: int = 100) -> int:
        """Pending inquiries whose consent window closed become ``expired``."""
        now = self._clock.now()
        async with self._database.session() as session:
            found = (
                await session.execute(_select_pending().where(_I.expires_at <= now).limit(limit))
            ).all()
        done = 0
        for row in (_Pending(*values) for values in found):
            try:
                await self._finish(row, core.EXPIRED, failure_code="consent_expired")
                done += 1
            except InvalidCallbackError:
                continue  # finished meanwhile by its callback
        return done

    async def purge_due(self, *, limit: int = 500) -> int:
        """Drop personal data past retention; the outcome and digests stay."""
        now = self._clock.now()
        async with self._database.transaction() as session:
            rows = (
                await session.scalars(
                    select(Inquiry)
                    .where(Inquiry.purge_after <= now, Inquiry.purged_at.is_(None))
                    .limit(limit)
                )
            ).all()
            for row in rows:
                row.sealed_applicant = b""
                row.sealed_result = None
                row.sealed_bank_payload = None
                row.sealed_flow_secrets = None
                row.purged_at = now
                await self._events.record(
                    session,
                    kind="data.purged",
                    object_id=row.id,
                    enterprise_id=row.enterprise_id,
                    bank_id=row.bank_id,
                    method="bank_inquiry",
                    claims=row.claims,
                    outcome="purged",
                )
            return len(rows)

    # -- sealing ---------------------------------------------------------------------------

    def _seal(self, inquiry_id: str, name: str, value: Any) -> bytes:
        return self._key_ring.encrypt(
            core.canonical_json(value), associated_data=_aad(inquiry_id, name)
        )

    def _open(self, inquiry_id: str, name: str, sealed: bytes) -> Any:
        return json.loads(self._key_ring.decrypt(sealed, associated_data=_aad(inquiry_id, name)))

    def _flow_secrets(self, inquiry_id: str, sealed: bytes | None) -> _FlowSecrets | None:
        if sealed is None:
            return None
        data = self._open(inquiry_id, "flow", sealed)
        return _FlowSecrets(**data)
