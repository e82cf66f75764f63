"""Bank inquiries end to end: flows/s through Honnin and the latency Honnin adds.

``honnin bench inquiry [-o flows=400] [-o concurrency=100] [-o rate=R] [-o latency_ms=20]
[-o bank=momiji_rest] [-o database_url=postgresql+asyncpg://...] [-o workers=1]
[-o webhooks=1] [-o keep=1] [-o against=PATH -o slices=8]`` (keep: keep the work directory
with the processes' log). A PostgreSQL ``database_url`` names the server: the run creates a
database of its own there and drops it afterwards (bench/_scratch.py).

``against`` compares two versions of the platform in one run: a second platform runs from
another checkout's ``src`` directory (``PYTHONPATH``), beside this one, against the same
bank and database server (its own database), and the load alternates between the two in
``slices`` pairs of ``flows`` flows, in the order A B B A A B ... On this box the figures
of separate runs drift by 10-25 %; slices a few seconds apart see the same drift.

Three processes on loopback, as deployed: one sandbox bank (``honnin sandbox bank``, with
``latency_ms`` injected at its token and KYC endpoints), the platform (``honnin serve``, one
worker, SQLite unless ``database_url`` is given) and this load generator. Each flow is the
whole inquiry: the enterprise creates it, the user (the sandbox's automated user) follows
Honnin's link to the bank, logs in and consents, the bank redirects to Honnin's callback
(token exchange, KYC fetch, mapping, matching, result and outbox written), and the
enterprise reads the result.

Two ways to load it. Closed loop (the default): ``concurrency`` flows run back to back, each
starting when one ends, so the platform is saturated and flows/s is its capacity; by
Little's law every flow then takes about ``concurrency / flows_per_s``, and the "added"
latency is mostly queueing. Open loop (``rate``): flows arrive at ``rate`` per second
(Poisson arrivals, fixed seed, at most ``concurrency`` in flight), whether or not earlier
ones are done; a flow's latency counts from its scheduled arrival, so time spent waiting
for a slot is not hidden (no coordinated omission). Below saturation this is the latency
the platform adds to one flow at that load.

With ``webhooks=1`` the enterprise has a webhook URL: a receiver in this process (aiohttp
on loopback) checks each delivery's Standard Webhooks signature, and a flow through Honnin
ends only when its result has been read *and* its signed webhook has arrived. The figures
then include the outbox (claim, send, record) and report how long after the callback each
webhook arrived (``webhooks.lag_ms``). A delivery that is missing or badly signed (the
receiver answers 400, so Honnin retries it later) fails the run once a flow has waited
``WEBHOOK_WAIT_S`` for it; one that arrives again is counted (``webhooks.repeated``).

Baseline, in the same run against the same bank: the same user steps and the same
token + KYC calls made directly by a client, without Honnin. "Added" latency is the
difference of the two distributions' percentiles. Flow-control caps and the contract's
rate limit are raised for the run (a real deployment tunes them per bank), and that is
reported in the figures.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from aiohttp import web

from honnin.bench_runner import load
from honnin.inquiries import core
from honnin.ledger.note import SIG_COSIGNATURE_V1, SIG_ED25519, Signer
from honnin.sandbox.banks import complete_authorization
from honnin.sandbox.banks.agent import AgentResponse, UserAgent

CLAIMS = ["family_name", "given_name", "birthdate", "address"]
APPLICANT = {
    "family_name": "佐藤",
    "given_name": "花子",
    "birthdate": "1990-04-01",
    "address": "東京都千代田区丸の内1-1-1",
}
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
BANK_SECRET = "bench-bank-secret-0123456789abcdef"
HONNIN = str(Path(sys.executable).parent / "honnin")
THIS_SOURCE = Path(__file__).resolve().parents[1] / "src"
scratch_database = load("_scratch").scratch_database
# How long a flow waits for its webhook before the run fails (the outbox's first retry
# comes after 5 s; a delivery this late is a failure, not a figure).
WEBHOOK_WAIT_S = 30.0


def _cause(log: Path | None) -> str:
    """The last exception line of a process's log (``": name.Error: message"``), if any."""
    if log is None or not log.is_file():
        return ""
    lines = log.read_bytes()[-20_000:].decode("utf-8", "replace").splitlines()
    raised = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    return f": {raised[-1]}" if raised else ""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(
    url: str, process: subprocess.Popen[bytes], what: str, *, log: Path | None = None
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"{what} exited with {process.returncode}{_cause(log)}"
            raise RuntimeError(msg)
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    msg = f"{what} did not start"
    raise RuntimeError(msg)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live children (Linux /proc): uvicorn
    workers are children of ``honnin serve --workers N``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    total = (int(fields[11]) + int(fields[12])) / ticks
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else ():
        try:
            total += _cpu_seconds(int(child))
        except FileNotFoundError:  # the child exited meanwhile
            continue
    return total


def _machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine, all cores (Linux /proc/stat: every state but
    idle and iowait). It counts what the per-process figures do not: PostgreSQL's own
    work, and anything else running on the box."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(value) for value in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _ratio(platform_cpu: float, bank_cpu: float) -> float | None:
    """``platform_cpu / bank_cpu`` to 3 decimals; None when the bank used no CPU that the
    kernel's clock ticks could see (a run too short to say)."""
    return round(platform_cpu / bank_cpu, 3) if bank_cpu > 0 else None


def _lower(mine: float | None, theirs: float | None) -> bool:
    return mine is not None and theirs is not None and mine < theirs


def _mean(values: list[float | None]) -> float | None:
    """The mean of the slices that have a figure, to 3 decimals (None when none has)."""
    known = [value for value in values if value is not None]
    return round(statistics.mean(known), 3) if known else None


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def _run_flows(
    flow: Callable[[], Awaitable[None]], *, flows: int, concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(flows):
        queue.put_nowait(number)

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            started = time.perf_counter()
            await flow()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


def poisson_arrivals(*, flows: int, rate: float, seed: int = 9162) -> list[float]:
    """Scheduled start of each flow, in seconds from the first: a Poisson process at
    ``rate`` per second (exponential gaps), the same for every run with the same seed."""
    if flows < 0 or not rate > 0:
        msg = f"need flows >= 0 and rate > 0, got flows={flows} rate={rate}"
        raise ValueError(msg)
    draw = random.Random(seed)
    arrivals: list[float] = []
    at = 0.0
    for _ in range(flows):
        arrivals.append(at)
        at += draw.expovariate(rate)
    return arrivals


async def _run_arrivals(
    flow: Callable[[], Awaitable[None]], *, arrivals: list[float], concurrency: int
) -> tuple[float, list[float], int]:
    """Starts a flow at each arrival time (at most ``concurrency`` in flight); returns the
    elapsed time, each flow's latency from its scheduled arrival, and the most flows that
    were in flight (or waiting for a slot) at once."""
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    outstanding = 0
    most = 0

    async def one(scheduled: float) -> None:
        nonlocal outstanding, most
        outstanding += 1
        most = max(most, outstanding)
        try:
            async with slots:
                await flow()
            latencies.append(loop.time() - scheduled)
        finally:
            outstanding -= 1

    started = loop.time()
    tasks: list[asyncio.Task[None]] = []
    for offset in arrivals:
        delay = started + offset - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(started + offset)))
    await asyncio.gather(*tasks)
    return loop.time() - started, latencies, most


