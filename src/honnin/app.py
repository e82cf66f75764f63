"""FastAPI application factory: the composition root.

Settings are read here (never at import time); every collaborator (database, clock, key
ring, services) is built once and handed to the services that need it, then exposed to the
routers on ``app.state``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from honnin import __version__
from honnin.audit.service import AuditService
from honnin.auth import api as auth_api
from honnin.auth.keys import SigningKeyStore
from honnin.auth.service import ClientService
from honnin.banks import api as banks_api
from honnin.banks.connector import BankConnector
from honnin.banks.profiles import ConnectionProfiles
from honnin.banks.service import BankConnectionService
from honnin.clock import Clock, SystemClock
from honnin.config import Settings
from honnin.contracts import api as contracts_api
from honnin.contracts.service import ContractService
from honnin.db import Database
from honnin.gateway import ops
from honnin.gateway.cache import CachingContractService
from honnin.gateway.dependencies import parse_admin_tokens
from honnin.gateway.middleware import HttpMetrics, RequestContextMiddleware
from honnin.gateway.policies import install_gateway
from honnin.gateway.problems import install_problem_handlers
from honnin.gateway.service import build_gateway
from honnin.gc_tuning import with_young_collection_threshold
from honnin.http_client import OutboundHttp
from honnin.inquiries import api as inquiries_api
from honnin.inquiries.service import (
    Admission,
    BankGuard,
    EventSink,
    InquiryService,
    ReceiptIssuer,
)
from honnin.inquiries.webhooks import WebhookDispatcher, WebhookKeys
from honnin.inquiries.worker import DeliveryLoop, MaintenanceLoop
from honnin.ledger.api import router as ledger_router
from honnin.ledger.service import build_ledger_service
from honnin.logging import configure_logging
from honnin.security.aead import KeyRing
from honnin.trace import api as trace_api
from honnin.trace import console as trace_console
from honnin.trace.console_auth import console_config
from honnin.trace.service import build_trace_service, start_ledger_publisher
from honnin.verifications import api as verifications_api
from honnin.verifications import console as verifications_console
from honnin.verifications.service import create_verification_service
from honnin.verifications.worker import VerificationMaintenance

# Idle webhook connections close after this: before common servers' own 5 s idle limit,
# so a delivery rarely meets a connection the receiver is closing.
WEBHOOK_KEEPALIVE_SECONDS = 4.0

API_DESCRIPTION = """\
Honnin identity-confirmation platform.

