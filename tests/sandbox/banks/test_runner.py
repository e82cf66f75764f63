"""Starting banks in-process (async and thread modes), admin API, expiry, Authlib client."""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from honnin.sandbox.banks import (
    ClientRegistration,
    SandboxBank,
    SandboxBanks,
    complete_authorization,
    hash_client_secret,
)
from honnin.sandbox.banks.errors import BankStartError
from honnin.sandbox.banks.runner import _bind, _run_loop

SECRET = "runner-secret"
REDIRECT = "http://127.0.0.1:9/cb"
CLIENT = ClientRegistration(
    client_id="runner",
    redirect_uris=(REDIRECT,),
    client_secret_hash=hash_client_secret(SECRET),
)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_async_mode_with_authlib_client_end_to_end() -> None:
    async with SandboxBanks(banks=["momiji_rest", "kaede_xml"], clients=[CLIENT]) as banks:
        assert set(banks.base_urls) == {"momiji_rest", "kaede_xml"}
        base = banks.base_urls["momiji_rest"]
        verifier = "v" * 64
        async with AsyncOAuth2Client(
            client_id="runner",
            client_secret=SECRET,
            redirect_uri=REDIRECT,
            scope="kyc",
            code_challenge_method="S256",
        ) as oauth:
            url, state = oauth.create_authorization_url(f"{base}/authorize", code_verifier=verifier)
            assert "code_challenge=" + create_s256_code_challenge(verifier) in url
            callback = await complete_authorization(url, username="kobayashi")
            assert query_of(callback)["iss"] == base
            token = await oauth.fetch_token(
                f"{base}/token",
                authorization_response=callback,
                code_verifier=verifier,
                state=state,
            )
            assert token["token_type"].lower() == "bearer"
            record = await oauth.get(f"{base}/api/v1/customer")
        assert record.json()["birth_date"] == "20190501"
    assert banks.base_urls == {}


def test_thread_mode_fixed_port_and_port_in_use() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    banks = SandboxBanks(banks=["kaede_xml"], ports={"kaede_xml": port})
    urls = banks.start()
    try:
        assert urls == {"kaede_xml": f"http://127.0.0.1:{port}"}
        assert httpx.get(f"{urls['kaede_xml']}/healthz").json()["bank"] == "kaede_xml"
        with pytest.raises(BankStartError):
            SandboxBanks(banks=["kaede_xml"], ports={"kaede_xml": port}).start()
    finally:
        banks.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{urls['kaede_xml']}/healthz")


def test_unknown_bank_is_refused() -> None:
    with pytest.raises(Exception, match="unknown sandbox bank"):
        SandboxBanks(banks=["nope"])


def _asgi(bank: SandboxBank) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=bank.app), base_url=bank.issuer)


async def test_admin_token_and_runtime_client_registration() -> None:
    bank = SandboxBank("momiji_rest", issuer="http://127.0.0.1:1", admin_token="adm")
    async with _asgi(bank) as http:
        assert (await http.get("/admin/stats")).status_code == 401
        auth = {"Authorization": "Bearer adm"}
        created = await http.post(
            "/admin/clients",
            headers=auth,
            json={"client_id": "late", "redirect_uris": [REDIRECT], "client_secret": "x" * 16},
        )
        assert created.status_code == 201
        assert "x" * 16 not in created.text
        listed = (await http.get("/admin/clients", headers=auth)).json()
        assert [c["client_id"] for c in listed] == ["late"]
        bad = await http.post("/admin/clients", headers=auth, json={"client_id": "x"})
        assert bad.status_code == 400
        assert bad.json()["error"] == "invalid_client_registration"


async def test_expired_code_and_token_are_refused() -> None:
    now = [1_000_000.0]
    bank = SandboxBank(
        "momiji_rest", issuer="http://127.0.0.1:1", clients=[CLIENT], clock=lambda: now[0]
    )
    verifier = "w" * 64
    params = {
        "response_type": "code",
        "client_id": "runner",
        "redirect_uri": REDIRECT,
        "scope": "kyc",
        "state": "s",
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    async with _asgi(bank) as http:
        url = str(httpx.URL(f"{bank.issuer}/authorize", params=params))

        async def code() -> str:
            return query_of(await complete_authorization(url, username="sato", http=http))["code"]

        def exchange(value: str) -> Any:
            return http.post(
                "/token",
                data={
                    "grant_type": "authorization_code",
                    "code": value,
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                },
                auth=("runner", SECRET),
            )

        stale = await code()
        now[0] += 61
        assert (await exchange(stale)).json()["error"] == "invalid_grant"
        token = (await exchange(await code())).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert (await http.get("/api/v1/customer", headers=headers)).status_code == 200
        now[0] += 601
        assert (await http.get("/api/v1/customer", headers=headers)).status_code == 401


def test_listening_sockets_are_tcp_with_nodelay() -> None:
    # asyncio sets TCP_NODELAY on accepted sockets only when the socket says it is TCP;
    # without it a response written as head + body waited 40 ms for a delayed ACK.
    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()


def test_banks_run_on_the_loop_uvicorn_would_choose() -> None:
    # The foreground command and thread mode both run their loop through _run_loop.
    uvloop = pytest.importorskip("uvloop")
    seen: list[asyncio.AbstractEventLoop] = []

    async def record() -> None:
        seen.append(asyncio.get_running_loop())

    _run_loop(record())
    assert isinstance(seen[0], uvloop.Loop)