class WebhookSink:
    """The enterprise's webhook receiver: checks each delivery's signature and hands it to
    the flow waiting for that inquiry (whichever comes first, the webhook or the wait)."""

    def __init__(self) -> None:
        self.url = ""
        self.secret = b""
        self.arrived: dict[str, asyncio.Future[float]] = {}
        self.repeated = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = _port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _slot(self, inquiry_id: str) -> asyncio.Future[float]:
        if inquiry_id not in self.arrived:
            self.arrived[inquiry_id] = asyncio.get_running_loop().create_future()
        return self.arrived[inquiry_id]

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        if not core.verify_webhook(
            secret=self.secret, headers=headers, body=body, now=int(time.time())
        ):
            return web.Response(status=400, text="bad signature")
        slot = self._slot(json.loads(body)["data"]["inquiry_id"])
        if slot.done():
            self.repeated += 1  # at least once: a receiver deduplicates on webhook-id
        else:
            slot.set_result(time.perf_counter())
        return web.Response(status=204)

    async def wait(self, inquiry_id: str) -> float:
        """When the inquiry's webhook arrived (``time.perf_counter``)."""
        return await asyncio.wait_for(asyncio.shield(self._slot(inquiry_id)), WEBHOOK_WAIT_S)


class Bench:
    def __init__(
        self,
        *,
        bank: str,
        bank_url: str,
        honnin_url: str,
        webhooks: WebhookSink | None = None,
    ) -> None:
        self.bank = bank
        self.bank_url = bank_url
        self.honnin_url = honnin_url
        self.webhooks = webhooks
        self.webhook_lags: list[float] = []
        # Setup only (operator API, token, bank discovery); the measured flows use the agent.
        self.http = httpx.AsyncClient(timeout=60)
        self.agent = UserAgent(timeout=60)
        self.headers: dict[str, str] = {}
        self.callback = ""
        credentials = base64.b64encode(f"honnin:{BANK_SECRET}".encode()).decode()
        self.bank_basic_auth = f"Basic {credentials}"

    async def setup(self) -> None:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        post = self.http.post
        url = self.honnin_url
        (
            await post(
                f"{url}/admin/v1/banks", json={"id": self.bank, "name": "Bench bank"}, headers=admin
            )
        ).raise_for_status()
        (
            await self.http.put(
                f"{url}/admin/v1/banks/{self.bank}/connection",
                headers=admin,
                json={
                    "issuer": self.bank_url,
                    "client_id": "honnin",
                    "mapping": self.bank,
                    "auth_method": "client_secret_basic",
                    "client_secret": BANK_SECRET,
                },
            )
        ).raise_for_status()
        enterprise_body = {"name": "Bench"}
        if self.webhooks is not None:
            enterprise_body["webhook_url"] = self.webhooks.url
        created = await post(f"{url}/admin/v1/enterprises", json=enterprise_body, headers=admin)
        created.raise_for_status()
        enterprise = created.json()
        (
            await post(
                f"{url}/admin/v1/contracts",
                headers=admin,
                json={
                    "enterprise_id": enterprise["enterprise"]["id"],
                    "bank_id": self.bank,
                    "claims": CLAIMS,
                    "purposes": ["account_opening"],
                    "rate_per_second": 100_000,
                    "daily_quota": 100_000_000,
                },
            )
        ).raise_for_status()
        creds = enterprise["credentials"]
        token = await post(
            f"{url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        )
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        if self.webhooks is not None:
            secret = (await self.http.get(f"{url}/v1/webhook-secret", headers=self.headers)).json()
            self.webhooks.secret = base64.b64decode(secret["secret"].removeprefix("whsec_"))
        metadata = (
            await self.http.get(f"{self.bank_url}/.well-known/oauth-authorization-server")
        ).json()
        self.metadata = metadata

    async def close(self) -> None:
        await self.http.aclose()
        await self.agent.aclose()
        if self.webhooks is not None:
            await self.webhooks.stop()

    # The measured flows send every request with the lean agent, the enterprise's API calls
    # included: a general client's own CPU (httpx: about 1 ms a request, and its pool scans
    # grow with the connection count) would take the 2 cores the measured servers share.

    async def through_honnin(self) -> None:
        created = await self.agent.request(
            "POST",
            f"{self.honnin_url}/v1/bank-inquiries",
            headers=self.headers,
            json_body={
                "bank_id": self.bank,
                "purpose": "account_opening",
                "claims": CLAIMS,
                "applicant": APPLICANT,
                "return_url": "https://enterprise.example/done",
            },
        )
        inquiry = _json(created, 201, "create")
        callback = await complete_authorization(
            inquiry["authorization_url"], username="sato", http=self.agent
        )
        finished = await self.agent.request("GET", callback)
        called_back = time.perf_counter()
        if finished.status != 303:
            msg = f"callback answered {finished.status}"
            raise RuntimeError(msg)
        result = _json(
            await self.agent.request(
                "GET", f"{self.honnin_url}/v1/bank-inquiries/{inquiry['id']}", headers=self.headers
            ),
            200,
            "result",
        )
        if result["status"] != "completed":
            msg = f"inquiry ended {result['status']}: {result['failure_code']}"
            raise RuntimeError(msg)
        if self.webhooks is not None:
            try:
                arrived = await self.webhooks.wait(inquiry["id"])
            except TimeoutError:
                msg = f"no webhook for {inquiry['id']} within {WEBHOOK_WAIT_S} s"
                raise RuntimeError(msg) from None
            self.webhook_lags.append(arrived - called_back)

    async def direct(self) -> None:
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        state = secrets.token_urlsafe(24)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": "honnin",
                "redirect_uri": self.callback,
                "scope": "kyc:name kyc:birthdate kyc:address",
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        redirect = await complete_authorization(
            f"{self.metadata['authorization_endpoint']}?{query}",
            username="sato",
            http=self.agent,
        )
        code = parse_qs(urlsplit(redirect).query)["code"][0]
        token = _json(
            await self.agent.request(
                "POST",
                self.metadata["token_endpoint"],
                headers={"Authorization": self.bank_basic_auth},
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.callback,
                    "code_verifier": verifier,
                },
            ),
            200,
            "token",
        )
        _json(
            await self.agent.request(
                "GET",
                self.metadata["kyc_info_endpoint"],
                headers={"Authorization": f"Bearer {token['access_token']}"},
            ),
            200,
            "KYC",
        )


