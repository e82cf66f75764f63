"""The gateway policy chain as one service: closures, limits, quotas, plugin hooks.

Built once by the app factory (:func:`build_gateway`) and kept on ``app.state.gateway``.
Each enterprise request is admitted in this order, cheapest refusal first:

1. operator closures of the API, the enterprise or the bank (503 ``service_closed``);
2. requests per second for (enterprise, API[, bank]) - 429 ``rate_limited``;
3. requests per UTC day for the same key, persisted - 429 ``quota_exceeded``;
4. plugin ``before_call`` hooks.

Limits come from the contract for bank-bound requests (``rate_per_second``,
``daily_quota``) and from ``gateway_default_*`` settings otherwise or where the contract
leaves them open. Admitted requests get ``RateLimit-Policy`` / ``RateLimit`` fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from honnin.audit.service import AuditService
from honnin.banks.flow import BankFlow
from honnin.clock import Clock
from honnin.contracts.core import ContractTerms
from honnin.db import Database
from honnin.gateway.closures import ClosureService
from honnin.gateway.plugins import CallContext, PluginRegistry
from honnin.gateway.quotas import EnterpriseLimiter, headers, rate_storage

if TYPE_CHECKING:
    from honnin.config import Settings


class GatewayService:
    def __init__(
        self,
        *,
        closures: ClosureService,
        limiter: EnterpriseLimiter,
        plugins: PluginRegistry,
        bank_flow: BankFlow,
        default_rate_per_second: int,
        default_daily_quota: int,
    ) -> None:
        self.closures = closures
        self.bank_flow = bank_flow
        self.limiter = limiter
        self.plugins = plugins
        self._default_rate = default_rate_per_second
        self._default_quota = default_daily_quota

    async def admit(
        self,
        *,
        enterprise_id: str,
        api: str,
        bank_id: str | None = None,
        terms: ContractTerms | None = None,
        purpose: str | None = None,
        claims: Sequence[str] = (),
        method: str = "",
        path: str = "",
    ) -> dict[str, str]:
        """Admit one enterprise request or raise; returns the response header fields.

        Bank-bound APIs (the inquiry broker) pass ``bank_id`` and the contract ``terms``
        from :meth:`ContractService.authorize`; their limits count per bank.
        """
        await self.closures.check(api=api, enterprise_id=enterprise_id, bank_id=bank_id)
        rate = (terms.rate_per_second if terms else None) or self._default_rate
        quota = (terms.daily_quota if terms else None) or self._default_quota
        key = f"{api}:{bank_id}" if bank_id else api
        second, day = await self.limiter.admit(
            enterprise_id=enterprise_id, api=key, rate_per_second=rate, daily_quota=quota
        )
        if self.plugins:
            await self.plugins.before_call(
                CallContext(
                    api=api,
                    enterprise_id=enterprise_id,
                    bank_id=bank_id,
                    purpose=purpose,
                    claims=tuple(claims),
                    method=method,
                    path=path,
                )
            )
        return headers(second, day)

    async def after_bank_response(
        self, *, enterprise_id: str, bank_id: str, purpose: str, record: dict[str, Any]
    ) -> dict[str, Any]:
        """Plugin hook on the mapped bank record (before claims are released and matched)."""
        if not self.plugins:
            return record
        ctx = CallContext(
            api="bank-inquiries", enterprise_id=enterprise_id, bank_id=bank_id, purpose=purpose
        )
        return await self.plugins.after_bank_response(ctx, record)

    async def before_delivery(
        self, *, enterprise_id: str, bank_id: str, purpose: str, result: dict[str, Any]
    ) -> dict[str, Any]:
        """Plugin hook on the result an enterprise will receive."""
        if not self.plugins:
            return result
        ctx = CallContext(
            api="bank-inquiries", enterprise_id=enterprise_id, bank_id=bank_id, purpose=purpose
        )
        return await self.plugins.before_delivery(ctx, result)

    async def aclose(self) -> None:
        await self.limiter.release_reservations()
        await self.bank_flow.aclose()
        storage = self.limiter.storage
        close = getattr(storage, "close", None)
        if close is not None:
            await close()


def build_gateway(
    settings: Settings,
    *,
    database: Database,
    clock: Clock,
    audit: AuditService,
    plugins: PluginRegistry | None = None,
) -> GatewayService:
    """The gateway (and per-bank flow control) of one process.

    Plugins default to the installed ``honnin.plugins`` entry points.
    """
    closures = ClosureService(
        database=database,
        clock=clock,
        audit=audit,
        ttl_seconds=settings.gateway_cache_ttl_seconds,
        default_retry_after=settings.gateway_closed_retry_after_seconds,
    )
    limiter = EnterpriseLimiter(
        database=database, clock=clock, storage=rate_storage(settings.redis_url)
    )
    if plugins is None:
        plugins = PluginRegistry.from_entry_points(options=settings.gateway_plugin_options)
    return GatewayService(
        closures=closures,
        limiter=limiter,
        plugins=plugins,
        bank_flow=BankFlow.from_settings(settings, gate=closures),
        default_rate_per_second=settings.gateway_default_rate_per_second,
        default_daily_quota=settings.gateway_default_daily_quota,
    )