Enterprises authenticate with OAuth 2.0 client credentials at `/oauth/token`
(`client_secret_basic` or `private_key_jwt`) and call `/v1/...` with the Bearer token.
Operators call `/admin/v1/...` with an admin token. Every error is an RFC 9457
`application/problem+json` document with a stable `code`.
"""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    if settings.mode == "production":
        settings.require_production_secrets()
    configure_logging(level=settings.log_level, json_output=settings.log_json)
    clock = clock or SystemClock()

    pool_size, max_overflow = settings.database_pool
    database = Database(
        settings.resolved_database_url,
        echo=settings.database_echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pre_ping=settings.database_pre_ping,
        direct_pool_size=settings.database_direct_pool_size,
    )
    key_ring = KeyRing.from_setting(settings.data_key.get_secret_value())
    audit = AuditService(clock=clock)
    trace = build_trace_service(settings=settings, clock=clock, audit=audit)
    issuer = settings.issuer
    token_endpoint = issuer + "/oauth/token"
    key_store = SigningKeyStore(
        database=database,
        clock=clock,
        key_ring=key_ring,
        rotation_period=timedelta(days=settings.signing_key_rotation_days),
        token_ttl=timedelta(seconds=settings.token_ttl_seconds),
    )
    clients = ClientService(
        clock=clock,
        audit=audit,
        key_store=key_store,
        issuer=issuer,
        token_endpoint=token_endpoint,
        token_ttl=timedelta(seconds=settings.token_ttl_seconds),
        assertion_max_age=timedelta(seconds=settings.client_assertion_max_age_seconds),
    )

    contracts = CachingContractService(
        clock=clock, audit=audit, ttl_seconds=settings.gateway_cache_ttl_seconds
    )
    gateway = build_gateway(settings, database=database, clock=clock, audit=audit)
    profiles = ConnectionProfiles(key_ring=key_ring, ttl_seconds=settings.gateway_cache_ttl_seconds)
    broker = _build_broker(
        settings=settings,
        database=database,
        clock=clock,
        key_ring=key_ring,
        contracts=contracts,
        profiles=profiles,
        events=trace,
        guard=gateway.bank_flow,
        admission=gateway,
        receipts=trace,
        audit=audit,
    )
    ledger = build_ledger_service(settings=settings, database=database, clock=clock)
    verifications = create_verification_service(
        settings=settings,
        database=database,
        clock=clock,
        key_ring=key_ring,
        audit=audit,
        events=trace,
        ledger=ledger,
    )
    verification_maintenance = VerificationMaintenance(
        service=verifications, interval_seconds=settings.maintenance_interval_seconds
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await key_store.ensure_current()
        broker.start()
        verifications.start_pool()
        verification_maintenance.start()
        trace_ledger = start_ledger_publisher(
            database=database,
            ledger=ledger,
            batch_size=settings.trace_ledger_batch,
            interval_seconds=settings.trace_ledger_interval_seconds,
        )
        try:
            yield
        finally:
            # Every background task is stopped and awaited before the pools close: a task
            # cancelled mid-query must not be left waiting on a disposed connection.
            if trace_ledger is not None:
                trace_ledger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await trace_ledger
            await broker.stop()
            await verification_maintenance.stop()
            verifications.stop_pool()
            await broker.aclose()
            await gateway.aclose()
            await ledger.aclose()
            await database.dispose()

    app = FastAPI(
        title="Honnin",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=with_young_collection_threshold(lifespan, settings.gc_young_threshold),
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    registry = CollectorRegistry()
    _expose(
        app,
        settings=settings,
        clock=clock,
        database=database,
        audit=audit,
        key_store=key_store,
        clients=clients,
        contracts=contracts,
        key_ring=key_ring,
        connector=broker.connector,
        inquiries=broker.inquiries,
        webhooks=broker.dispatcher,
        webhook_keys=broker.keys,
        maintenance=broker.maintenance,
        deliveries=broker.deliveries,
        bank_connections=BankConnectionService(
            key_ring=key_ring, audit=audit, on_change=profiles.invalidate
        ),
        ledger=ledger,
        verifications=verifications,
        issuer=issuer,
        token_endpoint=token_endpoint,
        admin_tokens=parse_admin_tokens(settings.admin_token.get_secret_value()),
        metrics_registry=registry,
        trace=trace,
        trace_console=console_config(
            username=settings.trace_console_username,
            password_hash=settings.trace_console_password_hash.get_secret_value(),
            subject_key=settings.subject_key.get_secret_value().encode(),
            session_ttl=timedelta(minutes=settings.trace_console_session_minutes),
            base_url=settings.base_url,
        ),
    )
    install_problem_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        metrics=HttpMetrics(registry),
    )
    # FastAPI tries routes in the order they were added, so the routers every bank inquiry
    # passes (enterprise API, then the user's way through the broker) go first.
    install_gateway(
        app,
        gateway,
        enterprise_routers=(
            inquiries_api.router,
            contracts_api.enterprise_router,
            auth_api.keys_router,
            trace_api.enterprise_router,
            verifications_api.router,
        ),
    )
    for router in (
        inquiries_api.broker_router,
        ops.router,
        auth_api.oauth_router,
        auth_api.admin_keys_router,
        contracts_api.admin_router,
        banks_api.admin_router,
        trace_api.admin_router,
        trace_console.console_router,
        trace_console.receipts_router,
        ledger_router,
        verifications_api.capture_router,
        verifications_api.admin_router,
        verifications_console.console_router,
    ):
        app.include_router(router)
    return app


def _expose(app: FastAPI, **services: object) -> None:
    """Put the composition root's services where routers' dependencies find them."""
    for name, service in services.items():
        setattr(app.state, name, service)


@dataclass(frozen=True)
class _Broker:
    connector: BankConnector
    inquiries: InquiryService
    dispatcher: WebhookDispatcher
    keys: WebhookKeys
    maintenance: MaintenanceLoop
    deliveries: DeliveryLoop
    webhook_http: OutboundHttp

    def start(self) -> None:
        self.maintenance.start()
        self.deliveries.start()

    async def stop(self) -> None:
        """Stop the background loops (each lets its work in progress finish)."""
        await self.maintenance.stop()
        await self.deliveries.stop()

    async def aclose(self) -> None:
        """Close the outbound connection pools, once the loops have stopped."""
        await self.connector.aclose()
        await self.webhook_http.aclose()


def _build_broker(
    *,
    settings: Settings,
    database: Database,
    clock: Clock,
    key_ring: KeyRing,
    contracts: ContractService,
    profiles: ConnectionProfiles,
    events: EventSink,
    guard: BankGuard,
    admission: Admission,
    receipts: ReceiptIssuer,
    audit: AuditService,
) -> _Broker:
    """The bank-inquiry broker: bank connector, use case, webhook outbox, maintenance."""
    connector = BankConnector(
        redirect_uri=settings.base_url.rstrip("/") + "/broker/callback",
        timeout_seconds=settings.bank_http_timeout_seconds,
    )
    webhook_secret = settings.webhook_secret.get_secret_value().encode()
    webhook_http = OutboundHttp(
        max_connections=settings.webhook_max_in_flight,
        keepalive_seconds=WEBHOOK_KEEPALIVE_SECONDS,
        timeout_seconds=settings.webhook_timeout_seconds,
    )
    wake = asyncio.Event()
    inquiries = InquiryService(
        database=database,
        clock=clock,
        key_ring=key_ring,
        contracts=contracts,
        profiles=profiles,
        connector=connector,
        base_url=settings.base_url,
        consent_ttl=timedelta(seconds=settings.inquiry_consent_ttl_seconds),
        retention=timedelta(hours=settings.inquiry_retention_hours),
        on_finished=wake.set,
        events=events,
        guard=guard,
        admission=admission,
        receipts=receipts,
    )
    dispatcher = WebhookDispatcher(
        database=database,
        clock=clock,
        http=webhook_http,
        master_secret=webhook_secret,
        events=events,
        max_in_flight=settings.webhook_max_in_flight,
        on_due=wake.set,
    )
    maintenance = MaintenanceLoop(
        inquiries=inquiries,
        dispatcher=dispatcher,
        interval_seconds=settings.maintenance_interval_seconds,
    )
    deliveries = DeliveryLoop(
        dispatcher=dispatcher, interval_seconds=settings.maintenance_interval_seconds, wake=wake
    )
    return _Broker(
        connector=connector,
        inquiries=inquiries,
        dispatcher=dispatcher,
        keys=WebhookKeys(database=database, clock=clock, master_secret=webhook_secret, audit=audit),
        maintenance=maintenance,
        deliveries=deliveries,
        webhook_http=webhook_http,
    )
