"""Two deployments and a witness on loopback: cosigning, look-ups, split views, tampering.

Real uvicorn servers on 127.0.0.1 (port 0) serve the ``/ledger`` router of each
deployment; every deployment has its own database on the backend under test.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from honnin.db import Database
from honnin.db.migrate import upgrade
from honnin.gateway.problems import install_problem_handlers
from honnin.ledger import merkle, note, witness
from honnin.ledger.api import router
from honnin.ledger.errors import (
    BundleError,
    ConsentRequiredError,
    CosignatureError,
    PeerUnavailableError,
    SplitViewError,
)
from honnin.ledger.models import LedgerLookupAudit, LedgerWitnessedLog
from honnin.ledger.service import LedgerService, LookupPolicy, Peer, Witness
from support.rawhttp import endless_chunks, raw_server, read_request

A_ORIGIN = "a.test/ledger"
B_ORIGIN = "b.test/ledger"
W_ORIGIN = "w.test/ledger"
IDENTITY = {"family_name": "Yamada", "given_name": "Taro", "birthdate": "1990-01-01"}
CONSORTIUM = b"consortium-shared-key-0123456789"


async def extra_database(database_url: str, name: str) -> Database:
    """Another migrated database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.split("///", 1)[1]).with_name(f"{name}.db")
        url = f"sqlite+aiosqlite:///{path}"
    else:
        import asyncpg

        db_name = f"t_{uuid.uuid4().hex[:16]}"
        dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{db_name}"')
        finally:
            await conn.close()
        url = database_url.rsplit("/", 1)[0] + f"/{db_name}"
    await asyncio.to_thread(upgrade, url)
    return Database(url)


@dataclass
class Node:
    app: FastAPI
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/ledger"


async def start_node() -> Node:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return Node(app, server, task)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class World:
    a: LedgerService
    w: LedgerService
    b: LedgerService
    fork: LedgerService
    nodes: dict[str, Node]
    make_b: Callable[..., LedgerService]
    keys: dict[str, note.Signer]
    http: httpx.AsyncClient


@pytest.fixture
async def world(database: Database, database_url: str) -> AsyncIterator[World]:
    keys = {
        "a": note.Signer.generate(A_ORIGIN),
        "b": note.Signer.generate(B_ORIGIN),
        "w": note.Signer.generate(W_ORIGIN),
        "a_wit": note.Signer.generate("a.test/witness", note.SIG_COSIGNATURE_V1),
        "b_wit": note.Signer.generate("b.test/witness", note.SIG_COSIGNATURE_V1),
        "w_wit": note.Signer.generate("w.test/witness", note.SIG_COSIGNATURE_V1),
    }
    nodes = {name: await start_node() for name in ("a", "w", "fork")}
    http = httpx.AsyncClient(timeout=10)
    w_witness = Witness(url=nodes["w"].url + "/witness", key=keys["w_wit"].verifier)
    a_peer = Peer(origin=A_ORIGIN, url=nodes["a"].url, log_key=keys["a"].verifier)
    b_peer = Peer(origin=B_ORIGIN, url="http://127.0.0.1:9/unused", log_key=keys["b"].verifier)
    services: list[LedgerService] = []

    def service(db: Database, log_key: str, wit_key: str, **kw: Any) -> LedgerService:
        s = LedgerService(
            database=db,
            log_signer=keys[log_key],
            witness_signer=keys[wit_key],
            consortium_key=CONSORTIUM,
            http=http,
            batch_size=8,
            **kw,
        )
        services.append(s)
        return s

    a = service(database, "a", "a_wit", peers=[b_peer], witnesses=[w_witness])
    w = service(await extra_database(database_url, "w"), "w", "w_wit", peers=[a_peer])
    # the fork holds A's key but its own, different history
    fork = service(
        await extra_database(database_url, "fork"),
        "a",
        "a_wit",
        peers=[b_peer],
        witnesses=[w_witness],
    )
    b_db = await extra_database(database_url, "b")

    def make_b(peer_url: str = nodes["a"].url, quorum: int = 1) -> LedgerService:
        peer = Peer(origin=A_ORIGIN, url=peer_url, log_key=keys["a"].verifier)
        return service(b_db, "b", "b_wit", peers=[peer], witnesses=[w_witness], quorum=quorum)

    b = make_b()
    nodes["a"].app.state.ledger = a
    nodes["w"].app.state.ledger = w
    nodes["fork"].app.state.ledger = fork
    try:
        yield World(a, w, b, fork, nodes, make_b, keys, http)
    finally:
        for node in nodes.values():
            node.server.should_exit = True
        await asyncio.gather(*(n.task for n in nodes.values()))
        for s in services:
            await s.aclose()
        await http.aclose()
        for db in {id(s.database): s.database for s in services}.values():
            if db is not database:
                await db.dispose()


