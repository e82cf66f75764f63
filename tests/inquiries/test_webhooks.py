"""Signed webhooks from the durable outbox: delivery, signature, retries."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from honnin.inquiries import core
from support.broker import Broker, running_broker
from support.webhooks import WebhookReceiver, webhook_receiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


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
    maintenance = broker.platform.app.state.maintenance
    await maintenance.run_once()
    # The background loop, woken by the finished inquiry, may hold the delivery's claim
    # and still be sending; stopping it lets that round finish first.
    await maintenance.stop()
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
    # The test drives every round itself: the background loop, woken by the finished
    # inquiry, would otherwise make attempts on its own clock reading.
    await maintenance.stop()
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
    # The finished inquiry also wakes the maintenance loop: with it, four dispatchers race
    # for one due row; its lease is moved by a guarded UPDATE, so exactly one sends it.
    await broker.run("kaede_xml", decision="deny")
    dispatcher = broker.platform.app.state.webhooks
    maintenance = broker.platform.app.state.maintenance
    await asyncio.gather(*(dispatcher.deliver_due() for _ in range(2)), maintenance.run_once())
    await maintenance.stop()  # the woken loop's round, if it is still sending
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
    maintenance = broker.platform.app.state.maintenance
    await maintenance.stop()
    await broker.run("kaede_xml", decision="deny")
    dispatcher = broker.platform.app.state.webhooks
    assert await asyncio.wait_for(dispatcher.deliver_due(), 60) == 1
    assert len(receiver.received) == 1
    assert await dispatcher.deliver_due() == 0  # delivered: nothing is sent again
