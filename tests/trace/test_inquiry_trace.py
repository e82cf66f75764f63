"""Every state change of a bank inquiry leaves exactly one distribution event.

Drives the real broker (sandbox banks over loopback HTTP, the app from create_app) and
reads the trace: success, denial, bank failure, replay, expiry, webhook delivery, purge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from honnin.trace.models import TraceEventRow
from support.broker import SATO, Broker, running_broker
from support.trace import assert_trace, trace_kinds
from support.webhooks import WebhookReceiver


@pytest.fixture
async def broker(database_url: str) -> AsyncIterator[Broker]:
    """No webhook URL: the background webhook delivery cannot interleave with the flow."""
    async with running_broker(database_url) as running:
        yield running


async def _trace(broker: Broker, inquiry_id: str, kinds: list[str]) -> list[TraceEventRow]:
    async with broker.platform.app.state.database.session() as session:
        return await assert_trace(session, kinds, object_id=inquiry_id)


async def test_completed_inquiry_delivered_once_then_purged(broker: Broker) -> None:
    result = await broker.run("momiji_rest")  # reads the result: delivered
    inquiry = result["id"]
    await broker.result(inquiry)  # a second read is no new delivery
    done = ["inquiry.created", "consent.given", "bank.fetched", "delivered"]
    rows = await _trace(broker, inquiry, done)
    enterprise = broker.enterprise["enterprise"]["id"]
    assert {(r.enterprise_id, r.bank_id) for r in rows} == {(enterprise, "momiji_rest")}
    assert rows[2].outcome == "match"
    assert "family_name" in rows[2].claims
    broker.clock.advance(timedelta(days=30))
    await broker.platform.app.state.maintenance.run_once()
    await broker.platform.app.state.maintenance.run_once()
    await _trace(broker, inquiry, [*done, "data.purged"])
    # The trace keeps pseudonyms and claim names, never the person's data.
    async with broker.platform.app.state.database.session() as session:
        everything = repr(
            [r.__dict__ for r in (await session.scalars(select(TraceEventRow))).all()]
        )
    for value in (SATO["family_name"], SATO["given_name"], SATO["birthdate"], SATO["address"]):
        assert value not in everything


async def test_webhook_delivery_is_traced_once(
    database_url: str, receiver: WebhookReceiver
) -> None:
    async with running_broker(database_url, receiver=receiver) as broker:
        result = await broker.run("sakura_oidc")
        maintenance = broker.platform.app.state.maintenance
        for _ in range(3):
            await maintenance.run_once()
        # The delivery loop, woken by the finished inquiry, may still be between sending
        # the webhook and recording it; stopping lets that delivery finish.
        await broker.platform.app.state.deliveries.stop()
        assert len(receiver.received) == 1
        async with broker.platform.app.state.database.session() as session:
            kinds = await trace_kinds(session, object_id=result["id"])
    # The delivery loop may deliver the webhook before or after the result is read.
    assert Counter(kinds) == Counter(
        ["inquiry.created", "consent.given", "bank.fetched", "delivered", "webhook.delivered"]
    )


async def test_denied_consent(broker: Broker) -> None:
    result = await broker.run("kaede_xml", decision="deny")
    rows = await _trace(broker, result["id"], ["inquiry.created", "consent.refused"])
    assert rows[1].outcome == "user_denied"


async def test_bank_failure_and_replayed_callback(broker: Broker) -> None:
    from honnin.sandbox.banks import Fault

    created = await broker.create("momiji_rest")
    inquiry = created.json()["id"]
    callback = await broker.consent(created.json()["authorization_url"])
    broker.banks.bank("momiji_rest").faults.add(Fault(target="kyc", kind="error", status=500))
    await broker.callback(callback)
    await broker.callback(callback)  # replay: refused, and no new event
    rows = await _trace(broker, inquiry, ["inquiry.created", "consent.given", "inquiry.failed"])
    assert rows[2].outcome == "bank_error"


async def test_unanswered_inquiry_expires(broker: Broker) -> None:
    created = await broker.create("sakura_oidc")
    inquiry = created.json()["id"]
    broker.clock.advance(timedelta(hours=2))
    await broker.platform.app.state.maintenance.run_once()
    await broker.platform.app.state.maintenance.run_once()
    await _trace(broker, inquiry, ["inquiry.created", "inquiry.expired"])


async def test_enterprise_reads_its_inquiry_history(broker: Broker) -> None:
    result = await broker.run("sakura_oidc")
    response = await broker.client.get(
        "/v1/trace", params={"object_id": result["id"]}, headers=broker.headers
    )
    assert response.status_code == 200
    # Newest first.
    assert [e["kind"] for e in response.json()["events"]] == [
        "delivered",
        "bank.fetched",
        "consent.given",
        "inquiry.created",
    ]
