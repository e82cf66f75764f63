"""Operator console: login (argon2, signed cookie, CSRF), dashboard figures, receipts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, insert, select

from honnin.audit.models import AuditEvent
from honnin.trace.console_auth import LoginThrottle, hash_password
from honnin.trace.core import TraceEvent
from honnin.trace.service import IssuedReceipt, TraceService
from support.platform import Platform, platform_settings, running_platform
from support.trace import assert_trace

PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_password(PASSWORD)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[Platform]:
    settings = platform_settings(database_url, trace_console_password_hash=PASSWORD_HASH)
    async with running_platform(settings) as running:
        yield running


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field in the form"
    return match.group(1)


async def login(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/console/login")
    assert form.status_code == 200
    return await client.post(
        "/console/login",
        data={"username": "operator", "password": password, "csrf": _csrf(form.text)},
    )


async def seed_traffic(platform: Platform) -> None:
    """A small mix: two banks, two enterprises, successes, denials and errors."""
    trace: TraceService = platform.app.state.trace
    plan: list[tuple[str, str, str, str, int | None]] = [
        ("bank.fetched", "ent_acme", "sakura_oidc", "match", 300),
        ("bank.fetched", "ent_acme", "sakura_oidc", "match", 500),
        ("bank.fetched", "ent_beta", "momiji_rest", "mismatch", 900),
        ("consent.refused", "ent_beta", "momiji_rest", "access_denied", None),
        ("inquiry.failed", "ent_acme", "momiji_rest", "bank_unavailable", None),
        ("inquiry.created", "ent_acme", "sakura_oidc", "pending_consent", None),
    ]
    async with platform.app.state.database.transaction() as session:
        for i, (kind, ent, bank, outcome, latency) in enumerate(plan):
            await trace.record(
                session,
                TraceEvent(
                    kind=kind,
                    object_id=f"inq_{i}",
                    enterprise_id=ent,
                    bank_id=bank,
                    claims=("family_name",),
                    outcome=outcome,
                    latency_ms=latency,
                ),
            )


async def test_console_requires_login_and_refuses_wrong_password(console: Platform) -> None:
    client = console.client
    response = await client.get("/console")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
    assert (await client.get("/console/summary.json")).status_code == 401
    bad = await login(client, password="wrong")
    assert bad.status_code == 401
    assert "Wrong username or password" in bad.text
    assert (await client.get("/console")).status_code == 303
    async with console.app.state.database.session() as session:
        actions = (await session.scalars(select(AuditEvent.action))).all()
    assert "console.login_failed" in actions


async def test_login_form_needs_its_csrf_token(console: Platform) -> None:
    await console.client.get("/console/login")
    response = await console.client.post(
        "/console/login", data={"username": "operator", "password": PASSWORD, "csrf": "forged"}
    )
    assert response.status_code == 403
    assert (await console.client.get("/console")).status_code == 303


async def test_dashboard_shows_the_traffic(console: Platform) -> None:
    await seed_traffic(console)
    response = await login(console.client)
    assert response.status_code == 303
    assert "honnin_console" in console.client.cookies
    page = await console.client.get("/console")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.text.count("<svg") >= 4
    assert "sakura_oidc" in page.text
    summary: dict[str, Any] = (await console.client.get("/console/summary.json")).json()
    assert summary["totals"] == {"ok": 4, "denied": 1, "error": 1, "total": 6}
    banks = {b["id"]: b for b in summary["banks"]}
    assert banks["sakura_oidc"]["latency_avg_ms"] == 400
    assert banks["momiji_rest"]["latency_max_ms"] == 900
    assert {(f["bank_id"], f["enterprise_id"], f["count"]) for f in summary["flows"]} == {
        ("sakura_oidc", "ent_acme", 2),
        ("momiji_rest", "ent_beta", 1),
    }
    assert sum(p["total"] for p in summary["timeline"]) == 6
    export = await console.client.get("/console/export")
    assert len(export.text.strip().splitlines()) == 7

    logout = await console.client.post("/console/logout", data={"csrf": _csrf(page.text)})
    assert logout.status_code == 303
    assert (await console.client.get("/console")).status_code == 303


async def test_console_is_disabled_without_a_password_hash(platform: Platform) -> None:
    response = await platform.client.get("/console/login")
    assert response.status_code == 503
    assert "HONNIN_TRACE_CONSOLE_PASSWORD_HASH" in response.text


async def test_static_files_are_whitelisted(console: Platform) -> None:
    assert (await console.client.get("/console/static/console.css")).status_code == 200
    assert (await console.client.get("/console/static/..%2Fconsole.py")).status_code == 404


# --- receipts ---------------------------------------------------------------------------


async def _receipt(platform: Platform, *, purpose: str = "account_opening") -> tuple[str, str]:
    created = await platform.new_enterprise("Acme")
    enterprise_id = created["enterprise"]["id"]
    await platform.add_bank("sakura_oidc", "Sakura Bank")
    await platform.add_contract(enterprise_id, "sakura_oidc")
    trace: TraceService = platform.app.state.trace

    rows = [
        trace.event_row(
            kind=kind,
            object_id="inq_r1",
            enterprise_id=enterprise_id,
            bank_id="sakura_oidc",
            claims=["family_name", "birthdate"],
            outcome=outcome,
        )
        for kind, outcome in (("consent.given", "consented"), ("bank.fetched", "match"))
    ]
    receipt, issued = trace.receipt_row(
        object_id="inq_r1", enterprise_id=enterprise_id, bank_id="sakura_oidc", purpose=purpose
    )
    rows.append(receipt)

    def consent_with_receipt(connection: Connection) -> IssuedReceipt:
        for row in rows:
            connection.execute(insert(row.table), dict(row.values))
        return issued

    issued = await platform.app.state.database.run(consent_with_receipt)
    assert issued.url.endswith(issued.token)
    return issued.token, enterprise_id


async def test_receipt_lists_what_was_shared_and_records_one_revocation(platform: Platform) -> None:
    token, _ = await _receipt(platform)
    page = await platform.client.get(f"/receipts/{token}")
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Acme" in page.text
    assert "Sakura Bank" in page.text
    assert "birthdate, family_name" in page.text
    csrf = _csrf(page.text)

    forged = await platform.client.post(f"/receipts/{token}/revocation", data={"csrf": "x" * 43})
    assert forged.status_code == 403
    for _ in range(2):
        done = await platform.client.post(f"/receipts/{token}/revocation", data={"csrf": csrf})
        assert done.status_code == 200
        assert "Revocation requested" in done.text
    async with platform.app.state.database.session() as session:
        rows = await assert_trace(
            session, ["consent.given", "bank.fetched", "revocation.requested"], object_id="inq_r1"
        )
        audit = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "trace.revocation_requested")
            )
        ).all()
    assert rows[-1].outcome == "requested"
    assert len(audit) == 1


async def test_revocation_refused_where_the_law_requires_keeping(platform: Platform) -> None:
    token, _ = await _receipt(platform, purpose="aml_record_keeping")
    page = await platform.client.get(f"/receipts/{token}")
    assert "Revocation is not available" in page.text
    response = await platform.client.post(
        f"/receipts/{token}/revocation", data={"csrf": _csrf_for(platform, token)}
    )
    assert response.status_code == 409
    async with platform.app.state.database.session() as session:
        await assert_trace(session, ["consent.given", "bank.fetched"], object_id="inq_r1")


def _csrf_for(platform: Platform, token: str) -> str:
    from honnin.trace.console_auth import receipt_csrf

    return receipt_csrf(platform.app.state.trace_console.key, token)


async def test_unknown_receipt_link_is_404(platform: Platform) -> None:
    response = await platform.client.get("/receipts/" + "A" * 43)
    assert response.status_code == 404
    assert "unknown or has expired" in response.text


async def test_events_page_filters_and_pages(console: Platform) -> None:
    await seed_traffic(console)
    assert (await console.client.get("/console/events")).status_code == 303
    await login(console.client)
    page = await console.client.get("/console/events", params={"bank_id": "momiji_rest"})
    assert page.status_code == 200
    assert page.text.count("<tr class=") == 3
    assert "sakura_oidc</td>" not in page.text
    bad = await console.client.get("/console/events", params={"since": "yesterday"})
    assert bad.status_code == 200
    assert "since is not a date and time" in bad.text
    forged = await console.client.get("/console/events", params={"cursor": "zzz"})
    assert "cursor is not one this API returned" in forged.text


def test_login_throttle_counts_failures_per_client_in_a_window() -> None:
    throttle = LoginThrottle(max_failures=3, window_seconds=60, max_clients=2)
    for t in (0.0, 1.0, 2.0):
        assert not throttle.blocked("a", now=t)
        throttle.failed("a", now=t)
    assert throttle.blocked("a", now=3.0)
    assert not throttle.blocked("b", now=3.0)
    assert not throttle.blocked("a", now=61.5)  # the first failure left the window
    throttle.failed("b", now=70.0)
    throttle.failed("c", now=70.0)
    assert "a" not in throttle._failures  # bounded: the oldest client is forgotten
    throttle.succeeded("b")
    assert not throttle.blocked("b", now=71.0)


async def test_repeated_wrong_passwords_are_throttled(console: Platform) -> None:
    for _ in range(10):
        assert (await login(console.client, password="wrong")).status_code == 401
    blocked = await login(console.client)  # even the right password, for a while
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
