"""Operations endpoints: liveness, readiness (database reachable), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from honnin.gateway.problems import problem_response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> dict[str, str] | Response:
    """The process can serve: its database answers."""
    try:
        await request.app.state.database.ping()
    except Exception:  # noqa: BLE001 - any failure to reach the database means not ready
        return problem_response(
            status=503,
            code="database_unavailable",
            detail="the database is not reachable",
            headers={"Retry-After": "5"},
        )
    return {"status": "ready", "database": request.app.state.database.dialect}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST
    )