async def record(
    service: LedgerService, method: str, verified_days_ago: int, valid_days: int
) -> None:
    verified_at = now() - timedelta(days=verified_days_ago)
    await service.record_verification(
        identity=IDENTITY,
        method=method,
        assurance_level="IAL2",
        verified_at=verified_at,
        valid_until=verified_at + timedelta(days=valid_days),
        evidence=b"card-chip-sod-bytes",
    )


async def test_lookup_split_view_and_tampering_on_loopback(world: World) -> None:
    a, w, b, fork = world.a, world.w, world.b, world.fork
    await record(a, "jp_he", verified_days_ago=2, valid_days=365)
    await record(a, "jp_he", verified_days_ago=400, valid_days=365)  # expired
    await record(a, "jp_ho", verified_days_ago=1, valid_days=365)  # method not accepted
    await a.append_event("trace.delivered", {"enterprise": "ent-1", "at": "2026-11-21T05:00:00Z"})
    assert await a.collect_cosignatures() == ["w.test/witness"]

    served = (await world.http.get(world.nodes["a"].url + "/checkpoint")).text
    assert "— w.test/witness " in served
    assert served.startswith(f"{A_ORIGIN}\n4\n")

    subject = b.subject_id(IDENTITY)
    result = await b.lookup(peer=A_ORIGIN, subject_id=subject, consent_reference="consent-123")
    assert len(result.records) == 1
    assert result.records[0].method == "jp_he"
    assert result.expired == 1
    assert result.witnesses == ("w.test/witness",)
    assert result.checkpoint_size == 4
    assert "Yamada" not in json.dumps(result.bundle)

    # the bundle re-verifies offline; a tampered one does not
    b.verify_bundle(result.bundle, peer=A_ORIGIN, subject_id=subject)
    tampered = json.loads(json.dumps(result.bundle))
    entry = json.loads(base64.b64decode(tampered["entries"][0]["entry"]))
    entry["record"]["valid_until"] = "2099-01-01T00:00:00Z"
    tampered["entries"][0]["entry"] = base64.b64encode(
        json.dumps(entry, separators=(",", ":"), sort_keys=True).encode()
    ).decode()
    with pytest.raises(BundleError, match="not in the checkpointed tree"):
        b.verify_bundle(tampered, peer=A_ORIGIN, subject_id=subject)
    no_witness = dict(result.bundle)
    no_witness["checkpoint"] = result.bundle["checkpoint"].split("— w.test/witness")[0]
    with pytest.raises(CosignatureError):
        b.verify_bundle(no_witness, peer=A_ORIGIN, subject_id=subject)
    # once the record is past its validity it is no longer reused
    b.clock = lambda: now() + timedelta(days=364)
    later = b.verify_bundle(result.bundle, peer=A_ORIGIN, subject_id=subject)
    assert later.usable == ()
    b.clock = now

    # split view: the fork signs another history with A's key; the witness refuses it
    for i in range(6):
        await fork.append_event("trace.delivered", {"n": i})
    assert await fork.collect_cosignatures() == []
    async with w.database.session() as session:
        recorded = await session.get(LedgerWitnessedLog, A_ORIGIN)
    assert recorded is not None
    assert recorded.size == 4

    # B, sent to the fork, refuses its uncosigned checkpoint ...
    b_to_fork = world.make_b(peer_url=world.nodes["fork"].url)
    with pytest.raises(CosignatureError):
        await b_to_fork.lookup(peer=A_ORIGIN, subject_id=subject, consent_reference="c-2")
    # ... and even without a witness policy, the fork cannot prove consistency with the
    # tree B saw before
    lax = world.make_b(peer_url=world.nodes["fork"].url, quorum=0)
    with pytest.raises(SplitViewError):
        await lax.lookup(peer=A_ORIGIN, subject_id=subject, consent_reference="c-3")

    # the honest log keeps growing consistently and stays trusted
    await record(a, "icao_chip", verified_days_ago=0, valid_days=30)
    assert await a.collect_cosignatures() == ["w.test/witness"]
    again = await b.lookup(peer=A_ORIGIN, subject_id=subject, consent_reference="consent-4")
    assert {r.method for r in again.records} == {"jp_he", "icao_chip"}

    async with a.database.session() as session:
        audits = (await session.execute(LedgerLookupAudit.__table__.select())).all()
    assert {(r.direction, r.peer, r.outcome) for r in audits} >= {("in", B_ORIGIN, "answered")}


