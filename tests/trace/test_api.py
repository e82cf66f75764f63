"""Trace HTTP API: operator and enterprise queries, tenant isolation, exports."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from honnin.trace.core import TraceEvent
from honnin.trace.service import TraceService
from support.platform import ADMIN_HEADERS, Platform


async def _seed(platform: Platform, enterprise_id: str, bank_id: str, n: int, **extra: Any) -> None:
    trace: TraceService = platform.app.state.trace
    async with platform.app.state.database.transaction() as session:
        for i in range(n):
            await trace.record(
                session,
                TraceEvent(
                    kind="bank.fetched" if i % 3 else "consent.refused",
                    object_id=f"inq_{enterprise_id[-6:]}_{i}",
                    enterprise_id=enterprise_id,
                    bank_id=bank_id,
                    claims=("family_name", "birthdate"),
                    outcome="match" if i % 3 else "access_denied",
                    latency_ms=100 + i,
                    **extra,
                ),
            )


async def test_enterprise_sees_only_its_own_events(platform: Platform) -> None:
    acme = await platform.new_enterprise("Acme")
    other = await platform.new_enterprise("Other")
    acme_id, other_id = acme["enterprise"]["id"], other["enterprise"]["id"]
    await _seed(platform, acme_id, "sakura_oidc", 5)
    await _seed(platform, other_id, "sakura_oidc", 7)
    headers = await platform.bearer(acme["credentials"])

    response = await platform.client.get("/v1/trace", params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    events = response.json()["events"]
    assert len(events) == 5
    assert {e["enterprise_id"] for e in events} == {acme_id}

    # Filters never widen the scope: another tenant's object or an enterprise_id parameter
    # still yields only the caller's rows.
    for params in (
        {"object_id": f"inq_{other_id[-6:]}_1"},
        {"enterprise_id": other_id},
        {"bank_id": "sakura_oidc", "kind": "bank.fetched"},
    ):
        response = await platform.client.get("/v1/trace", params=params, headers=headers)
        assert {e["enterprise_id"] for e in response.json()["events"]} <= {acme_id}

    export = await platform.client.get(
        "/v1/trace/export", params={"format": "jsonl"}, headers=headers
    )
    assert export.status_code == 200
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert len(lines) == 5
    assert {line["enterprise_id"] for line in lines} == {acme_id}


async def test_enterprise_trace_needs_the_scope(platform: Platform) -> None:
    acme = await platform.new_enterprise("Acme")
    headers = await platform.bearer(acme["credentials"], scope="banks:read")
    response = await platform.client.get("/v1/trace", headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert (await platform.client.get("/v1/trace")).status_code == 401


async def test_operator_filters_pages_and_csv(platform: Platform) -> None:
    await _seed(platform, "ent_a", "kaede_xml", 9)
    await _seed(platform, "ent_b", "momiji_rest", 4)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "bank_id": "kaede_xml"}
        if cursor:
            params["cursor"] = cursor
        response = await platform.client.get(
            "/admin/v1/trace", params=params, headers=ADMIN_HEADERS
        )
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [e["id"] for e in body["events"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 9

    response = await platform.client.get(
        "/admin/v1/trace", params={"outcome": "access_denied"}, headers=ADMIN_HEADERS
    )
    assert {e["kind"] for e in response.json()["events"]} == {"consent.refused"}
    assert len(response.json()["events"]) == 3 + 2

    export = await platform.client.get(
        "/admin/v1/trace/export", params={"enterprise_id": "ent_b"}, headers=ADMIN_HEADERS
    )
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 4
    assert rows[0]["claims"] == "birthdate family_name"
    assert all(r["enterprise_id"] == "ent_b" for r in rows)


async def test_bad_queries_are_problem_details(platform: Platform) -> None:
    for params, code in (
        ({"cursor": "bm9wZQ"}, "invalid_cursor"),
        ({"since": "2026-01-02T00:00:00"}, "invalid_trace_query"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "invalid_trace_query"),
        ({"kind": "nope.created"}, "invalid_trace_query"),
    ):
        response = await platform.client.get(
            "/admin/v1/trace", params=params, headers=ADMIN_HEADERS
        )
        assert response.status_code == 400, (params, response.text)
        assert response.json()["code"] == code
    response = await platform.client.get("/admin/v1/trace")
    assert response.status_code == 401


async def test_times_outside_utc_range_are_query_errors(platform: Platform) -> None:
    response = await platform.client.get(
        "/admin/v1/trace", params={"since": "0001-01-01T00:00:00+14:00"}, headers=ADMIN_HEADERS
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_trace_query"


async def test_free_text_purpose_is_kept_and_cannot_run_in_a_spreadsheet(
    platform: Platform,
) -> None:
    trace: TraceService = platform.app.state.trace
    async with platform.app.state.database.transaction() as session:
        for purpose in ("口座開設 (本人確認)", "=HYPERLINK(1)"):
            await trace.record(
                session, kind="delivered", object_id="inq_p", outcome="ok", purpose=purpose
            )
    export = await platform.client.get("/admin/v1/trace/export", headers=ADMIN_HEADERS)
    purposes = {row["purpose"] for row in csv.DictReader(io.StringIO(export.text))}
    assert purposes == {"口座開設 (本人確認)", "'=HYPERLINK(1)"}
