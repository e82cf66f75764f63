"""Many inquiries at once through the three banks, some of them failing: each ends once, in
a clear status, with one signed webhook saying that status, the trace events of its path
and their entries in the transparency log. On SQLite and PostgreSQL.

The single-flow tests (test_flow, test_webhooks, trace/test_inquiry_trace) pin down each
path; this one runs the paths together, so that flow control queues the bank calls,
retries overlap, callbacks are replayed while the first is still at the bank, and the
delivery loop and the outbox see many finished inquiries at once.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from honnin.inquiries import core
from honnin.inquiries.models import WebhookDelivery
from honnin.ledger import merkle, records
from honnin.sandbox.banks import Fault
from honnin.trace.models import TraceEventRow
from honnin.trace.service import LEDGER_KIND, TraceLedgerPublisher
from support.broker import CALLBACK, Broker, running_broker
from support.webhooks import WebhookReceiver

COMPLETED = ["inquiry.created", "consent.given", "bank.fetched", "delivered", "webhook.delivered"]
DENIED = ["inquiry.created", "consent.refused", "webhook.delivered"]
FAILED = ["inquiry.created", "consent.given", "inquiry.failed", "webhook.delivered"]


@dataclass(frozen=True)
class Plan:
    bank_id: str
    decision: str
    status: str
    failure_code: str | None
    events: list[str]
    replay: bool = False  # the callback is sent twice at once


PLANS = [
    # momiji: the first two KYC calls answer 503 and are retried (a call has three tries,
    # so none of them can run out).
    *[
        Plan("momiji_rest", "allow", "completed", None, COMPLETED, replay=n % 3 == 0)
        for n in range(9)
    ],
    # sakura: PAR + private_key_jwt; half of the users refuse at the bank.
    *[Plan("sakura_oidc", "allow", "completed", None, COMPLETED) for _ in range(4)],
    *[Plan("sakura_oidc", "deny", "denied", "user_denied", DENIED, replay=True) for _ in range(3)],
    # kaede: every KYC answer is broken XML.
    *[
        Plan("kaede_xml", "allow", "failed", "bank_payload_invalid", FAILED, replay=n == 0)
        for n in range(6)
    ],
]


@pytest.fixture
async def broker(database_url: str, receiver: WebhookReceiver) -> AsyncIterator[Broker]:
    async with running_broker(
        database_url,
        receiver=receiver,
        # A few requests at a time per bank: the rest queue in flow control.
        bank_max_in_flight=3,
        bank_retries=2,  # three tries per bank call
        bank_retry_backoff_seconds=0.01,
        # The broken bank must not be closed off half-way (a breaker test of its own
        # exists): every kaede inquiry then fails for the same reason.
        bank_breaker_failures=100,
        # This test publishes the trace itself, once every flow has ended.
        trace_ledger_interval_seconds=3600,
    ) as running:
        yield running


async def _one(broker: Broker, plan: Plan) -> tuple[str, list[int]]:
    """Create, consent, call back (twice at once when planned); returns the inquiry id
    and the callback answers' status codes."""
    created = await broker.create(plan.bank_id)
    assert created.status_code == 201, created.text
    callback = await broker.consent(created.json()["authorization_url"], decision=plan.decision)
    assert callback.startswith(CALLBACK)
    sends = [broker.callback(callback) for _ in range(2 if plan.replay else 1)]
    answers = await asyncio.gather(*sends)
    return created.json()["id"], sorted(a.status_code for a in answers)