async def test_witness_http_semantics(world: World) -> None:
    a, url = world.a, world.nodes["w"].url + "/witness/add-checkpoint"
    a.witnesses = ()  # this test plays the log's side of the protocol by hand
    for i in range(5):
        await a.append_event("trace.delivered", {"n": i})
    cp3 = await a.log.checkpoint_at(3) or await a.log.publish_checkpoint()
    latest = await a.log.latest_checkpoint()
    assert latest is not None
    size = latest.checkpoint.size

    async def post(body: bytes) -> httpx.Response:
        return await world.http.post(url, content=body)

    stranger = note.Signer.generate("unknown.test/log")
    r = await post(
        witness.format_request(
            0,
            [],
            note.sign(latest.checkpoint.text.replace(A_ORIGIN, "unknown.test/log"), [stranger]),
        )
    )
    assert r.status_code == 404
    impostor = note.Signer.generate(A_ORIGIN)
    r = await post(witness.format_request(0, [], note.sign(latest.checkpoint.text, [impostor])))
    assert r.status_code == 403
    r = await post(witness.format_request(size + 1, [], latest.note))
    assert r.status_code == 400
    r = await post(b"old 01\n\n" + latest.note.encode())
    assert r.status_code == 400

    # first contact at size 3, then a stale old size is answered with the recorded size
    r = await post(witness.format_request(0, [], cp3.note))
    assert r.status_code == 200, r.text
    line = r.text
    note.open_note(cp3.note + line, [world.keys["w_wit"].verifier])
    r = await post(witness.format_request(0, [], latest.note))
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("text/x.tlog.size")
    assert r.text == "3\n"
    bad_proof = [merkle.EMPTY_ROOT] * 3
    r = await post(witness.format_request(3, bad_proof, latest.note))
    assert r.status_code == 422
    good = await a.log.consistency_proof(3, size)
    r = await post(witness.format_request(3, good, latest.note))
    assert r.status_code == 200
    # same size, other root: conflict
    forged = note.sign(
        f"{A_ORIGIN}\n{size}\n{base64.b64encode(merkle.EMPTY_ROOT).decode()}\n", [world.keys["a"]]
    )
    r = await post(witness.format_request(size, [], forged))
    assert r.status_code == 409
    assert r.text == f"{size}\n"


async def test_a_witness_or_peer_that_floods_its_answer_is_refused(world: World) -> None:
    """Their answers are read only up to a bound, then dropped: a witness that floods
    cosigns nothing, a peer that floods gives a bundle error (and the lookup is audited).
    Reading a whole endless answer would never end; the 60 s bounds only turn such a hang
    into a failure."""

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await endless_chunks(writer, b"HTTP/1.1 200 OK\r\n", b"9" * 16_384)

    a = world.a
    await a.append_event("trace.delivered", {"n": 1})
    async with raw_server(flood) as (url, _):
        a.witnesses = (Witness(url=url + "/witness", key=world.keys["w_wit"].verifier),)
        assert await asyncio.wait_for(a.collect_cosignatures(), 60) == []
        b = world.make_b(peer_url=url)
        lookup = b.lookup(peer=A_ORIGIN, subject_id=b.subject_id(IDENTITY), consent_reference="c-1")
        with pytest.raises(BundleError, match="too large"):
            await asyncio.wait_for(lookup, 60)
    async with b.database.session() as session:
        audits = (await session.execute(LedgerLookupAudit.__table__.select())).all()
    assert [(r.direction, r.peer, r.outcome) for r in audits] == [
        ("out", A_ORIGIN, "invalid_bundle")
    ]


async def test_lookups_need_consent_signature_and_are_rate_limited(world: World) -> None:
    a, b = world.a, world.b
    await record(a, "jp_he", verified_days_ago=1, valid_days=30)
    await a.collect_cosignatures()
    subject = b.subject_id(IDENTITY)
    with pytest.raises(ConsentRequiredError):
        await b.lookup(peer=A_ORIGIN, subject_id=subject, consent_reference="")
    # a request not signed by a configured peer is refused (401) and audited
    request = note.sign("honnin.ledger/lookup/v1\nrequester b.test/ledger\n", [world.keys["a"]])
    r = await world.http.post(world.nodes["a"].url + "/lookup", content=request.encode())
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_lookup_request"
    # a newer checkpoint not yet cosigned: the answer uses the newest cosigned one
    a.witnesses = ()
    await record(a, "icao_chip", verified_days_ago=0, valid_days=30)
    a.witnesses = b.witnesses
    first = await b.lookup(peer=A_ORIGIN, subject_id=subject, consent_reference="consent-1")
    assert first.checkpoint_size == 1
    assert [r.method for r in first.records] == ["jp_he"]
    a._limiter.per_minute = 3
    for _ in range(2):
        await b.lookup(peer=A_ORIGIN, subject_id=subject, consent_reference="consent-1")
    with pytest.raises(PeerUnavailableError, match="429"):
        await b.lookup(peer=A_ORIGIN, subject_id=subject, consent_reference="consent-1")
    async with a.database.session() as session:
        outcomes = [
            r.outcome for r in (await session.execute(LedgerLookupAudit.__table__.select())).all()
        ]
    assert outcomes.count("answered") == 3
    assert "lookup_rate_limited" in outcomes
    assert "rejected" in outcomes


