"""The console in a real browser: Debian's Chromium logs in and renders the dashboard.

Data comes from a demo day of broker traffic recorded through TraceService, plus an
operator closure of one bank; the screenshot is saved under the test's tmp_path (and
copied to $HONNIN_TRACE_SCREENSHOT when set, which is how docs/images/console.png is made).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from honnin.app import create_app
from honnin.db import Database
from honnin.gateway.models import ServiceClosure
from honnin.trace.console_auth import hash_password
from support.platform import platform_settings
from support.server import serve_in_thread
from support.trace import seed_demo_traffic

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "console-browser-test-password"


async def _seed(url: str, now: datetime) -> None:
    database = Database(url)
    try:
        await seed_demo_traffic(database, now=now, inquiries=160)
        async with database.transaction() as session:
            session.add(
                ServiceClosure(
                    scope="bank",
                    target="kaede_xml",
                    reason="maintenance",
                    reopen_at=now + timedelta(hours=2),
                    closed_by="admin:ops",
                    closed_at=now,
                )
            )
    finally:
        await database.dispose()


def test_operator_logs_in_and_sees_the_dashboard(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_seed(database_url, datetime.now(UTC)))
    settings = platform_settings(
        database_url,
        trace_console_password_hash=hash_password(PASSWORD),
        base_url="http://127.0.0.1",
    )
    screenshot = tmp_path / "console.png"
    with (
        serve_in_thread(create_app(settings)) as base,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(base + "/console")
            assert page.url.endswith("/console/login")
            page.fill("input[name=username]", "operator")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/console")
            assert page.locator("h2", has_text="Data flow").count() == 1
            assert page.locator("svg.chart").count() >= 4
            assert page.locator("svg.chart path.flow").count() >= 6  # 3 banks x several firms
            assert page.locator("svg.chart rect.ok").count() > 10  # timeline columns
            services = page.locator("table", has_text="Services")
            assert "closed: maintenance" in page.content()
            del services
            # Laptop screen: no horizontal scrolling.
            assert page.evaluate("document.documentElement.scrollWidth") <= 1366
            page.screenshot(path=str(screenshot), full_page=True)
            page.click("a:text('Events')")
            page.select_option("select[name=kind]", "consent.refused")
            page.click("form.filters button")
            rows = page.locator("table.events tbody tr.denied")
            assert rows.count() > 0
            assert rows.count() == page.locator("table.events tbody tr").count()
            page.screenshot(path=str(tmp_path / "events.png"))
        finally:
            browser.close()
    assert screenshot.stat().st_size > 20_000
    target = os.environ.get("HONNIN_TRACE_SCREENSHOT")
    if target:
        shutil.copyfile(screenshot, target)
