"""Liveness (open) and Prometheus metrics (admin token or ``GATEWATCH_METRICS_TOKEN``; edge keys get 403)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gatewatch.api.deps import MetricsCallerDep
from gatewatch.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Always ``{"status": "ok"}`` while the process serves requests (no auth)."""
    return Health()


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request, _caller: MetricsCallerDep) -> Response:
    """Prometheus text format: ingest counters, open-flag queue length, request latency."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
