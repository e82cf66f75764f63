"""The login and consent pages work in a real browser (Debian's Chromium via Playwright).

A plain form post, no script: Chromium fills in the login form, reads the data listed on
the consent page, clicks allow (or deny) and is sent to the client's redirect URI with
``code``, ``state`` and ``iss``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Route, sync_playwright

from honnin.sandbox.banks import SandboxBanks

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.mark.parametrize(
    ("bank_id", "decision"),
    [("sakura_oidc", "allow"), ("kaede_xml", "allow"), ("momiji_rest", "deny")],
)
def test_click_through_login_and_consent(
    browser: Browser, make_flow: Any, banks: SandboxBanks, bank_id: str, decision: str
) -> None:
    flow = make_flow(bank_id)
    url = flow.authorization_url()
    page = browser.new_page(locale="ja-JP")
    landed: list[str] = []

    def callback(route: Route) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>client</p>")

    page.route("http://127.0.0.1:9/**", callback)
    try:
        page.goto(url)
        assert banks.bank(bank_id).profile.display_name in page.content()
        page.fill("#username", "yamasaki")
        page.fill("#password", "sandbox")
        page.click("#login")
        table = page.inner_text("#shared-data")
        assert "山﨑\u3000美咲" in table
        assert "昭和64年1月7日" in table
        page.click(f"#{decision}")
        page.wait_for_url("http://127.0.0.1:9/**")
    finally:
        page.close()
    answer = {k: v[0] for k, v in parse_qs(urlsplit(landed[-1]).query).items()}
    assert answer["iss"] == banks.base_urls[bank_id]
    assert answer["state"] == flow.state
    if decision == "allow":
        assert flow.token_request(answer["code"]).status_code == 200
    else:
        assert answer["error"] == "access_denied"
