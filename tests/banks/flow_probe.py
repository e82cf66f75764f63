"""A platform app with one extra route that calls a bank through ``app.state.bank_flow``.

Stands in for the inquiry broker's outbound call in flow-control tests: ``GET
/probe/{bank_id}`` GETs the bank's KYC endpoint inside ``BankFlow.call`` and reports the
bank's HTTP status; flow refusals come back as the platform's problem documents. Run as
a separate process with ``uvicorn --factory flow_probe:create`` (settings from
``HONNIN_*``, bank URLs from ``PROBE_BANK_URLS`` as JSON ``{bank_id: url}``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from honnin.app import create_app
from honnin.banks.errors import BankUnreachableError
from honnin.banks.flow import BankFlow
from honnin.config import Settings


def add_probe_route(app: FastAPI, urls: Mapping[str, str]) -> None:
    http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200))
    flow: BankFlow = app.state.bank_flow

    @app.get("/probe/{bank_id}")
    async def probe(bank_id: str) -> dict[str, int]:
        async def fetch() -> int:
            async with flow.guard(bank_id) as ticket:
                try:
                    response = await http.get(urls[bank_id])
                except httpx.TransportError as exc:  # as the bank connector maps them
                    raise BankUnreachableError(f"{bank_id}: connection failed") from exc
                if response.status_code >= 500:
                    ticket.failure()
                    raise BankUnreachableError(f"{bank_id} answered {response.status_code}")
                return response.status_code

        return {"bank_status": await fetch()}


def create() -> FastAPI:
    app = create_app(Settings())
    add_probe_route(app, json.loads(os.environ["PROBE_BANK_URLS"]))
    return app
