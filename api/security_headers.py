"""Security headers on every response (pure ASGI middleware, registered last in ``create_app``).

* ``Content-Security-Policy``: the review page loads only its own script, style and images (plus
  ``blob:`` images, which it makes from evidence fetched with the token); nothing may frame it.
  ``/docs`` (Swagger UI, as FastAPI serves it) gets its own policy that allows the jsDelivr CDN and
  its one inline script; turn docs off with ``GATEWATCH_DOCS_ENABLED=false`` where that matters.
* ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``.
* ``Cache-Control: no-store`` on everything but the data-free page shell under ``/ui/`` (which says
  ``no-cache`` itself): API answers, evidence images and metrics stay out of browser and proxy caches.

Starlette answers an unhandled error in its outermost layer, outside every middleware, so a bug's
500 would leave without these headers: this middleware answers that 500 itself (plain, no detail)
and re-raises, so the error is still logged where it always was.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import Message

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
DOCS_CSP = ("default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect")
FIXED = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class SecurityHeadersMiddleware:
    """Sets the headers above on every HTTP response, replacing any a route set for the same names."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if path in DOCS_PATHS else PAGE_CSP
        page_shell = path.startswith("/ui/")

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in FIXED.items():
                    headers[name] = value
                headers["Content-Security-Policy"] = csp
                if not (page_shell and "cache-control" in headers):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send_with_headers)
            raise