async def _sink(wanted: bool) -> WebhookSink | None:
    if not wanted:
        return None
    sink = WebhookSink()
    await sink.start()
    return sink


def _json(response: AgentResponse, status: int, what: str) -> dict[str, Any]:
    if response.status != status:
        msg = f"{what} answered {response.status}: {response.text[:200]}"
        raise RuntimeError(msg)
    document: dict[str, Any] = json.loads(response.body)
    return document


def _run_event_loop(work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """The load generator on uvloop, as the platform and the bank run (uvicorn's default)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return asyncio.run(work)  # type: ignore[arg-type]
    return uvloop.run(work)  # type: ignore[arg-type]


def _env(base: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONNIN_")}
    env.update(base)
    env.update(extra)
    return env


def _write_clients(workdir: Path, redirect_uris: list[str]) -> Path:
    """The sandbox bank's client registry: Honnin with ``redirect_uris``."""
    clients = workdir / "clients.json"
    clients.write_text(
        json.dumps(
            [
                {
                    "client_id": "honnin",
                    "redirect_uris": redirect_uris,
                    "token_endpoint_auth_method": "client_secret_basic",
                    "client_secret": BANK_SECRET,
                }
            ]
        )
    )
    return clients


def _start_bank(bank: str, *, port: int, clients: Path, log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            HONNIN,
            "sandbox",
            "bank",
            bank,
            "--port",
            str(port),
            "--clients",
            str(clients),
            "--admin-token",
            ADMIN_TOKEN,
        ],
        env=_env({}),
        stdout=log,
        stderr=log,
    )