async def test_many_inquiries_at_once_each_end_once_delivered_traced_and_logged(
    broker: Broker, receiver: WebhookReceiver
) -> None:
    broker.banks.bank("momiji_rest").faults.add(
        Fault(kind="error", status=503, target="kyc", count=2)
    )
    broker.banks.bank("kaede_xml").faults.add(Fault(kind="malformed", target="kyc"))
    outcomes = await asyncio.gather(*(_one(broker, plan) for plan in PLANS))

    momiji = broker.banks.bank("momiji_rest")
    assert momiji.faults.active() == []  # both 503s were answered, and retried
    kyc_calls = sum(plan.bank_id == "momiji_rest" and plan.status == "completed" for plan in PLANS)
    assert momiji.stats.endpoints["kyc"].requests == kyc_calls + 2
    for bank_id in ("momiji_rest", "sakura_oidc", "kaede_xml"):
        # Flow control: never more KYC calls at a bank at once than its cap.
        assert 1 <= broker.banks.bank(bank_id).stats.endpoints["kyc"].peak_in_flight <= 3

    ids = [inquiry_id for inquiry_id, _ in outcomes]
    assert len(set(ids)) == len(PLANS)
    for plan, (_, answers) in zip(PLANS, outcomes, strict=True):
        # A replayed callback is refused whichever of the two arrived first.
        assert answers == ([303, 400] if plan.replay else [303]), (plan, answers)

    # The enterprise reads every result: each in the planned state.
    results = await asyncio.gather(*(broker.result(inquiry_id) for inquiry_id in ids))
    for plan, result in zip(PLANS, results, strict=True):
        assert (result["status"], result["failure_code"]) == (plan.status, plan.failure_code)
        assert (result["result"] is not None) == (plan.status == "completed")

    # Every webhook out: the delivery loop's own, then whatever is still due, then the
    # deliveries the loop was still sending.
    state = broker.platform.app.state
    await state.maintenance.run_once()
    await state.deliveries.stop()
    await state.maintenance.run_once()
    secret_text = (await broker.client.get("/v1/webhook-secret", headers=broker.headers)).json()
    secret = base64.b64decode(secret_text["secret"].removeprefix("whsec_"))
    now = int(broker.clock.now().timestamp())
    sent: dict[str, dict[str, Any]] = {}
    for delivery in receiver.received:
        assert core.verify_webhook(
            secret=secret, headers=delivery.headers, body=delivery.body, now=now
        )
        data = json.loads(delivery.body)["data"]
        assert data["inquiry_id"] not in sent, f"two webhooks for {data['inquiry_id']}"
        sent[data["inquiry_id"]] = data
    assert set(sent) == set(ids)
    for plan, inquiry_id in zip(PLANS, ids, strict=True):
        assert (sent[inquiry_id]["status"], sent[inquiry_id]["failure_code"]) == (
            plan.status,
            plan.failure_code,
        )

    database = state.database
    async with database.session() as session:
        outbox = (await session.scalars(select(WebhookDelivery))).all()
        events = (
            await session.scalars(
                select(TraceEventRow)
                .where(TraceEventRow.object_id.in_(ids))
                .order_by(TraceEventRow.id)
            )
        ).all()
    assert sorted(d.object_id for d in outbox) == sorted(ids)
    assert {d.status for d in outbox} == {"delivered"}

    # Each inquiry's events are those of its path, each once (a replay or a retry adds
    # none); their order across concurrent steps (webhook vs. first read) may vary.
    by_inquiry: dict[str, Counter[str]] = {inquiry_id: Counter() for inquiry_id in ids}
    for event in events:
        by_inquiry[event.object_id][event.kind] += 1
    for plan, inquiry_id in zip(PLANS, ids, strict=True):
        assert by_inquiry[inquiry_id] == Counter(plan.events), (plan, by_inquiry[inquiry_id])

    # Every event reaches the transparency log once, provably.
    ledger = state.ledger
    publisher = TraceLedgerPublisher(database=database, ledger=ledger, batch_size=16)
    await publisher.publish_pending()
    async with database.session() as session:
        logged = (
            await session.execute(
                select(TraceEventRow.id, TraceEventRow.digest, TraceEventRow.ledger_index).where(
                    TraceEventRow.object_id.in_(ids)
                )
            )
        ).all()
    indexes = [row.ledger_index for row in logged]
    assert None not in indexes
    assert len(set(indexes)) == len(events)
    head = await ledger.log.tree_head()
    for row in logged:
        entry = records.event_entry(LEDGER_KIND, {"event": str(row.id), "digest": row.digest})
        proof = await ledger.log.inclusion_proof(row.ledger_index, head.size)
        merkle.verify_inclusion(
            merkle.leaf_hash(entry), row.ledger_index, head.size, proof, head.root_hash
        )
