"""Run sandbox banks on loopback ports inside one process (uvicorn, one event loop).

``honnin demo``, end-to-end tests and benchmarks start the three banks with::

    with SandboxBanks(clients=[...]) as banks:        # a background thread
        banks.base_urls["momiji_rest"]                 # "http://127.0.0.1:41235"

    async with SandboxBanks(clients=[...]) as banks:  # tasks in the running loop
        ...

Each bank's socket is bound before its app is built, so the issuer URL (which appears
in metadata, the RFC 9207 ``iss`` parameter and ID tokens) names the real port even
when port 0 asks the kernel for a free one.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Coroutine, Generator, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import uvicorn

from honnin.sandbox.banks.clients import ClientRegistration
from honnin.sandbox.banks.errors import BankStartError
from honnin.sandbox.banks.faults import Fault
from honnin.sandbox.banks.profiles import BANK_IDS, get_profile
from honnin.sandbox.banks.server import SandboxBank

START_TIMEOUT_S = 15.0


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on the event loop uvicorn picks by default: uvloop where installed.

    ``uvicorn.run`` chooses it for the platform; banks embedded in a loop of their own
    used to run on asyncio's pure-Python selector loop instead (docs/benchmarks.md,
    inquiry, thirteenth round).
    """
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop  # not installed on Windows (pyproject.toml)
    except ImportError:  # pragma: no cover - a dependency on POSIX
        return None
    return uvloop.new_event_loop


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to whoever embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass(slots=True)
class _Running:
    bank: SandboxBank
    server: _EmbeddedServer
    sock: socket.socket
    base_url: str


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it every response written in two parts (head, then body) waited for the
    # client's delayed ACK, 40 ms on Linux. Accepted connections inherit the option.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        msg = f"cannot bind {host}:{port}: {exc.strerror}"
        raise BankStartError(msg) from exc
    sock.set_inheritable(False)
    return sock


class SandboxBanks:
    """Start and stop a set of sandbox banks; ``base_urls`` maps bank id to URL."""

    def __init__(
        self,
        *,
        banks: Iterable[str] = BANK_IDS,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        clients: Iterable[ClientRegistration] = (),
        faults: Mapping[str, Iterable[Fault]] | None = None,
        admin_token: str | None = None,
        issuers: Mapping[str, str] | None = None,
        log_level: str = "warning",
    ) -> None:
        self.bank_ids = tuple(banks)
        for bank_id in self.bank_ids:
            get_profile(bank_id)  # fail early on a typo
        self.host = host
        self.ports = dict(ports or {})
        self.clients = list(clients)
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.admin_token = admin_token
        self.issuers = dict(issuers or {})
        self.log_level = log_level
        self._running: dict[str, _Running] = {}
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    # ------------------------------------------------------------------ accessors

    @property
    def base_urls(self) -> dict[str, str]:
        return {bank_id: running.base_url for bank_id, running in self._running.items()}

    def bank(self, bank_id: str) -> SandboxBank:
        return self._running[bank_id].bank

    def __getitem__(self, bank_id: str) -> SandboxBank:
        return self.bank(bank_id)

    # ------------------------------------------------------------------ building

    def _prepare(self) -> None:
        if self._running:
            raise BankStartError("sandbox banks already started")
        try:
            for bank_id in self.bank_ids:
                sock = _bind(self.host, self.ports.get(bank_id, 0))
                port = sock.getsockname()[1]
                shown_host = f"[{self.host}]" if ":" in self.host else self.host
                base_url = self.issuers.get(bank_id) or f"http://{shown_host}:{port}"
                bank = SandboxBank(
                    bank_id,
                    issuer=base_url,
                    clients=self.clients,
                    faults=self.faults.get(bank_id, ()),
                    admin_token=self.admin_token,
                )
                config = uvicorn.Config(
                    bank.app,
                    log_level=self.log_level,
                    access_log=False,
                    lifespan="off",
                    http="auto",  # httptools when installed, else h11
                    proxy_headers=False,  # loopback banks sit behind no proxy
                    server_header=False,
                    backlog=2048,
                    timeout_graceful_shutdown=1,
                    timeout_keep_alive=30,
                )
                self._running[bank_id] = _Running(bank, _EmbeddedServer(config), sock, base_url)
        except BaseException:
            self._close_sockets()
            self._running.clear()
            raise

    def _close_sockets(self) -> None:
        for running in self._running.values():
            running.sock.close()

    async def _start_tasks(self) -> None:
        self._tasks = [
            asyncio.create_task(r.server.serve(sockets=[r.sock]), name=f"sandbox-{bank_id}")
            for bank_id, r in self._running.items()
        ]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while not all(r.server.started for r in self._running.values()):
            failed = [task for task in self._tasks if task.done()]
            if failed or loop.time() > deadline:
                await self._stop_tasks()
                raise BankStartError("a sandbox bank did not start")
            await asyncio.sleep(0.01)

    async def _stop_tasks(self) -> None:
        for running in self._running.values():
            running.server.should_exit = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._close_sockets()

    # ------------------------------------------------------------------ async mode

    async def start_async(self) -> dict[str, str]:
        """Serve the banks as tasks of the running event loop; return their base URLs."""
        self._prepare()
        try:
            await self._start_tasks()
        except BaseException:
            self._running.clear()
            raise
        return self.base_urls

    async def stop_async(self) -> None:
        await self._stop_tasks()
        self._running.clear()

    async def __aenter__(self) -> SandboxBanks:
        await self.start_async()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_async()

    # ------------------------------------------------------------------ thread mode

    def start(self) -> dict[str, str]:
        """Serve the banks from a background thread with its own loop; return base URLs."""
        self._prepare()
        ready = threading.Event()
        self._thread_error = None

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop_event = asyncio.Event()
            try:
                await self._start_tasks()
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                self._thread_error = exc
                ready.set()
                return
            ready.set()
            await self._stop_event.wait()
            await self._stop_tasks()

        self._thread = threading.Thread(
            target=_run_loop, args=(main(),), name="sandbox-banks", daemon=True
        )
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S + 5) or self._thread_error is not None:
            self._running.clear()
            raise BankStartError("sandbox banks did not start") from self._thread_error
        return self.base_urls

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        if self._loop is not None and self._stop_event is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)
        thread.join(timeout=15)
        self._thread = None
        self._running.clear()

    def __enter__(self) -> SandboxBanks:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ foreground

    def serve_forever(self, *, on_ready: Callable[[dict[str, str]], Any] | None = None) -> None:
        """Serve in the foreground until SIGINT/SIGTERM (the ``honnin sandbox`` commands)."""

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await self.start_async()
            if on_ready is not None:
                on_ready(self.base_urls)
            await stop.wait()
            await self.stop_async()

        _run_loop(main())
