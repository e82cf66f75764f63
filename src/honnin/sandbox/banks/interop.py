"""A third-party OpenID provider as a bank: node ``oidc-provider`` from the npm registry.

``interop/oidc-provider/`` holds ``package.json``, the committed ``package-lock.json``
and ``server.mjs`` (authorization code + PKCE, RFC 9207 ``iss``, OIDC4IDA
``verified_claims`` for the ``kyc`` scope or the ``claims`` parameter). This module
installs it with ``npm ci`` when ``node_modules`` is missing and runs it on a loopback
port, serving the same seeded customers as the Python sandbox banks.
"""

from __future__ import annotations

import json
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from honnin.sandbox.banks.customers import CUSTOMERS, customer_number
from honnin.sandbox.banks.errors import BankStartError
from honnin.sandbox.banks.formats import DATA_ITEMS, sakura_verified_claims

INTEROP_DIR = Path(__file__).resolve().parents[4] / "interop" / "oidc-provider"
NPM_CI_TIMEOUT_S = 600
START_TIMEOUT_S = 20.0


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = f"'{name}' is not installed (Debian package nodejs, see scripts/system-packages.txt)"
        raise BankStartError(msg)
    return path


def ensure_installed(directory: Path = INTEROP_DIR) -> Path:
    """Run ``npm ci`` (exact versions from the lock file) unless already installed."""
    if (directory / "node_modules" / "oidc-provider" / "package.json").is_file():
        return directory
    if not (directory / "package-lock.json").is_file():
        raise BankStartError(f"no package-lock.json in {directory}")
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [_tool("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=NPM_CI_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        tail = " ".join(result.stderr.split()[-30:])
        raise BankStartError(f"npm ci failed in {directory}: {tail}")
    return directory


def interop_accounts() -> dict[str, dict[str, Any]]:
    """The sandbox customers as oidc-provider accounts with their ``verified_claims``."""
    return {
        customer.username: {
            "password": customer.password,
            "sub": customer_number("interop_op", customer),
            "verified_claims": sakura_verified_claims(customer, DATA_ITEMS),
        }
        for customer in CUSTOMERS
    }


class InteropProvider:
    """Start and stop ``server.mjs``; ``issuer`` is its base URL once started.

    ``clients`` are oidc-provider client metadata objects (``client_id``,
    ``client_secret``, ``redirect_uris``, optionally ``token_endpoint_auth_method``).
    """

    def __init__(
        self,
        *,
        clients: Iterable[Mapping[str, Any]],
        host: str = "127.0.0.1",
        port: int = 0,
        directory: Path = INTEROP_DIR,
    ) -> None:
        self.clients = [dict(client) for client in clients]
        self.host = host
        self.port = port
        self.directory = directory
        self.issuer = ""
        self._process: subprocess.Popen[str] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> str:
        ensure_installed(self.directory)
        self._workdir = tempfile.TemporaryDirectory(prefix="honnin-interop-")
        work = Path(self._workdir.name)
        (work / "accounts.json").write_text(json.dumps(interop_accounts(), ensure_ascii=False))
        (work / "clients.json").write_text(json.dumps(self.clients))
        log = (work / "server.log").open("w")
        command = [
            _tool("node"),
            str(self.directory / "server.mjs"),
            f"--host={self.host}",
            f"--port={self.port}",
            f"--accounts={work / 'accounts.json'}",
            f"--clients={work / 'clients.json'}",
        ]
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command, cwd=self.directory, stdout=subprocess.PIPE, stderr=log, text=True
        )
        log.close()
        line = self._first_line(self._process)
        try:
            self.issuer = str(json.loads(line)["issuer"])
        except (ValueError, KeyError, TypeError):
            self.stop()
            errors = (work / "server.log").read_text()[-500:] if work.exists() else ""
            raise BankStartError(f"oidc-provider did not start: {errors.strip()}") from None
        return self.issuer

    @staticmethod
    def _first_line(process: subprocess.Popen[str]) -> str:
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=0.1):
                    return process.stdout.readline()
                if process.poll() is not None:
                    return ""
        return ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> InteropProvider:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
