"""``/ledger``: C2SP tlog-tiles (checkpoint, tiles, entry bundles), RFC 9162 proofs,
C2SP tlog-witness ``add-checkpoint`` and verification look-ups between peers.

Thin: parsing and answers live in the service and the pure modules. tlog-witness
prescribes plain-text answers (409 carries the recorded size as ``text/x.tlog.size``);
every other error is a ledger error rendered as problem+json by the gateway.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from honnin.ledger import tiles, witness
from honnin.ledger.errors import WitnessConflictError, WitnessError
from honnin.ledger.merkle import leaf_hash
from honnin.ledger.note import b64
from honnin.ledger.schemas import ConsistencyProofOut, InclusionProofOut
from honnin.ledger.service import LedgerService

router = APIRouter(prefix="/ledger", tags=["ledger"])

_IMMUTABLE = "public, max-age=31536000, immutable"


async def get_ledger(request: Request) -> LedgerService:
    service: LedgerService = request.app.state.ledger
    return service


Ledger = Annotated[LedgerService, Depends(get_ledger)]


@router.get("/checkpoint", response_class=PlainTextResponse)
async def checkpoint(ledger: Ledger) -> Response:
    """The latest signed checkpoint with the witness cosignatures collected for it."""
    return Response(
        await ledger.checkpoint_note(),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "public, max-age=2"},
    )


@router.get("/tile/{path:path}")
async def tile(path: str, ledger: Ledger) -> Response:
    """Hash tiles ``tile/<L>/<N>[.p/<W>]`` and entry bundles ``tile/entries/<N>[.p/<W>]``."""
    ref = tiles.parse_tile_path(path)
    return Response(
        await ledger.log.tile(ref),
        media_type="application/octet-stream",
        headers={"Cache-Control": _IMMUTABLE},
    )


@router.get("/proof/inclusion", response_model=InclusionProofOut)
async def inclusion_proof(
    ledger: Ledger,
    index: Annotated[int, Query(ge=0)],
    size: Annotated[int, Query(ge=1)],
) -> InclusionProofOut:
    proof = await ledger.log.inclusion_proof(index, size)
    entry = await ledger.log.entry(index)
    return InclusionProofOut(
        index=index,
        size=size,
        leaf_hash=b64(leaf_hash(entry.data)),
        root_hash=b64(await ledger.log.root_at(size)),
        proof=[b64(h) for h in proof],
    )


@router.get("/proof/consistency", response_model=ConsistencyProofOut)
async def consistency_proof(
    ledger: Ledger,
    size1: Annotated[int, Query(ge=0)],
    size2: Annotated[int, Query(ge=0)],
) -> ConsistencyProofOut:
    proof = await ledger.log.consistency_proof(size1, size2)
    return ConsistencyProofOut(
        size1=size1,
        size2=size2,
        root1=b64(await ledger.log.root_at(size1)),
        root2=b64(await ledger.log.root_at(size2)),
        proof=[b64(h) for h in proof],
    )


@router.post("/witness/add-checkpoint", response_class=PlainTextResponse)
async def add_checkpoint(request: Request, ledger: Ledger) -> Response:
    """C2SP tlog-witness: verify, record atomically and cosign a peer's checkpoint."""
    body = await _body(request)
    try:
        line = await ledger.add_checkpoint(body)
    except WitnessConflictError as exc:
        return Response(
            f"{exc.latest_size}\n", status_code=409, media_type=witness.SIZE_CONTENT_TYPE
        )
    except WitnessError as exc:
        return PlainTextResponse(f"{exc.safe_message}\n", status_code=exc.status)
    return Response(line, media_type="text/plain; charset=utf-8")


@router.post("/lookup")
async def lookup(request: Request, ledger: Ledger) -> dict[str, Any]:
    """Answer a peer's signed look-up note with an offline-verifiable bundle."""
    body = await _body(request)
    return await ledger.answer_lookup(body.decode("utf-8", errors="replace"))


async def _body(request: Request) -> bytes:
    """The request body; the parsers refuse anything over their 64 KiB limits."""
    return await request.body()
