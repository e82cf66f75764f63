"""``honnin admin service close|open|list`` on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from honnin.cli import app
from support.platform import (
    ADMIN_HEADERS,
    platform_settings,
    production_secret_env,
    running_platform,
)


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    values = {
        "HONNIN_DATABASE_URL": database_url,
        **production_secret_env(),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return database_url


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_close_list_open_round_trip(env: str) -> None:
    closed = run(
        "admin", "service", "close", "bank", "momiji_rest",
        "--reason", "bank maintenance", "--reopen-at", "2099-01-01T09:00:00+09:00",
    )  # fmt: skip
    assert closed["scope"] == "bank"
    assert datetime.fromisoformat(closed["reopen_at"]) == datetime(2099, 1, 1, tzinfo=UTC)
    assert closed["closed_by"].startswith("cli:")
    assert [c["target"] for c in run("admin", "service", "list")] == ["momiji_rest"]

    async def seen_by_the_app() -> None:
        async with running_platform(platform_settings(env)) as platform:
            listed = await platform.client.get("/admin/v1/service/closures", headers=ADMIN_HEADERS)
            assert listed.json()["closures"][0]["reason"] == "bank maintenance"
            wait = await platform.app.state.gateway.closures.bank_closed_for("momiji_rest")
            assert wait > 1000

    asyncio.run(seen_by_the_app())
    opened = run("admin", "service", "open", "bank", "momiji_rest")
    assert opened["target"] == "momiji_rest"
    assert run("admin", "service", "list") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["close", "galaxy", "x"], "scope must be one of"),
        (["close", "api", "banks", "--reopen-at", "tomorrow"], "ISO 8601"),
        (["close", "api", "banks", "--reopen-at", "2099-01-01T00:00:00"], "UTC offset"),
        (["open", "api", "banks"], "not closed"),
    ],
)
def test_bad_input_fails_with_one_line(env: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["admin", "service", *args, "--json"])
    assert result.exit_code != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