async def test_salt_deletion_unlinks_evidence(world: World) -> None:
    a = world.a
    verified_at = now()
    record_, _ = await a.record_verification(
        identity=IDENTITY,
        method="jp_he",
        assurance_level="IAL2",
        verified_at=verified_at,
        valid_until=verified_at + timedelta(days=10),
        evidence=b"evidence",
    )
    assert await a.evidence_matches(record_, b"evidence")
    assert not await a.evidence_matches(record_, b"other")
    a.policy = LookupPolicy(salt_retention_days=1)
    a.clock = lambda: now() + timedelta(days=10_000)
    assert await a.purge_expired_salts() == 1
    assert not await a.evidence_matches(record_, b"evidence")
    # the log itself is untouched and still verifies
    cp = await a.log.publish_checkpoint()
    entry = await a.log.entry(0)
    proof = await a.log.inclusion_proof(0, cp.checkpoint.size)
    merkle.verify_inclusion(
        merkle.leaf_hash(entry.data), 0, cp.checkpoint.size, proof, cp.checkpoint.root_hash
    )


async def test_factory_builds_from_settings(database: Database, tmp_path: Path) -> None:
    from honnin.config import Settings
    from honnin.ledger.errors import LedgerError
    from honnin.ledger.service import build_ledger_service

    demo = Settings(mode="demo", var_dir=tmp_path, base_url="http://demo.example:8000")
    first = build_ledger_service(settings=demo, database=database)
    again = build_ledger_service(settings=demo, database=database)
    assert first.origin == "demo.example:8000/ledger"
    assert first.log_verifier == again.log_verifier  # keys persist across restarts
    assert first.witness_verifier.sig_type == note.SIG_COSIGNATURE_V1
    with pytest.raises(LedgerError):
        build_ledger_service(settings=Settings(mode="production"), database=database)
    peer = note.Signer.generate("peer.example/ledger")
    configured = Settings(
        mode="production",
        ledger_origin=A_ORIGIN,
        ledger_signing_key=note.Signer.generate(A_ORIGIN).skey,
        ledger_witness_key=note.Signer.generate("a.w", note.SIG_COSIGNATURE_V1).skey,
        ledger_consortium_key="k" * 32,
        ledger_peers=[{"origin": peer.name, "url": "http://p", "log_key": peer.verifier.vkey}],
        ledger_witness_quorum=1,
    )
    with pytest.raises(LedgerError, match="QUORUM"):
        build_ledger_service(settings=configured, database=database)
    ok = build_ledger_service(
        settings=configured.model_copy(update={"ledger_witness_quorum": 0}), database=database
    )
    assert ok.origin == A_ORIGIN
    assert set(ok.peers) == {peer.name}


async def test_append_events_commits_a_batch_in_order_provably(
    database: Database, tmp_path: Path
) -> None:
    from honnin.config import Settings
    from honnin.ledger import records
    from honnin.ledger.service import build_ledger_service

    demo = Settings(mode="demo", var_dir=tmp_path, base_url="http://demo.example:8000")
    ledger = build_ledger_service(settings=demo, database=database)
    try:
        assert (await ledger.append_event("trace.event", {"n": 0})).index == 0
        payloads = [{"n": n} for n in range(1, 6)]
        receipts = await ledger.append_events("trace.event", payloads)
        assert [r.index for r in receipts] == [1, 2, 3, 4, 5]
        head = await ledger.log.tree_head()
        assert head.size == 6
        latest = await ledger.log.latest_checkpoint()
        assert latest is not None
        assert latest.checkpoint.size == 6  # the batch ends with a checkpoint of its own
        for payload, receipt in zip(payloads, receipts, strict=True):
            entry = records.event_entry("trace.event", payload)
            assert receipt.leaf_hash == merkle.leaf_hash(entry)
            proof = await ledger.log.inclusion_proof(receipt.index, head.size)
            merkle.verify_inclusion(
                receipt.leaf_hash, receipt.index, head.size, proof, head.root_hash
            )
        assert await ledger.append_events("trace.event", []) == []
        assert (await ledger.log.tree_head()).size == 6
    finally:
        await ledger.aclose()
