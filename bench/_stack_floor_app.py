"""The bank-inquiry flow's shape with none of Honnin's logic: the stack's own cost.

Served by ``bench/stack_floor.py``. The same four platform requests as a real inquiry
(create, start link, callback, result), the same two calls to the bank (token exchange,
KYC read) and about as many database statements (16: four reads outside a transaction,
four transactions of two or three writes) on the same parts: FastAPI with pydantic models,
SQLAlchemy Core statements through :class:`honnin.db.engine.Database` (SQLite with the
one-hop adapter, or asyncpg), the bank connector's HTTP client (aiohttp), uvicorn
with uvloop and httptools. No authentication, contracts, flow control, encryption,
mapping, matching, trace, ledger, logging or metrics.

``FLOOR_UNITS=1`` runs each read and transaction as one unit of work
(:meth:`honnin.db.Database.run` / ``read``, as the broker does) instead of awaiting each
statement; ``FLOOR_DATABASE=none`` keeps the inquiries in a dict instead (no database at all);
``FLOOR_BANK_CALLS=0`` skips the two bank calls (the bank still sees the user's steps);
``FLOOR_TRANSPORT=httpx`` sends them through httpx and its own transport (httpcore) instead.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Executable,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Row

from honnin.db.engine import Database, first_row
from honnin.http_client import OutboundHttp

TOKEN = "stack-floor-token"

metadata = MetaData()
clients = Table(
    "floor_clients",
    metadata,
    Column("token", String, primary_key=True),
    Column("status", String, nullable=False),
)
inquiries = Table(
    "floor_inquiries",
    metadata,
    Column("id", String, primary_key=True),
    Column("state", String, index=True),
    Column("verifier", String, nullable=False),
    Column("status", String, nullable=False),
    Column("result", Text),
    Column("return_url", String, nullable=False),
    Column("consented_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
)
events = Table(
    "floor_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String, nullable=False),
    Column("object_id", String, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
receipts = Table(
    "floor_receipts",
    metadata,
    Column("id", String, primary_key=True),
    Column("object_id", String, nullable=False),
)

SELECT_CLIENT = select(clients.c.status).where(clients.c.token == bindparam("b_token"))
SELECT_START = select(inquiries.c.state, inquiries.c.verifier).where(
    inquiries.c.id == bindparam("b_id")
)
SELECT_BY_STATE = select(inquiries.c.id, inquiries.c.verifier, inquiries.c.return_url).where(
    inquiries.c.state == bindparam("b_state")
)
SELECT_RESULT = select(inquiries.c.id, inquiries.c.status, inquiries.c.result).where(
    inquiries.c.id == bindparam("b_id")
)
INSERT_INQUIRY = insert(inquiries)
INSERT_EVENT = insert(events)
INSERT_RECEIPT = insert(receipts)
CONSUME_STATE = (
    update(inquiries)
    .where(inquiries.c.id == bindparam("b_id"), inquiries.c.state == bindparam("b_state"))
    .values(state=None, consented_at=bindparam("b_now"))
)
FINISH = (
    update(inquiries)
    .where(inquiries.c.id == bindparam("b_id"), inquiries.c.status == "pending")
    .values(status="completed", result=bindparam("b_result"))
)
DELIVER = (
    update(inquiries)
    .where(inquiries.c.id == bindparam("b_id"), inquiries.c.delivered_at.is_(None))
    .values(delivered_at=bindparam("b_now"))
)


class InquiryCreate(BaseModel):
    bank_id: str
    purpose: str
    claims: list[str]
    applicant: dict[str, str]
    return_url: str


class InquiryCreated(BaseModel):
    id: str
    authorization_url: str


class InquiryOut(BaseModel):
    id: str
    status: str
    result: dict[str, Any] | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app() -> FastAPI:
    base_url = os.environ["FLOOR_BASE_URL"]
    callback_url = f"{base_url}/broker/callback"
    authorize_url = os.environ["FLOOR_AUTHORIZATION_ENDPOINT"]
    token_url = os.environ["FLOOR_TOKEN_ENDPOINT"]
    kyc_url = os.environ["FLOOR_KYC_ENDPOINT"]
    bank_auth = (
        "Basic " + base64.b64encode(f"honnin:{os.environ['FLOOR_BANK_SECRET']}".encode()).decode()
    )
    database_url = os.environ["FLOOR_DATABASE"]
    bank_calls = os.environ.get("FLOOR_BANK_CALLS", "1") != "0"
    database = (
        None
        if database_url == "none"
        else Database(database_url, pool_size=4 if database_url.startswith("sqlite") else 20)
    )
    units = os.environ.get("FLOOR_UNITS") == "1"

    async def read_one(statement: Executable, values: dict[str, Any]) -> Row[Any] | None:
        assert database is not None
        if units:
            return await database.read(first_row(statement, values))
        async with database.reader() as connection:
            return (await connection.execute(statement, values)).first()

    async def write(*steps: tuple[Executable, dict[str, Any]]) -> None:
        assert database is not None
        if units:

            def work(connection: Connection) -> None:
                for statement, values in steps:
                    connection.execute(statement, values)

            await database.run(work)
            return
        async with database.transaction() as session:
            for statement, values in steps:
                await session.execute(statement, values)

    memory: dict[str, dict[str, Any]] = {}
    by_state: dict[str, str] = {}
    through_httpx = os.environ.get("FLOOR_TRANSPORT") == "httpx"
    httpx_client = httpx.AsyncClient(timeout=10.0, limits=httpx.Limits(max_connections=256))
    bank_http = OutboundHttp(max_connections=256, keepalive_seconds=4.0, timeout_seconds=10.0)

    async def bank_json(url: str, headers: dict[str, str], form: dict[str, str] | None) -> Any:
        if through_httpx:
            method = "GET" if form is None else "POST"
            return (await httpx_client.request(method, url, headers=headers, data=form)).json()
        if form is None:
            return (await bank_http.request("GET", url, headers=headers)).json()
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        return (
            await bank_http.request("POST", url, headers=headers, body=urlencode(form).encode())
        ).json()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if database is not None:
            async with database.engine.begin() as connection:
                await connection.run_sync(metadata.create_all)
                # Variants with a database share it; the first one adds the client.
                known = (await connection.execute(SELECT_CLIENT, {"b_token": TOKEN})).first()
                if known is None:
                    await connection.execute(insert(clients), {"token": TOKEN, "status": "active"})
        yield
        await httpx_client.aclose()
        await bank_http.aclose()
        if database is not None:
            await database.dispose()

    app = FastAPI(lifespan=lifespan)

    async def authenticate(authorization: str | None) -> None:
        token = (authorization or "").removeprefix("Bearer ")
        if database is None:
            found = token == TOKEN
        else:
            found = await read_one(SELECT_CLIENT, {"b_token": token}) is not None
        if not found:
            raise HTTPException(401)

    @app.post("/v1/bank-inquiries", status_code=201, response_model=InquiryCreated)
    async def create(
        body: InquiryCreate, authorization: str | None = Header(None)
    ) -> dict[str, str]:
        await authenticate(authorization)
        inquiry_id = secrets.token_hex(16)
        row = {
            "id": inquiry_id,
            "state": secrets.token_urlsafe(24),
            "verifier": secrets.token_urlsafe(48),
            "status": "pending",
            "return_url": body.return_url,
        }
        if database is None:
            memory[inquiry_id] = {**row, "result": None}
            by_state[row["state"]] = inquiry_id
        else:
            await write(
                (INSERT_INQUIRY, row),
                (INSERT_EVENT, {"kind": "created", "object_id": inquiry_id, "at": _now()}),
            )
        return {"id": inquiry_id, "authorization_url": f"{base_url}/broker/start/{inquiry_id}"}

    @app.get("/broker/start/{inquiry_id}")
    async def start(inquiry_id: str) -> RedirectResponse:
        if database is None:
            state, verifier = memory[inquiry_id]["state"], memory[inquiry_id]["verifier"]
        else:
            found = await read_one(SELECT_START, {"b_id": inquiry_id})
            assert found is not None
            state, verifier = found.state, found.verifier
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = httpx.QueryParams(
            {
                "response_type": "code",
                "client_id": "honnin",
                "redirect_uri": callback_url,
                "scope": "kyc:name kyc:birthdate kyc:address",
                "state": state,
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
        )
        return RedirectResponse(f"{authorize_url}?{query}", status_code=303)

    async def call_bank(code: str, verifier: str) -> dict[str, Any]:
        if not bank_calls:
            return {"family_name": "佐藤"}
        token = await bank_json(
            token_url,
            {"Authorization": bank_auth},
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": callback_url,
                "code_verifier": verifier,
            },
        )
        record: dict[str, Any] = await bank_json(
            kyc_url, {"Authorization": f"Bearer {token['access_token']}"}, None
        )
        return record

    @app.get("/broker/callback")
    async def callback(request: Request) -> RedirectResponse:
        state, code = request.query_params["state"], request.query_params["code"]
        if database is None:
            row = memory[by_state.pop(state)]
            record = await call_bank(code, row["verifier"])
            row["status"], row["result"] = "completed", json.dumps(record)
            return RedirectResponse(row["return_url"], status_code=303)
        found = await read_one(SELECT_BY_STATE, {"b_state": state})
        assert found is not None
        await write(
            (CONSUME_STATE, {"b_id": found.id, "b_state": state, "b_now": _now()}),
            (INSERT_EVENT, {"kind": "consented", "object_id": found.id, "at": _now()}),
            (INSERT_RECEIPT, {"id": secrets.token_hex(16), "object_id": found.id}),
        )
        record = await call_bank(code, found.verifier)
        await write(
            (FINISH, {"b_id": found.id, "b_result": json.dumps(record)}),
            (INSERT_EVENT, {"kind": "completed", "object_id": found.id, "at": _now()}),
        )
        return RedirectResponse(found.return_url, status_code=303)

    @app.get("/v1/bank-inquiries/{inquiry_id}", response_model=InquiryOut)
    async def result(inquiry_id: str, authorization: str | None = Header(None)) -> dict[str, Any]:
        await authenticate(authorization)
        if database is None:
            row = memory[inquiry_id]
            stored = row["result"]
            return {"id": inquiry_id, "status": row["status"], "result": json.loads(stored)}
        found = await read_one(SELECT_RESULT, {"b_id": inquiry_id})
        assert found is not None
        await write(
            (DELIVER, {"b_id": inquiry_id, "b_now": _now()}),
            (INSERT_EVENT, {"kind": "delivered", "object_id": inquiry_id, "at": _now()}),
        )
        return {"id": found.id, "status": found.status, "result": json.loads(found.result)}

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    return app
