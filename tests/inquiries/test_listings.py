"""The enterprise's listings: its inquiries and its webhook deliveries, in keyset pages,
and redelivery of a webhook whose retries are spent (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from honnin.inquiries import core
from honnin.inquiries.models import Inquiry
from honnin.trace.models import TraceEventRow
from support.broker import Broker, running_broker
from support.webhooks import WebhookReceiver


@pytest.fixture
async def broker(database_url: str, receiver: WebhookReceiver) -> AsyncIterator[Broker]:
    async with running_broker(database_url, receiver=receiver) as running:
        # The tests drive every delivery round themselves.
        await running.platform.app.state.deliveries.stop()
        yield running


async def _get(broker: Broker, path: str, **params: Any) -> Any:
    response = await broker.client.get(path, params=params, headers=broker.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _walk(broker: Broker, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item, page after page."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        page = await _get(broker, path, **params, **({"cursor": cursor} if cursor else {}))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the pages never ended")


async def _created(broker: Broker, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = await broker.create("momiji_rest")
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def test_inquiries_are_listed_newest_first_page_by_page(broker: Broker) -> None:
    ids = await _created(broker, 5)
    # Three of them at the same instant: the id breaks the tie, and no page loses or
    # repeats one of them.
    async with broker.platform.app.state.database.transaction() as session:
        same = (await session.get(Inquiry, ids[1])).created_at  # type: ignore[union-attr]
        await session.execute(
            update(Inquiry).where(Inquiry.id.in_(ids[1:4])).values(created_at=same)
        )
    listed = await _walk(broker, "/v1/bank-inquiries", limit=2)
    assert sorted(item["id"] for item in listed) == sorted(ids)
    order = [(item["created_at"], item["id"]) for item in listed]
    assert order == sorted(order, reverse=True)
    assert listed[0]["id"] == ids[4]
    first = listed[0]
    assert first["status"] == "pending_consent"
    assert first["bank_id"] == "momiji_rest"
    assert first["purpose"] == "account_opening"
    # Statuses and outcomes only: no data and no link to the bank.
    assert "result" not in first
    assert "authorization_url" not in first
    whole = await _get(broker, "/v1/bank-inquiries", limit=100)
    assert [item["id"] for item in whole["items"]] == [item["id"] for item in listed]
    assert whole["next_cursor"] is None


async def test_listing_filters_by_status_and_bank_and_reads_no_result(broker: Broker) -> None:
    completed = await broker.run("momiji_rest")
    denied = await broker.run("kaede_xml", decision="deny")
    (pending,) = await _created(broker, 1)
    by_status = {
        status: [item["id"] for item in await _walk(broker, "/v1/bank-inquiries", status=status)]
        for status in ("completed", "denied", "pending_consent", "failed")
    }
    assert by_status == {
        "completed": [completed["id"]],
        "denied": [denied["id"]],
        "pending_consent": [pending],
        "failed": [],
    }
    kaede = await _walk(broker, "/v1/bank-inquiries", bank_id="kaede_xml")
    assert [item["id"] for item in kaede] == [denied["id"]]
    (listed,) = await _walk(broker, "/v1/bank-inquiries", status="completed")
    assert listed["match_overall"] == "match"
    assert listed["failure_code"] is None
    # broker.run read the result once: that read, and only it, is the delivery.
    assert listed["result_read_at"] is not None
    (unread,) = await _walk(broker, "/v1/bank-inquiries", status="denied")
    assert unread["result_read_at"] is None
    assert unread["failure_code"] == "user_denied"
    async with broker.platform.app.state.database.session() as session:
        kinds = (
            await session.scalars(
                select(TraceEventRow.kind).where(TraceEventRow.object_id == completed["id"])
            )
        ).all()
    assert kinds.count("delivered") == 1


async def test_another_enterprise_lists_none_of_them(broker: Broker) -> None:
    await _created(broker, 3)
    page = await _get(broker, "/v1/bank-inquiries", limit=1)
    other = await broker.platform.new_enterprise("Other KK")
    headers = await broker.platform.bearer(other["credentials"])
    for params in ({}, {"cursor": page["next_cursor"]}):
        response = await broker.client.get("/v1/bank-inquiries", params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "next_cursor": None}
        response = await broker.client.get("/v1/webhook-deliveries", params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"cursor": "not-a-cursor"}, 400, "invalid_cursor"),
        ({"cursor": "W10"}, 400, "invalid_cursor"),  # base64url of []
        ({"cursor": "x" * 201}, 422, "validation_error"),
        ({"limit": 0}, 422, "validation_error"),
        ({"limit": 101}, 422, "validation_error"),
        ({"limit": "ten"}, 422, "validation_error"),
        ({"status": "done"}, 422, "validation_error"),
    ],
)
async def test_bad_listing_parameters_are_refused_clearly(
    broker: Broker, params: dict[str, Any], status: int, code: str
) -> None:
    for path in ("/v1/bank-inquiries", "/v1/webhook-deliveries"):
        response = await broker.client.get(path, params=params, headers=broker.headers)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code


async def test_listings_need_a_token(broker: Broker) -> None:
    for path in ("/v1/bank-inquiries", "/v1/webhook-deliveries"):
        assert (await broker.client.get(path)).status_code == 401


async def _dead_delivery(broker: Broker, receiver: WebhookReceiver) -> dict[str, Any]:
    """An inquiry whose webhook the receiver refused until its retries were spent."""
    maintenance = broker.platform.app.state.maintenance
    receiver.fail_next = len(core.RETRY_DELAYS) + 1
    finished = await broker.run("kaede_xml", decision="deny")
    for _ in range(len(core.RETRY_DELAYS) + 1):
        await maintenance.run_once()
        broker.clock.advance(max(core.RETRY_DELAYS) + timedelta(seconds=1))
    assert receiver.received == []
    await broker.refresh_token()  # hours went by
    (dead,) = await _walk(broker, "/v1/webhook-deliveries", status="dead")
    assert dead["object_id"] == finished["id"]
    return dead


async def test_a_dead_webhook_is_listed_and_sent_again_on_request(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    dead = await _dead_delivery(broker, receiver)
    assert dead["attempts"] == len(core.RETRY_DELAYS) + 1
    assert dead["last_error"] == "receiver answered HTTP 500"
    assert dead["next_attempt_at"] is None
    assert dead["delivered_at"] is None
    assert dead["event_type"] == core.WEBHOOK_EVENT

    path = f"/v1/webhook-deliveries/{dead['id']}/redeliver"
    requeued = await broker.client.post(path, headers=broker.headers)
    assert requeued.status_code == 200, requeued.text
    view = requeued.json()
    assert (view["status"], view["attempts"], view["last_error"]) == ("pending", 0, None)
    assert view["next_attempt_at"] is not None
    # Still scheduled: asking again changes nothing.
    again = await broker.client.post(path, headers=broker.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "webhook_delivery_pending"

    await broker.platform.app.state.maintenance.run_once()
    (sent,) = receiver.received
    assert sent.headers["webhook-id"] == dead["id"]
    assert json.loads(sent.body)["data"]["inquiry_id"] == dead["object_id"]
    (delivered,) = await _walk(broker, "/v1/webhook-deliveries", inquiry_id=dead["object_id"])
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 1)
    assert delivered["delivered_at"] is not None

    # A delivered one may be sent again too (the receiver lost it); same webhook-id.
    assert (await broker.client.post(path, headers=broker.headers)).status_code == 200
    await broker.platform.app.state.maintenance.run_once()
    assert [r.headers["webhook-id"] for r in receiver.received] == [dead["id"], dead["id"]]

    async with broker.platform.app.state.database.session() as session:
        kinds = (
            await session.scalars(
                select(TraceEventRow.kind)
                .where(TraceEventRow.object_id == dead["object_id"])
                .order_by(TraceEventRow.id)
            )
        ).all()
    assert kinds[-5:] == [
        "webhook.failed",
        "webhook.requeued",
        "webhook.delivered",
        "webhook.requeued",
        "webhook.delivered",
    ]


async def test_redelivery_of_an_unknown_or_foreign_delivery_is_not_found(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    dead = await _dead_delivery(broker, receiver)
    other = await broker.platform.new_enterprise("Other KK")
    headers = await broker.platform.bearer(other["credentials"])
    foreign = await broker.client.post(
        f"/v1/webhook-deliveries/{dead['id']}/redeliver", headers=headers
    )
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "webhook_delivery_not_found"
    unknown = await broker.client.post(
        "/v1/webhook-deliveries/msg_unknown/redeliver", headers=broker.headers
    )
    assert unknown.status_code == 404
    (still,) = await _walk(broker, "/v1/webhook-deliveries")
    assert still["status"] == "dead"


async def test_deliveries_are_listed_newest_first_page_by_page(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    finished = [(await broker.run("kaede_xml", decision="deny"))["id"] for _ in range(3)]
    receiver.fail_next = 1
    await broker.platform.app.state.maintenance.run_once()
    listed = await _walk(broker, "/v1/webhook-deliveries", limit=2)
    assert [item["object_id"] for item in listed] == finished[::-1]
    statuses = sorted(item["status"] for item in listed)
    assert statuses == ["delivered", "delivered", "pending"]
    (retrying,) = [item for item in listed if item["status"] == "pending"]
    assert retrying["attempts"] == 1
    assert retrying["next_attempt_at"] is not None
    pending = await _walk(broker, "/v1/webhook-deliveries", status="pending")
    assert [item["id"] for item in pending] == [retrying["id"]]
