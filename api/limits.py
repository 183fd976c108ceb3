"""Request body limits, enforced before a body is read (pure ASGI middleware).

A declared ``Content-Length`` over the route's limit answers 413 at once, without reading a
byte; a streamed (chunked) body is counted as it arrives and answers 413 when it passes the
limit, so at most the limit is ever held in memory. Limits by route:

* ``POST /api/v1/events``: ``settings.max_body_bytes`` (default: ``max_batch_events`` events of
  ``MAX_EVENT_BYTES`` each, plus ``SMALL_BODY_BYTES``);
* ``PUT /api/v1/events/{id}/evidence/{role}``: ``settings.max_upload_bytes``;
* every other route: ``SMALL_BODY_BYTES`` (sign-in forms, hold entries, reviews).

Edge routes check the API key before they read the body (their dependencies run first), so a
caller without a key gets 401 while its body is still unread.

Example::

    app.add_middleware(BodyLimit, limit_for=route_limits(settings))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException

from gatewatch.api.settings import Settings
from gatewatch.contract import MAX_EVENT_BYTES

SMALL_BODY_BYTES = 64 * 1024
_EVIDENCE_PATH = re.compile(r"^/api/v1/events/[^/]+/evidence/[^/]+/?$")


class BodyTooLarge(HTTPException):
    """The request body passed its route's limit (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {limit} bytes")


def ingest_body_limit(settings: Settings) -> int:
    """Largest ingest body: the setting, or a full batch of the largest events the contract allows."""
    if settings.max_body_bytes is not None:
        return settings.max_body_bytes
    return settings.max_batch_events * MAX_EVENT_BYTES + SMALL_BODY_BYTES


def route_limits(settings: Settings) -> Callable[[dict[str, Any]], int]:
    """A function giving the body limit of a request's scope (see the module docstring)."""
    ingest = ingest_body_limit(settings)

    def limit_for(scope: dict[str, Any]) -> int:
        path = scope.get("path", "")
        if scope.get("method") == "POST" and path.rstrip("/") == "/api/v1/events":
            return ingest
        if scope.get("method") == "PUT" and _EVIDENCE_PATH.match(path):
            return settings.max_upload_bytes
        return SMALL_BODY_BYTES

    return limit_for


async def _send_413(send: Any, limit: int) -> None:
    body = b'{"detail":"request body exceeds the limit of %d bytes"}' % limit
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuses request bodies over ``limit_for(scope)`` bytes with 413, declared or streamed."""

    def __init__(self, app: Any, limit_for: Callable[[dict[str, Any]], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _send_413(send, limit)
            return
        received = 0
        started = False

        async def capped_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await _send_413(send, limit)
