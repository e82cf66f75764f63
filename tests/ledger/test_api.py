"""``/ledger`` HTTP: checkpoint, tiles, entry bundles and proofs (C2SP tlog-tiles)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from honnin.db import Database
from honnin.gateway.problems import install_problem_handlers
from honnin.ledger import checkpoint, merkle, note, tiles
from honnin.ledger.api import router
from honnin.ledger.log import NewEntry
from honnin.ledger.service import LedgerService


@pytest.fixture
async def client(database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, LedgerService]]:
    signer = note.Signer.generate("api.test/ledger")
    service = LedgerService(
        database=database,
        log_signer=signer,
        witness_signer=note.Signer.generate("api.test/witness", note.SIG_COSIGNATURE_V1),
        consortium_key=b"k" * 32,
        batch_size=100,
    )
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.ledger = service
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http, service
    await service.aclose()


async def test_tiles_bundles_and_proofs(client: tuple[httpx.AsyncClient, LedgerService]) -> None:
    http, service = client
    receipts = [await service.append_event("trace.test", {"n": i}) for i in range(3)]
    await service.log.append_many(
        [NewEntry(data=f"bulk-{i}".encode(), kind="bulk") for i in range(297)]
    )
    r = await http.get("/ledger/checkpoint")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    opened = note.open_note(r.text, [service.log_verifier])
    cp = checkpoint.parse(opened.text)
    assert cp.size == 300

    tile0 = (await http.get("/ledger/tile/0/000")).content
    assert len(tile0) == 256 * 32
    assert tile0[:32] == receipts[0].leaf_hash
    partial = await http.get("/ledger/tile/0/001.p/44")
    assert partial.status_code == 200
    assert len(partial.content) == 44 * 32
    level1 = (await http.get("/ledger/tile/1/000.p/1")).content
    assert level1 == merkle.root_of_hashes([tile0[i : i + 32] for i in range(0, 8192, 32)])
    bundle = (await http.get("/ledger/tile/entries/001.p/44")).content
    entries = tiles.decode_bundle(bundle)
    assert entries[-1] == b"bulk-296"
    hashes = [merkle.leaf_hash(e) for e in entries]
    assert b"".join(hashes) == partial.content

    for path in ("/ledger/tile/0/001", "/ledger/tile/0/001.p/45", "/ledger/tile/0/1"):
        r = await http.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/problem+json"

    r = await http.get("/ledger/proof/inclusion", params={"index": 1, "size": 300})
    body = r.json()
    merkle.verify_inclusion(
        base64.b64decode(body["leaf_hash"]),
        1,
        300,
        [base64.b64decode(h) for h in body["proof"]],
        cp.root_hash,
    )
    r = await http.get("/ledger/proof/consistency", params={"size1": 7, "size2": 300})
    body = r.json()
    merkle.verify_consistency(
        7,
        300,
        [base64.b64decode(h) for h in body["proof"]],
        base64.b64decode(body["root1"]),
        cp.root_hash,
    )
    r = await http.get("/ledger/proof/inclusion", params={"index": 300, "size": 300})
    assert r.status_code == 404
    assert r.json()["code"] == "out_of_range"
