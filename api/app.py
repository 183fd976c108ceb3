"""``create_app(settings)``: the gate API as an ASGI app.

Example::

    from gatewatch.api.app import create_app
    from gatewatch.api.settings import Settings

    app = create_app(Settings(database_url="sqlite:///gw.db", evidence_dir="evidence"))
    # uvicorn.run(app)  -- or: gatewatch serve
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from gatewatch import __version__
from gatewatch.api.auth import stored_secret
from gatewatch.api.db import make_engine, make_sessionmaker, upgrade
from gatewatch.api.evidence import EvidenceStore
from gatewatch.api.limits import BodyLimit, route_limits
from gatewatch.api.login_throttle import LoginThrottle
from gatewatch.api.metrics import ApiMetrics
from gatewatch.api.review import open_flag_count
from gatewatch.api.routers import (
    auth,
    crossings,
    events,
    flags,
    gate,
    health,
    holds,
    today,
    trends,
    ui,
    users,
)
from gatewatch.api.security_headers import SecurityHeadersMiddleware
from gatewatch.api.settings import Settings, load_settings

log = logging.getLogger(__name__)


class LatencyMiddleware:
    """Records each request's latency by method, route template and status (pure ASGI, cheap)."""

    def __init__(self, app: Any, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        code = [500]

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                code[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.latency.labels(scope["method"], path, str(code[0])).observe(time.perf_counter() - start)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: engine, migrations (when ``settings.migrate_on_start``), evidence store, routers.

    ``settings`` defaults to the environment (``GATEWATCH_*``); a bad value raises ``ConfigError``.
    """
    settings = settings or load_settings()
    engine = make_engine(settings)
    if settings.migrate_on_start:
        upgrade(engine)
    sessions = make_sessionmaker(engine)

    def count_open() -> float:
        try:
            with sessions() as session:
                return float(open_flag_count(session))
        except Exception:  # a scrape must not fail because the DB hiccups
            log.exception("cannot count open flags")
            return float("nan")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    docs = settings.docs_enabled
    app = FastAPI(
        title="gatewatch gate API", version=__version__, lifespan=lifespan,
        description="Crossings and flags from the edge boxes; counts, search, the review queue and hold list.",
        docs_url="/docs" if docs else None, redoc_url=None, openapi_url="/openapi.json" if docs else None,
    )
    metrics = ApiMetrics(count_open)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessions
    app.state.evidence = EvidenceStore(settings.evidence_dir)
    app.state.metrics = metrics
    app.state.login_throttle = LoginThrottle.from_settings(settings)
    app.state.password_pool = ThreadPoolExecutor(settings.password_workers, thread_name_prefix="gatewatch-bcrypt")
    if settings.jwt_secret is not None:
        app.state.jwt_secret = settings.jwt_secret.get_secret_value()
    else:
        try:
            with sessions() as session:
                app.state.jwt_secret = stored_secret(session, "jwt")
            log.info("GATEWATCH_JWT_SECRET is not set: tokens are signed with the key kept in the database")
        except SQLAlchemyError as exc:  # e.g. migrations not run (migrate_on_start off, database behind)
            log.warning("GATEWATCH_JWT_SECRET is not set and the database keeps no key (%s): tokens are signed "
                        "with a random per-process key (sign-ins end at restart; one worker only)", exc.__class__.__name__)
            app.state.jwt_secret = secrets.token_urlsafe(32)
    for module in (health, events, holds, crossings, flags, gate, today, trends, auth, users, ui):
        app.include_router(module.router)
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's schema plus the edge event models the hand-parsed ingest body refers to."""
        if app.openapi_schema is None:
            schema = default_openapi()  # FastAPI keeps it as app.openapi_schema
            schema.setdefault("components", {}).setdefault("schemas", {}).update(events.EVENT_SCHEMAS)
            return schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
    app.add_middleware(BodyLimit, limit_for=route_limits(settings))  # bodies capped before they are read
    app.add_middleware(LatencyMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
