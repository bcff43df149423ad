"""Operational endpoints: liveness, readiness, Prometheus metrics (operators only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from system.api.metrics import Metrics
from system.api.operator import MetricsReader
from system.api.security import ServicesDep
from system.service_layer import accounts

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no database call)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(svc: ServicesDep) -> JSONResponse:
    """The database answers and its schema is at the newest migration (else 503)."""
    state = await svc(accounts.readiness)
    body = {"ready": state.ready, "database": state.database, "revision": state.revision}
    return JSONResponse(body, status_code=200 if state.ready else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request, _: MetricsReader, svc: ServicesDep) -> PlainTextResponse:
    """For operators: an admin's session or a metrics scrape token (SEC-01, CON-03)."""
    registry: Metrics = request.app.state.metrics
    figures = await svc.in_thread(accounts.operations_figures)  # grows with the data
    answers = request.app.state.answers
    text = registry.render(figures=figures, batches={"answers": (answers.batches, answers.items)})
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