def _inject_latency(bank_url: str, latency_ms: int) -> None:
    """``latency_ms`` at the bank's token and KYC endpoints."""
    for target in ("token", "kyc"):
        httpx.post(
            f"{bank_url}/admin/faults",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json={"kind": "latency", "target": target, "latency_ms": latency_ms},
        ).raise_for_status()


def _rate(option: str | None) -> float | None:
    if not option:
        return None
    try:
        rate = float(option)
    except ValueError:
        rate = math.nan
    if not (math.isfinite(rate) and rate > 0):
        msg = f"rate must be a positive number of flows per second, got {option!r}"
        raise ValueError(msg)
    return rate


def _slices(option: str) -> int:
    if not (option.isdigit() and int(option) >= 1):
        msg = f"slices must be a whole number of pairs, 1 or more, got {option!r}"
        raise ValueError(msg)
    return int(option)


def _flag(option: str, name: str) -> bool:
    if option not in {"0", "1"}:
        msg = f"{name} must be 0 or 1, got {option!r}"
        raise ValueError(msg)
    return option == "1"


def run(**options: str) -> dict[str, Any]:
    server = options.get("database_url", "")
    with (
        scratch_database(server) as database_url,
        scratch_database(server if options.get("against") else "") as against_database_url,
    ):
        return _run(
            **{**options, "database_url": database_url},
            against_database_url=against_database_url,
        )


