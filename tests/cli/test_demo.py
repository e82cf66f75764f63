"""``honnin demo`` as a newcomer runs it: a real process, real HTTP, Ctrl-C to stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from honnin.sandbox.banks import complete_authorization_sync
from support.server import free_port

HONNIN = str(Path(sys.executable).parent / "honnin")


def start_demo(cwd: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONNIN_")}
    return subprocess.Popen(
        [HONNIN, "demo", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(base_url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("demo did not become ready")


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return out, err


def banner_info(stdout: str) -> dict[str, Any]:
    info, _end = json.JSONDecoder().raw_decode(stdout, stdout.index("{"))
    assert isinstance(info, dict)
    return info


def test_demo_serves_prints_credentials_and_restarts_on_same_state(tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = start_demo(tmp_path, port)
    wait_ready(base_url, process)
    token = httpx.post(
        base_url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(
            "demo-enterprise",
            json.loads((tmp_path / "var/demo-credentials.json").read_text())["client_secret"],
        ),
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    banks = httpx.get(base_url + "/v1/banks", headers=bearer).json()
    assert {b["id"] for b in banks["banks"]} == {"sakura_oidc", "momiji_rest", "kaede_xml"}
    # The README's "A bank inquiry by hand", with the sandbox's automated user as the person.
    created = httpx.post(
        base_url + "/v1/bank-inquiries",
        headers=bearer,
        json={
            "bank_id": "kaede_xml",
            "purpose": "account_opening",
            "claims": ["family_name", "given_name", "birthdate", "address"],
            "applicant": {
                "family_name": "佐藤",
                "given_name": "花子",
                "birthdate": "1990-04-01",
                "address": "東京都千代田区丸の内1-1-1",
            },
            "return_url": base_url + "/demo/return",
        },
    ).json()
    callback = complete_authorization_sync(created["authorization_url"], username="sato")
    landed = httpx.get(callback, follow_redirects=True)
    assert "completed" in landed.text
    result = httpx.get(f"{base_url}/v1/bank-inquiries/{created['id']}", headers=bearer).json()
    assert result["status"] == "completed"
    assert result["result"]["match"]["overall"] == "match"
    out, _ = stop(process)
    first = banner_info(out)
    assert first["client_id"] == "demo-enterprise"
    assert first["platform"] == base_url
    assert set(first["sandbox_banks"]) == {"sakura_oidc", "momiji_rest", "kaede_xml"}
    assert first["console"]["url"] == base_url + "/console"
    assert "Honnin demo stopped." in out
    assert (tmp_path / "var/honnin.db").exists()

    again = start_demo(tmp_path, port)
    wait_ready(base_url, again)
    # The old token still verifies: keys, secrets and data were reused, not regenerated.
    response = httpx.get(base_url + "/v1/banks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    out, _ = stop(again)
    second = banner_info(out)
    assert second["client_secret"] == first["client_secret"]
    assert second["enterprise_id"] == first["enterprise_id"]
