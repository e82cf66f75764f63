"""Signed webhooks from the durable outbox: delivery, signature, retries."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from honnin.inquiries import core
from honnin.inquiries.models import WebhookDelivery
from honnin.inquiries.webhooks import CLAIM_LEASE
from support.broker import Broker, running_broker
from support.webhooks import WebhookReceiver


@pytest.fixture
async def broker(database_url: str, receiver: WebhookReceiver) -> AsyncIterator[Broker]:
    async with running_broker(database_url, receiver=receiver) as running:
        yield running


async def secret_of(broker: Broker) -> bytes:
    response = await broker.client.get("/v1/webhook-secret", headers=broker.headers)
    assert response.status_code == 200
    text = response.json()["secret"]
    assert text.startswith("whsec_")
    return base64.b64decode(text.removeprefix("whsec_"))


async def test_completed_inquiry_sends_a_signed_webhook(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    result = await broker.run("momiji_rest")
    await broker.platform.app.state.maintenance.run_once()
    # The delivery loop, woken by the finished inquiry, may hold the delivery's claim and
    # still be sending; stopping it lets that delivery finish first.
    await broker.platform.app.state.deliveries.stop()
    assert len(receiver.received) == 1
    delivery = receiver.received[0]
    secret = await secret_of(broker)
    now = int(broker.clock.now().timestamp())
    assert core.verify_webhook(secret=secret, headers=delivery.headers, body=delivery.body, now=now)
    payload = json.loads(delivery.body)
    assert payload["type"] == "bank_inquiry.finished"
    assert payload["data"] == {
        "inquiry_id": result["id"],
        "status": "completed",
        "failure_code": None,
    }
    # The webhook says what finished, never the personal data itself.
    assert "佐藤" not in delivery.body.decode()
    tampered = delivery.body.replace(b"completed", b"denied")
    assert not core.verify_webhook(secret=secret, headers=delivery.headers, body=tampered, now=now)
    other_secret = core.enterprise_webhook_secret(
        b"another deployment", broker.enterprise["enterprise"]["id"]
    )
    assert not core.verify_webhook(
        secret=other_secret, headers=delivery.headers, body=delivery.body, now=now
    )


async def test_failed_delivery_is_retried_with_backoff(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    receiver.fail_next = 2
    maintenance = broker.platform.app.state.maintenance
    # The test drives every round itself: the delivery loop, woken by the finished
    # inquiry, would otherwise make attempts on its own clock reading.
    await broker.platform.app.state.deliveries.stop()
    await broker.run("kaede_xml", decision="deny")
    await maintenance.run_once()
    assert receiver.received == []
    await maintenance.run_once()  # not due yet: nothing is sent again
    assert receiver.received == []
    broker.clock.advance(timedelta(seconds=6))
    await maintenance.run_once()  # second attempt, fails again
    assert receiver.received == []
    broker.clock.advance(timedelta(seconds=31))
    await maintenance.run_once()
    assert len(receiver.received) == 1
    payload = json.loads(receiver.received[0].body)
    assert payload["data"]["status"] == "denied"
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(ids) == 1


async def test_concurrent_dispatchers_send_a_delivery_once(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    # The finished inquiry also wakes the delivery loop: with it, four dispatchers race
    # for one due row; its lease is moved by a guarded UPDATE, so exactly one sends it.
    await broker.run("kaede_xml", decision="deny")
    dispatcher = broker.platform.app.state.webhooks
    maintenance = broker.platform.app.state.maintenance
    await asyncio.gather(*(dispatcher.deliver_due() for _ in range(2)), maintenance.run_once())
    await broker.platform.app.state.deliveries.stop()  # the woken loop's, if still sending
    assert len(receiver.received) == 1, receiver.received


def test_retry_schedule_gives_up() -> None:
    assert core.next_retry_delay(1) == timedelta(seconds=5)
    assert core.next_retry_delay(len(core.RETRY_DELAYS)) == timedelta(hours=6)
    assert core.next_retry_delay(len(core.RETRY_DELAYS) + 1) is None


def test_stale_webhook_timestamps_are_refused() -> None:
    secret = b"k" * 32
    body = b"{}"
    signature = core.sign_webhook(secret=secret, message_id="msg_1", timestamp=1000, body=body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1000", "webhook-signature": signature}
    assert core.verify_webhook(secret=secret, headers=headers, body=body, now=1100)
    assert not core.verify_webhook(secret=secret, headers=headers, body=body, now=2000)
    assert not core.verify_webhook(secret=secret, headers={}, body=body, now=1000)


async def test_a_receiver_answering_with_an_endless_body_is_delivered_by_its_status(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    """Only the status of the receiver's answer counts; its body is never read. (Reading
    it would never end; the 60 s bound only turns that hang into a failure.)"""
    receiver.flood_next = 1
    await broker.platform.app.state.deliveries.stop()
    await broker.run("kaede_xml", decision="deny")
    dispatcher = broker.platform.app.state.webhooks
    assert await asyncio.wait_for(dispatcher.deliver_due(), 60) == 1
    assert len(receiver.received) == 1
    assert await dispatcher.deliver_due() == 0  # delivered: nothing is sent again


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait for what another task or thread does; a bound only against a hang."""
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still waiting for {what}")