def _run(**options: str) -> dict[str, Any]:
    flows = int(options.get("flows", "400"))
    concurrency = int(options.get("concurrency", "100"))
    rate = _rate(options.get("rate"))
    latency_ms = int(options.get("latency_ms", "20"))
    bank = options.get("bank", "momiji_rest")
    workers = int(options.get("workers", "1"))
    against = options.get("against")
    if against and not (Path(against) / "honnin" / "__init__.py").is_file():
        msg = f"against={against} is not a source directory with the honnin package"
        raise ValueError(msg)
    slices = _slices(options.get("slices", "8"))
    webhooks = _flag(options.get("webhooks", "0"), "webhooks")
    workdir = Path(tempfile.mkdtemp(prefix="honnin-bench-inquiry-"))
    database_url = options.get("database_url") or f"sqlite+aiosqlite:///{workdir / 'honnin.db'}"
    bank_port, honnin_port, against_port = _port(), _port(), _port()
    bank_url = f"http://127.0.0.1:{bank_port}"
    honnin_url = f"http://127.0.0.1:{honnin_port}"
    against_url = f"http://127.0.0.1:{against_port}"
    callback = f"{honnin_url}/broker/callback"
    clients = _write_clients(workdir, [callback, f"{against_url}/broker/callback"])
    secrets_env = {
        "HONNIN_DATABASE_URL": database_url,
        "HONNIN_BASE_URL": honnin_url,
        "HONNIN_ADMIN_TOKEN": ADMIN_TOKEN,
        "HONNIN_DATA_KEY": base64.b64encode(os.urandom(32)).decode(),
        "HONNIN_SUBJECT_KEY": secrets.token_hex(32),
        "HONNIN_WEBHOOK_SECRET": secrets.token_hex(32),
        "HONNIN_LEDGER_SIGNING_KEY": Signer.generate("bench.local/log", SIG_ED25519).skey,
        "HONNIN_LEDGER_WITNESS_KEY": Signer.generate("bench.local/w", SIG_COSIGNATURE_V1).skey,
        "HONNIN_LEDGER_CONSORTIUM_KEY": secrets.token_hex(32),
        # Raised for the benchmark: the bank's own capacity is what is measured.
        "HONNIN_BANK_MAX_IN_FLIGHT": str(concurrency * 2),
        "HONNIN_BANK_RATE_PER_SECOND": "100000",
        "HONNIN_BANK_QUEUE_SIZE": str(concurrency * 4),
        "HONNIN_GATEWAY_DEFAULT_RATE_PER_SECOND": "100000",
        "HONNIN_VAR_DIR": str(workdir / "var"),
    }
    log_path = workdir / "processes.log"
    log = log_path.open("wb")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [HONNIN, "db", "upgrade"],
            env=_env(secrets_env),
            check=True,
            stdout=log,
            stderr=log,
        )
        bank_process = _start_bank(bank, port=bank_port, clients=clients, log=log)
        processes.append(bank_process)
        honnin_process = subprocess.Popen(
            [HONNIN, "serve", "--port", str(honnin_port), "--workers", str(workers)],
            # Beside another checkout, both platforms start the same way (their source on
            # PYTHONPATH), so only the source differs between the two.
            env=_env(secrets_env, PYTHONPATH=str(THIS_SOURCE)) if against else _env(secrets_env),
            stdout=log,
            stderr=log,
        )
        processes.append(honnin_process)
        pids = {"platform": honnin_process.pid, "bank": bank_process.pid}
        if against:
            against_env = _env(
                secrets_env,
                HONNIN_DATABASE_URL=options.get("against_database_url")
                or f"sqlite+aiosqlite:///{workdir / 'against.db'}",
                HONNIN_BASE_URL=against_url,
                HONNIN_VAR_DIR=str(workdir / "against-var"),
                PYTHONPATH=against,
            )
            subprocess.run(
                [HONNIN, "db", "upgrade"], env=against_env, check=True, stdout=log, stderr=log
            )
            against_process = subprocess.Popen(
                [HONNIN, "serve", "--port", str(against_port), "--workers", str(workers)],
                env=against_env,
                stdout=log,
                stderr=log,
            )
            processes.append(against_process)
            pids["against"] = against_process.pid
        _wait(f"{bank_url}/healthz", bank_process, "sandbox bank", log=log_path)
        _wait(f"{honnin_url}/readyz", honnin_process, "platform", log=log_path)
        if against:
            _wait(f"{against_url}/readyz", processes[-1], "platform (against)", log=log_path)
        _inject_latency(bank_url, latency_ms)
        if against:
            return _run_event_loop(
                _compare(
                    bank=bank,
                    bank_url=bank_url,
                    urls={"this": honnin_url, "against": against_url},
                    pids=pids,
                    flows=flows,
                    concurrency=concurrency,
                    slices=slices,
                    database_url=database_url,
                    webhooks=webhooks,
                )
            )
        return _run_event_loop(
            _measure(
                bank=bank,
                bank_url=bank_url,
                honnin_url=honnin_url,
                callback=callback,
                flows=flows,
                concurrency=concurrency,
                rate=rate,
                latency_ms=latency_ms,
                database_url=database_url,
                workers=workers,
                pids=pids,
                webhooks=webhooks,
            )
        )
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        if options.get("keep"):
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def _compare(
    *,
    bank: str,
    bank_url: str,
    urls: dict[str, str],
    pids: dict[str, int],
    flows: int,
    concurrency: int,
    slices: int,
    database_url: str,
    webhooks: bool,
) -> dict[str, Any]:
    """Alternate the load between this platform and the one ``against`` names."""
    benches: dict[str, Bench] = {}
    for name, url in urls.items():
        bench = Bench(bank=bank, bank_url=bank_url, honnin_url=url, webhooks=await _sink(webhooks))
        bench.callback = f"{url}/broker/callback"
        await bench.setup()
        # Warm-up within the flow-control caps the run was started with (2 x concurrency).
        await _run_flows(
            bench.through_honnin, flows=max(10, concurrency // 5), concurrency=min(concurrency, 10)
        )
        benches[name] = bench
    pid_of = {"this": pids["platform"], "against": pids["against"]}
    measured: dict[str, list[dict[str, float | None]]] = {"this": [], "against": []}
    for pair in range(slices):
        for name in ("against", "this") if pair % 2 == 0 else ("this", "against"):
            platform_cpu = _cpu_seconds(pid_of[name])
            bank_cpu = _cpu_seconds(pids["bank"])
            load_cpu = time.process_time()
            machine_cpu = _machine_cpu_seconds()
            elapsed, _ = await _run_flows(
                benches[name].through_honnin, flows=flows, concurrency=concurrency
            )
            platform_cpu = _cpu_seconds(pid_of[name]) - platform_cpu
            bank_cpu = _cpu_seconds(pids["bank"]) - bank_cpu
            load_cpu = time.process_time() - load_cpu
            measured[name].append(
                {
                    "flows_per_s": round(flows / elapsed, 1),
                    "platform_cpu_ms_per_flow": round(1000 * platform_cpu / flows, 2),
                    "bank_cpu_ms_per_flow": round(1000 * bank_cpu / flows, 2),
                    "platform_per_bank_cpu": _ratio(platform_cpu, bank_cpu),
                    "load_generator_cpu_ms_per_flow": round(1000 * load_cpu / flows, 2),
                    "machine_cpu_ms_per_flow": round(
                        1000 * (_machine_cpu_seconds() - machine_cpu) / flows, 2
                    ),
                }
            )
    for bench in benches.values():
        await bench.close()

    def summary(name: str) -> dict[str, Any]:
        rows = measured[name]
        return {key: _mean([row[key] for row in rows]) for key in rows[0]} | {"slices": rows}

    return {
        "benchmark": "inquiry",
        "mode": "against",
        "database": database_url.split(":", 1)[0],
        "flows_per_slice": flows,
        "concurrency": concurrency,
        "webhooks": webhooks,
        "this": summary("this"),
        "against": summary("against"),
        # Slices run back to back as pairs; how often this platform was the faster one.
        "pairs_this_faster": sum(
            _lower(theirs["flows_per_s"], mine["flows_per_s"])
            for mine, theirs in zip(measured["this"], measured["against"], strict=True)
        ),
        # ... and how often its CPU per flow, in units of the bank's, was the lower one.
        "pairs_this_cheaper": sum(
            _lower(mine["platform_per_bank_cpu"], theirs["platform_per_bank_cpu"])
            for mine, theirs in zip(measured["this"], measured["against"], strict=True)
        ),
        "pairs": slices,
    }


async def _measure(
    *,
    bank: str,
    bank_url: str,
    honnin_url: str,
    callback: str,
    flows: int,
    concurrency: int,
    rate: float | None,
    latency_ms: int,
    database_url: str,
    workers: int,
    pids: dict[str, int],
    webhooks: bool,
) -> dict[str, Any]:
    bench = Bench(
        bank=bank, bank_url=bank_url, honnin_url=honnin_url, webhooks=await _sink(webhooks)
    )
    bench.callback = callback
    await bench.setup()
    warm = max(10, concurrency // 5)
    await _run_flows(bench.direct, flows=warm, concurrency=min(concurrency, warm))
    await _run_flows(bench.through_honnin, flows=warm, concurrency=min(concurrency, warm))
    bench.webhook_lags.clear()
    in_flight: dict[str, int] = {}

    async def load(name: str, flow: Callable[[], Awaitable[None]]) -> tuple[float, list[float]]:
        if rate is None:
            in_flight[name] = concurrency
            return await _run_flows(flow, flows=flows, concurrency=concurrency)
        arrivals = poisson_arrivals(flows=flows, rate=rate)
        elapsed, latencies, most = await _run_arrivals(
            flow, arrivals=arrivals, concurrency=concurrency
        )
        in_flight[name] = most
        return elapsed, latencies

    bank_cpu = _cpu_seconds(pids["bank"])
    load_cpu = time.process_time()
    machine_cpu = _machine_cpu_seconds()
    direct_s, direct = await load("direct", bench.direct)
    bank_cpu_direct = _cpu_seconds(pids["bank"]) - bank_cpu
    load_cpu_direct = time.process_time() - load_cpu
    machine_cpu_direct = _machine_cpu_seconds() - machine_cpu
    platform_cpu = _cpu_seconds(pids["platform"])
    bank_cpu = _cpu_seconds(pids["bank"])
    load_cpu = time.process_time()
    machine_cpu = _machine_cpu_seconds()
    honnin_s, through = await load("through_honnin", bench.through_honnin)
    platform_cpu = _cpu_seconds(pids["platform"]) - platform_cpu
    bank_cpu_honnin = _cpu_seconds(pids["bank"]) - bank_cpu
    load_cpu_honnin = time.process_time() - load_cpu
    machine_cpu_honnin = _machine_cpu_seconds() - machine_cpu
    cores = os.cpu_count() or 1
    await bench.close()
    lags = bench.webhook_lags

    def ms(value: float) -> float:
        return round(value * 1000, 1)

    return {
        "benchmark": "inquiry",
        "bank": bank,
        "database": database_url.split(":", 1)[0],
        "flows": flows,
        "concurrency": concurrency,
        "load": "closed" if rate is None else "open",
        "offered_flows_per_s": rate,
        "most_flows_in_flight": in_flight,
        "injected_bank_latency_ms": latency_ms,
        "platform_workers": workers,
        "honnin_flows_per_s": round(flows / honnin_s, 1),
        "direct_flows_per_s": round(flows / direct_s, 1),
        "honnin_latency_ms": {
            "p50": ms(statistics.median(through)),
            "p99": ms(_percentile(through, 0.99)),
        },
        "direct_latency_ms": {
            "p50": ms(statistics.median(direct)),
            "p99": ms(_percentile(direct, 0.99)),
        },
        "added_latency_ms": {
            "p50": ms(statistics.median(through) - statistics.median(direct)),
            "p99": ms(_percentile(through, 0.99) - _percentile(direct, 0.99)),
        },
        # The platform's CPU per flow in units of the bank's: the bank serves the same five
        # requests per flow whatever the platform does, so this divides out most of how
        # fast the box was during the run (each process's CPU per flow moves by up to 1.9x
        # from one run to the next here). It cannot see a change that also moves the other
        # processes' CPU per flow (docs/benchmarks.md, inquiry, fourteenth round).
        "platform_per_bank_cpu": _ratio(platform_cpu, bank_cpu_honnin),
        "cpu_ms_per_flow": {
            "through_honnin": {
                "platform": ms(platform_cpu / flows),
                "bank": ms(bank_cpu_honnin / flows),
                "load_generator": ms(load_cpu_honnin / flows),
                "machine": ms(machine_cpu_honnin / flows),
            },
            "direct": {
                "bank": ms(bank_cpu_direct / flows),
                "load_generator": ms(load_cpu_direct / flows),
                "machine": ms(machine_cpu_direct / flows),
            },
        },
        # The machine's cores busy during each run, 0-1: near 1, the box is the limit.
        "machine_busy": {
            "through_honnin": round(machine_cpu_honnin / (honnin_s * cores), 2),
            "direct": round(machine_cpu_direct / (direct_s * cores), 2),
        },
        "cpu_count": os.cpu_count(),
    } | (
        {
            "webhooks": {
                "received": len(lags),
                "repeated": bench.webhooks.repeated,
                # From the callback's answer to the signed webhook's arrival.
                "lag_ms": {"p50": ms(statistics.median(lags)), "p99": ms(_percentile(lags, 0.99))},
            }
        }
        if bench.webhooks is not None and lags
        else {}
    )
