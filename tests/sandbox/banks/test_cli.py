"""``honnin sandbox bank`` runs a bank in the foreground and prints where it listens."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from honnin.cli import app


def test_bank_command_serves_until_interrupted(tmp_path: Path) -> None:
    clients = tmp_path / "clients.yaml"
    clients.write_text(
        "clients:\n"
        "  - client_id: demo\n"
        "    redirect_uris: [http://127.0.0.1:8000/callback]\n"
        "    client_secret: demo-secret-demo-secret\n"
    )
    # Only the sandbox commands are loaded: importing the whole ``honnin`` CLI would also
    # import every other package (models included) and dominate the test's time.
    program = (
        "import typer; from honnin.sandbox.banks.cli import register; "
        "app = typer.Typer(); register(app); app()"
    )
    command = [
        sys.executable,
        "-c",
        program,
        "bank",
        "kaede_xml",
        "--port",
        "0",
        "--clients",
        str(clients),
        "--json",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = []
        while not lines or lines[-1] != "}\n":
            line = process.stdout.readline()
            assert line, "the command exited before printing its URLs"
            lines.append(line)
        printed = json.loads("".join(lines))
        base = printed["banks"]["kaede_xml"]
        assert printed["clients"] == ["demo"]
        metadata = httpx.get(f"{base}/.well-known/oauth-authorization-server").json()
        assert metadata["issuer"] == base
        assert [c["client_id"] for c in httpx.get(f"{base}/admin/clients").json()] == ["demo"]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_unknown_bank_is_a_one_line_error() -> None:
    result = CliRunner().invoke(app, ["sandbox", "bank", "nope"])
    assert result.exit_code == 1
    assert "unknown bank 'nope'" in result.output
