"""``honnin admin`` / ``db`` / ``serve`` from the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from honnin.cli import app
from support.platform import production_secret_env


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "HONNIN_DATABASE_URL": database_url,
        **production_secret_env(),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def run(*args: str) -> dict | list:  # type: ignore[type-arg]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_admin_round_trip(env: dict[str, str]) -> None:
    created = run("admin", "enterprise", "add", "Acme KK", "--scopes", "banks:read")
    assert created["client_secret"]
    assert created["scopes"] == ["banks:read"]
    enterprise_id = created["enterprise"]["id"]
    run("admin", "bank", "add", "momiji_rest", "--name", "Momiji")
    contract = run(
        "admin",
        "contract",
        "add",
        "--enterprise",
        enterprise_id,
        "--bank",
        "momiji_rest",
        "--claims",
        "family_name,birthdate",
        "--purposes",
        "account_opening",
        "--valid-until",
        "2099-01-01T00:00:00+09:00",
        "--daily-quota",
        "1000",
    )
    assert contract["claims"] == ["birthdate", "family_name"]
    assert contract["daily_quota"] == 1000
    listed = run("admin", "contract", "list", "--enterprise", enterprise_id)
    assert [c["id"] for c in listed] == [contract["id"]]
    revoked = run("admin", "contract", "revoke", contract["id"], "--reason", "test")
    assert revoked["status"] == "revoked"
    assert [e["id"] for e in run("admin", "enterprise", "list")] == [enterprise_id]
    assert run("admin", "enterprise", "revoke", enterprise_id)["status"] == "revoked"
    assert run("admin", "keys", "rotate")["kid"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["admin", "bank", "add", "Bad Id", "--name", "x"], "bank id"),
        (
            [
                "admin",
                "contract",
                "add",
                "--enterprise",
                "ent_x",
                "--bank",
                "b",
                "--claims",
                "family_name",
                "--purposes",
                "p",
                "--valid-until",
                "tomorrow",
            ],
            "--valid-until",
        ),
        (
            [
                "admin",
                "contract",
                "add",
                "--enterprise",
                "ent_missing",
                "--bank",
                "momiji_rest",
                "--claims",
                "family_name",
                "--purposes",
                "p",
            ],
            "enterprise_not_found",
        ),
        (["admin", "contract", "revoke", "ctr_missing"], "contract_not_found"),
    ],
)
def test_admin_errors_are_one_line(env: dict[str, str], args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert message in lines[0]


def test_serve_refuses_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HONNIN_ADMIN_TOKEN", "HONNIN_DATA_KEY", "HONNIN_SUBJECT_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HONNIN_LEDGER_SIGNING_KEY", "")
    monkeypatch.setenv("HONNIN_WEBHOOK_SECRET", "change-me")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert "HONNIN_ADMIN_TOKEN" in message
    assert "HONNIN_DATA_KEY" in message
    assert "HONNIN_WEBHOOK_SECRET" in message  # a default value counts as missing
    assert "HONNIN_LEDGER_SIGNING_KEY" in message
    assert len(message.splitlines()) == 1


def test_serve_requires_a_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HONNIN_DATABASE_URL", raising=False)
    for key, value in production_secret_env().items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "HONNIN_DATABASE_URL" in result.stderr


def test_admin_on_unmigrated_database_says_so(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HONNIN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    for key, value in production_secret_env().items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["admin", "bank", "list"])
    assert result.exit_code == 1
    assert "honnin db upgrade" in result.stderr
    upgraded = CliRunner().invoke(app, ["db", "upgrade", "--json"])
    assert upgraded.exit_code == 0, upgraded.output
    assert CliRunner().invoke(app, ["admin", "bank", "list"]).exit_code == 0
