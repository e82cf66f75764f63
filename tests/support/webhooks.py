"""A real webhook receiver on loopback that records what it was sent."""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from support.server import serve_in_thread


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many deliveries first
    flood_next: int = 0  # accept this many with a 200 whose body never ends
    hold_next: int = 0  # answer this many only once `released` is set (a slow receiver)
    released: threading.Event = field(default_factory=threading.Event)
    arrived: int = 0  # requests that reached the receiver, held ones included
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.arrived += 1
            held = self.hold_next > 0
            self.hold_next -= held
        if held:  # the test sets `released` from its own thread
            await asyncio.to_thread(self.released.wait)
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return Response(status_code=500)
            self.received.append(Received(headers=dict(request.headers), body=body))
            if self.flood_next > 0:
                self.flood_next -= 1
                return StreamingResponse(_endless(), status_code=200)
        return Response(status_code=204)


async def _endless() -> AsyncIterator[bytes]:
    while True:
        yield b"ok " * 5000
        await asyncio.sleep(0)


async def _landing(request: Request) -> Response:
    """The enterprise page a user lands on after the bank (a return_url)."""
    status = html.escape(request.query_params.get("status", ""))
    return Response(
        f"<!doctype html><title>Enterprise</title><h1 id=status>{status}</h1>",
        media_type="text/html",
    )


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = Starlette(
        routes=[
            Route("/hook", receiver.handle, methods=["POST"]),
            Route("/after-kyc", _landing),
        ]
    )
    with serve_in_thread(app) as base_url:
        receiver.url = base_url + "/hook"
        yield receiver
