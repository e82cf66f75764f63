"""Operator open/close of a whole API, one bank, or one enterprise's access.

Closures are rows of ``gateway_closures`` (one per scope and target, deleted on reopen),
audited through :class:`~honnin.audit.service.AuditService`. Every request consults them,
so they are read from an in-process snapshot: a change made through this process
invalidates it when its transaction commits; a change made by another process (the CLI,
another app process) is seen within ``gateway_cache_ttl_seconds``. A closure whose
``reopen_at`` has passed stops applying at that instant, without anyone reopening it.

Refusals are 503 with ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3): until ``reopen_at``
when the operator announced one, else ``gateway_closed_retry_after_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.audit.service import AuditService
from honnin.clock import Clock
from honnin.db import Database, conflict_insert
from honnin.db.engine import after_commit
from honnin.gateway.cache import TTLCache
from honnin.gateway.core import Closure, ClosureScope, retry_after, validate_closure
from honnin.gateway.errors import ClosureNotFoundError, ServiceClosedError
from honnin.gateway.models import ServiceClosure


def _closure(row: ServiceClosure) -> Closure:
    return Closure(
        scope=row.scope,  # type: ignore[arg-type]
        target=row.target,
        reason=row.reason,
        reopen_at=row.reopen_at,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
    )


class ClosureService:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        audit: AuditService,
        ttl_seconds: float,
        default_retry_after: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._clock = clock
        self._audit = audit
        self._default_retry_after = default_retry_after
        # One entry, the whole table: a snapshot expiring under load is read once, and a
        # read begun before a change here commits is not kept (TTLCache's generations).
        self._snapshot: TTLCache[str, dict[tuple[str, str], Closure]] = TTLCache(
            ttl=ttl_seconds, monotonic=monotonic
        )

    # -- operator actions ----------------------------------------------------------------

    async def close(
        self,
        session: AsyncSession,
        *,
        scope: str,
        target: str,
        reason: str | None,
        reopen_at: datetime | None,
        actor: str,
    ) -> Closure:
        now = self._clock.now()
        checked = validate_closure(scope, target, reopen_at=reopen_at, now=now)
        values = {
            "reason": reason,
            "reopen_at": reopen_at,
            "closed_by": actor,
            "closed_at": now,
        }
        # An upsert: two operators closing the same thing at once both succeed.
        await session.execute(
            conflict_insert(session.get_bind().dialect.name, ServiceClosure)
            .values(scope=checked, target=target, **values)
            .on_conflict_do_update(index_elements=["scope", "target"], set_=values)
        )
        closure = Closure(
            scope=checked,
            target=target,
            reason=reason,
            reopen_at=reopen_at,
            closed_by=actor,
            closed_at=now,
        )
        await self._audit.record(
            session,
            actor=actor,
            action="service.close",
            object_type=f"service_{checked}",
            object_id=target,
            details={
                "reason": reason,
                "reopen_at": reopen_at.isoformat() if reopen_at else None,
            },
        )
        self._invalidate_on_commit(session)
        return closure

    async def open(self, session: AsyncSession, *, scope: str, target: str, actor: str) -> Closure:
        checked = validate_closure(scope, target, reopen_at=None, now=self._clock.now())
        row = await session.get(ServiceClosure, (checked, target))
        if row is None:
            raise ClosureNotFoundError(f"{scope} {target} is not closed")
        closure = _closure(row)
        await session.delete(row)
        await self._audit.record(
            session,
            actor=actor,
            action="service.open",
            object_type=f"service_{checked}",
            object_id=target,
            details={"closed_by": closure.closed_by, "reason": closure.reason},
        )
        self._invalidate_on_commit(session)
        return closure

    async def list(self, session: AsyncSession) -> list[Closure]:
        rows = (
            await session.scalars(
                select(ServiceClosure).order_by(ServiceClosure.scope, ServiceClosure.target)
            )
        ).all()
        return [_closure(r) for r in rows]

    def invalidate(self) -> None:
        self._snapshot.clear()

    def _invalidate_on_commit(self, session: AsyncSession) -> None:
        self.invalidate()
        after_commit(session, self.invalidate)

    # -- per-request checks ----------------------------------------------------------------

    async def _closures(self) -> dict[tuple[str, str], Closure]:
        return await self._snapshot.get_or_load("all", self._load)

    async def _load(self) -> dict[tuple[str, str], Closure]:
        async with self._database.session() as session:
            rows = (await session.scalars(select(ServiceClosure))).all()
        return {(r.scope, r.target): _closure(r) for r in rows}

    async def active(self, scope: ClosureScope, target: str) -> Closure | None:
        closure = (await self._closures()).get((scope, target))
        if closure is None or not closure.active(self._clock.now()):
            return None
        return closure

    async def bank_closed_for(self, bank_id: str) -> float | None:
        """:class:`honnin.banks.flow.BankGate`: seconds until the bank reopens, or None."""
        closure = await self.active("bank", bank_id)
        if closure is None:
            return None
        return closure.retry_after_seconds(self._clock.now(), default=self._default_retry_after)

    async def check(self, *, api: str, enterprise_id: str, bank_id: str | None = None) -> None:
        """Refuse the request when its API, its enterprise or its bank is closed."""
        snapshot = await self._closures()
        if not snapshot:
            return
        for scope, target, what in (
            ("api", api, f"the {api} API is closed"),
            ("enterprise", enterprise_id, "access for this enterprise is closed"),
            ("bank", bank_id, f"bank {bank_id} is closed"),
        ):
            if target is None:
                continue
            closure = snapshot.get((scope, target))
            now = self._clock.now()
            if closure is not None and closure.active(now):
                wait = closure.retry_after_seconds(now, default=self._default_retry_after)
                raise ServiceClosedError(
                    f"{what} by the operator" + (f": {closure.reason}" if closure.reason else ""),
                    headers={"Retry-After": retry_after(wait)},
                    scope=scope,
                    reopen_at=closure.reopen_at.isoformat() if closure.reopen_at else None,
                )
