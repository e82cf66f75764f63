"""Rotating an enterprise's webhook signing key, with an overlap in which webhooks carry
both signatures (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from honnin.audit.models import AuditEvent
from honnin.inquiries import core
from support.broker import Broker, running_broker
from support.webhooks import Received, WebhookReceiver


@pytest.fixture
async def broker(database_url: str, receiver: WebhookReceiver) -> AsyncIterator[Broker]:
    async with running_broker(database_url, receiver=receiver) as running:
        await running.platform.app.state.deliveries.stop()
        yield running


def _key(answer: dict[str, Any]) -> bytes:
    return base64.b64decode(answer["secret"].removeprefix("whsec_"))


async def _secret(broker: Broker) -> dict[str, Any]:
    response = await broker.client.get("/v1/webhook-secret", headers=broker.headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _rotate(broker: Broker, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await broker.client.post(
        "/v1/webhook-secret/rotate", json=body, headers=broker.headers
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _webhook(broker: Broker, receiver: WebhookReceiver) -> Received:
    """One more finished inquiry's webhook, as the receiver got it."""
    before = len(receiver.received)
    await broker.run("kaede_xml", decision="deny")
    await broker.platform.app.state.maintenance.run_once()
    assert len(receiver.received) == before + 1
    return receiver.received[-1]


def _verifies(broker: Broker, key: bytes, delivery: Received) -> bool:
    return core.verify_webhook(
        secret=key,
        headers=delivery.headers,
        body=delivery.body,
        now=int(broker.clock.now().timestamp()),
    )


async def test_a_rotation_signs_with_both_keys_for_the_overlap_then_with_the_new_one(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    before = await _secret(broker)
    assert (before["version"], before["previous_valid_until"]) == (0, None)
    old = _key(before)
    assert _verifies(broker, old, await _webhook(broker, receiver))

    rotated = await _rotate(broker, {"overlap_seconds": 3600})
    new = _key(rotated)
    assert new != old
    assert rotated["version"] == 1
    until = datetime.fromisoformat(rotated["previous_valid_until"])
    assert abs((until - broker.clock.now()) - timedelta(hours=1)) < timedelta(seconds=5)
    assert await _secret(broker) == rotated

    during = await _webhook(broker, receiver)
    assert len(during.headers["webhook-signature"].split()) == 2
    assert _verifies(broker, old, during)
    assert _verifies(broker, new, during)

    broker.clock.advance(timedelta(hours=1, seconds=1))
    await broker.refresh_token()
    after = await _webhook(broker, receiver)
    assert len(after.headers["webhook-signature"].split()) == 1
    assert _verifies(broker, new, after)
    assert not _verifies(broker, old, after)
    assert (await _secret(broker))["previous_valid_until"] is None


async def test_without_overlap_the_old_key_stops_at_once(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    old = _key(await _secret(broker))
    rotated = await _rotate(broker, {"overlap_seconds": 0})
    assert rotated["previous_valid_until"] is None
    delivery = await _webhook(broker, receiver)
    assert _verifies(broker, _key(rotated), delivery)
    assert not _verifies(broker, old, delivery)


async def test_a_second_rotation_ends_the_oldest_key(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    first = _key(await _secret(broker))
    second = _key(await _rotate(broker))  # a day of overlap by default
    third = await _rotate(broker)
    assert third["version"] == 2
    delivery = await _webhook(broker, receiver)
    assert _verifies(broker, _key(third), delivery)
    assert _verifies(broker, second, delivery)
    assert not _verifies(broker, first, delivery)


async def test_concurrent_rotations_each_move_one_version(broker: Broker) -> None:
    answers = await asyncio.gather(*(_rotate(broker) for _ in range(4)))
    assert sorted(answer["version"] for answer in answers) == [1, 2, 3, 4]
    assert len({answer["secret"] for answer in answers}) == 4
    assert (await _secret(broker))["version"] == 4


async def test_a_rotation_is_audited_and_touches_no_other_enterprise(broker: Broker) -> None:
    other = await broker.platform.new_enterprise("Other KK")
    other_headers = await broker.platform.bearer(other["credentials"])
    other_before = (await broker.client.get("/v1/webhook-secret", headers=other_headers)).json()
    await _rotate(broker)
    other_after = (await broker.client.get("/v1/webhook-secret", headers=other_headers)).json()
    assert other_after == other_before
    async with broker.platform.app.state.database.session() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "webhook_key.rotated")
            )
        ).all()
    (event,) = events
    assert event.object_id == broker.enterprise["enterprise"]["id"]
    assert event.actor.startswith("client:")
    assert event.details["version"] == 1
    # The audit trail says which version, never the key.
    assert (await _secret(broker))["secret"].removeprefix("whsec_") not in str(event.details)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"overlap_seconds": -1}, 422, "validation_error"),
        ({"overlap_seconds": 7 * 86400 + 1}, 422, "validation_error"),
        ({"overlap_seconds": "a day"}, 422, "validation_error"),
        ({"overlap": 60}, 422, "validation_error"),
        (b"{not json", 400, "malformed_json"),
    ],
)
async def test_bad_rotation_requests_change_nothing(
    broker: Broker, body: dict[str, Any] | bytes, status: int, code: str
) -> None:
    before = await _secret(broker)
    headers = {**broker.headers, "Content-Type": "application/json"}
    if isinstance(body, bytes):
        response = await broker.client.post(
            "/v1/webhook-secret/rotate", content=body, headers=headers
        )
    else:
        response = await broker.client.post("/v1/webhook-secret/rotate", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert await _secret(broker) == before


async def test_rotation_needs_the_keys_scope(broker: Broker) -> None:
    headers = await broker.platform.bearer(broker.enterprise["credentials"], "inquiries:read")
    response = await broker.client.post("/v1/webhook-secret/rotate", headers=headers)
    assert response.status_code == 403
    assert (await broker.client.get("/v1/webhook-secret", headers=headers)).status_code == 200