async def _deliveries(broker: Broker) -> list[WebhookDelivery]:
    async with broker.platform.app.state.database.session() as session:
        rows = (await session.scalars(select(WebhookDelivery))).all()
        return sorted(rows, key=lambda row: row.created_at)


async def test_a_round_sends_its_deliveries_at_once(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    """The first delivery is held by the receiver until the second has arrived: sent one
    after another, the first would time out and the round deliver one, not two."""
    await broker.platform.app.state.deliveries.stop()
    receiver.hold_next = 1
    for _ in range(2):
        await broker.run("kaede_xml", decision="deny")
    dispatcher = broker.platform.app.state.webhooks
    round_ = asyncio.create_task(dispatcher.deliver_due())
    await _until(lambda: len(receiver.received) == 1, "the delivery that was not held")
    receiver.released.set()
    assert await asyncio.wait_for(round_, 60) == 2
    assert [row.status for row in await _deliveries(broker)] == ["delivered", "delivered"]


async def test_a_slow_receiver_holds_up_only_its_own_delivery(
    database_url: str, receiver: WebhookReceiver
) -> None:
    """The delivery loop claims the next webhook while an earlier one is still being
    sent (a receiver that takes its time, well within the send's timeout)."""
    async with running_broker(
        database_url, receiver=receiver, webhook_timeout_seconds=60
    ) as broker:
        receiver.hold_next = 1
        first = await broker.run("kaede_xml", decision="deny")
        await _until(lambda: receiver.arrived == 1, "the first delivery to be sent")
        second = await broker.run("momiji_rest")
        await _until(lambda: len(receiver.received) == 1, "the second delivery")
        assert json.loads(receiver.received[0].body)["data"]["inquiry_id"] == second["id"]
        receiver.released.set()
        await _until(lambda: len(receiver.received) == 2, "the held delivery")
        await broker.platform.app.state.deliveries.stop()  # lets the last record be written
        rows = await _deliveries(broker)
    assert [row.object_id for row in rows] == [first["id"], second["id"]]
    assert [(row.status, row.attempts) for row in rows] == [("delivered", 1), ("delivered", 1)]


async def test_an_attempt_whose_claim_ran_out_is_not_recorded(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    """Past its lease a delivery is claimed again; only the new claim's attempt counts."""
    await broker.platform.app.state.deliveries.stop()
    await broker.run("kaede_xml", decision="deny")
    dispatcher = broker.platform.app.state.webhooks
    (stale,) = await dispatcher.claim(10)
    broker.clock.advance(CLAIM_LEASE + timedelta(seconds=1))
    (current,) = await dispatcher.claim(10)
    assert current.id == stale.id
    assert current.lease > stale.lease
    assert await dispatcher.claim(10) == []  # leased: nobody else takes it
    assert await dispatcher.deliver(stale)  # sent, but its record is refused
    (row,) = await _deliveries(broker)
    assert (row.status, row.attempts) == ("pending", 0)
    assert await dispatcher.deliver(current)
    (row,) = await _deliveries(broker)
    assert (row.status, row.attempts) == ("delivered", 1)
    assert len(receiver.received) == 2  # at least once: the receiver deduplicates
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


async def test_an_unreachable_receiver_is_retried_with_the_reason(database_url: str) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{port}/hook")  # nothing listens
    async with running_broker(database_url, receiver=receiver) as broker:
        await broker.platform.app.state.deliveries.stop()
        await broker.run("kaede_xml", decision="deny")
        before = broker.clock.now()
        assert await broker.platform.app.state.webhooks.deliver_due() == 0
        after = broker.clock.now()
        (row,) = await _deliveries(broker)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "transport error: no connection (ClientConnectorError)"
    retry = core.next_retry_delay(1)
    assert retry is not None
    assert before + retry <= row.next_attempt_at <= after + retry


async def test_a_claim_leases_at_most_its_limit_oldest_first(broker: Broker) -> None:
    """Three due deliveries, claimed one, then the rest, then none (all leased)."""
    await broker.platform.app.state.deliveries.stop()
    finished = []
    for _ in range(3):
        finished.append((await broker.run("kaede_xml", decision="deny"))["id"])
        broker.clock.advance(timedelta(seconds=1))  # each queued a second after the last
    dispatcher = broker.platform.app.state.webhooks
    (oldest,) = await dispatcher.claim(1)
    assert oldest.object_id == finished[0]
    assert oldest.url == broker.receiver.url
    assert json.loads(oldest.body)["data"]["inquiry_id"] == finished[0]
    rest = await dispatcher.claim(5)
    assert sorted(item.object_id for item in rest) == sorted(finished[1:])
    assert await dispatcher.claim(5) == []
    leased = {row.id: row.next_attempt_at for row in await _deliveries(broker)}
    assert leased == {item.id: item.lease for item in [oldest, *rest]}


async def test_a_callback_sent_twice_at_once_finishes_and_delivers_once(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    created = await broker.create("kaede_xml")
    callback = await broker.consent(created.json()["authorization_url"], decision="deny")
    answers = await asyncio.gather(broker.callback(callback), broker.callback(callback))
    assert sorted(answer.status_code for answer in answers) == [303, 400]
    await _until(lambda: len(receiver.received) == 1, "the one delivery")
    await broker.platform.app.state.deliveries.stop()
    assert len(receiver.received) == 1
    (row,) = await _deliveries(broker)
    assert (row.object_id, row.status) == (created.json()["id"], "delivered")
