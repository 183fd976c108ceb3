"""The edge box's one client of the gate API, with every answer mapped to a typed outcome.

Its users are the outbox sender (``gatewatch.sinks.outbox``: events and evidence) and the hold-list
flagger (``gatewatch.vision.flags.holds``: ``holds()``), so both send the same key header, timeouts
and TLS settings. Events go out in their wire form (``gatewatch.contract.wire_body``): the edge's
local file paths stay on the edge. Each call either returns the API's answer or raises one of the
``DeliveryError`` subclasses below, which tell the sender what to do: retry later (``TransientError``,
``AuthError``, ``ApiConfigError``; no sooner than a ``Retry-After`` the server sent with a 429 or 5xx),
isolate an event the API fails on (``ServerFault``, a 500), set one event aside (``BatchRejected``,
``BatchConflict``), split the batch (``BatchTooLarge``) or set one image aside (``EvidenceRejected``).

Example::

    >>> client = ApiClient("http://127.0.0.1:8000", api_key="gw_...")
    >>> client.post_events(['{"kind": "crossing", ...}'])
    BatchAck(accepted=1, duplicates=0)
    >>> client.holds()
    [HoldEntry(plate='51F12345', reason='unpaid fees', until=None)]
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import ValidationError

from gatewatch import __version__
from gatewatch.contract import HoldEntry, HoldsForEdge, wire_body

EVENTS_PATH = "/api/v1/events"
HOLDS_PATH = "/api/v1/holds"
EVIDENCE_ROLES = ("crop", "snapshot", "plate")


class DeliveryError(Exception):
    """Base class of every failed delivery; ``str(err)`` is a one-line reason."""

    def __init__(self, reason: str, status: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s  # the server's Retry-After, when it sent one


RETRY_AFTER_MAX_S = 3600.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date), or ``None``.

    Negative, unparseable or missing values give ``None``; long waits are capped at
    ``RETRY_AFTER_MAX_S`` (an hour) so a misconfigured proxy cannot park the sender for days.
    """
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


class TransientError(DeliveryError):
    """Connection failure, timeout, 5xx or 429: retry with backoff."""


class ServerFault(TransientError):
    """HTTP 500 for a batch: an outage, or one event the API cannot store (the sender isolates it)."""


class AuthError(DeliveryError):
    """401/403: the API key is missing, wrong or revoked. Never drops data; retried with backoff."""


class ApiConfigError(DeliveryError):
    """Any other unexpected answer (404 on the events route, 405 ...): likely a wrong ``api_url``."""


class BatchRejected(DeliveryError):
    """422 for a batch: the API names one bad event (nothing of the batch was stored)."""

    def __init__(self, reason: str, status: int, index: int | None, event_id: str | None) -> None:
        super().__init__(reason, status)
        self.index = index
        self.event_id = event_id


class BatchConflict(BatchRejected):
    """409 for a batch: an event id the API holds with different content; set that event aside."""


class BatchTooLarge(DeliveryError):
    """413 for a batch: send fewer events at a time."""


class EvidenceRejected(DeliveryError):
    """404 (unknown event), 413 (too big) or 415 (wrong type) for an image: set it aside."""


@dataclass(frozen=True)
class BatchAck:
    """The API's answer to a stored batch."""

    accepted: int
    duplicates: int


def _detail(response: httpx.Response) -> Any:
    try:
        return response.json().get("detail")
    except (ValueError, AttributeError):
        return None


def _short(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code}: {text[:300]}"


class ApiClient:
    """Synchronous HTTP client for ``POST /api/v1/events``, evidence ``PUT`` and ``GET /api/v1/holds``
    (one connection pool; ``X-API-Key`` on every request when a key is given)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        httpx_log = logging.getLogger("httpx")
        if httpx_log.level == logging.NOTSET:
            httpx_log.setLevel(logging.WARNING)  # one INFO line per request would drown the edge's log
        self.timeout_s = connect_timeout_s + read_timeout_s  # longest one request can take to fail
        timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        headers = {"User-Agent": f"gatewatch-edge/{__version__}"}
        if api_key:
            headers["X-API-Key"] = api_key
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise TransientError(f"timeout talking to {self.base_url}: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"cannot reach {self.base_url}: {exc or type(exc).__name__}") from exc

    @staticmethod
    def _common(response: httpx.Response) -> None:
        """Raise for answers that mean the same on every route."""
        code = response.status_code
        if code in (401, 403):
            raise AuthError(f"API refused the key ({_short(response)})", code)
        if code == 500:
            raise ServerFault(_short(response), code, parse_retry_after(response.headers.get("Retry-After")))
        if code >= 500 or code in (408, 429):
            raise TransientError(_short(response), code, parse_retry_after(response.headers.get("Retry-After")))

    def post_events(self, bodies: list[str]) -> BatchAck:
        """Send events (each one JSON object as text, in order, as the edge stored it); return the API's counts.

        Each event goes out in its wire form: the edge-local file paths are left out.
        """
        payload = '{"events":[' + ",".join(wire_body(body) for body in bodies) + "]}"
        response = self._send(
            "POST", EVENTS_PATH, content=payload.encode("utf-8"), headers={"Content-Type": "application/json"}
        )
        self._common(response)
        code = response.status_code
        if code == 200:
            data = response.json()
            return BatchAck(accepted=int(data.get("accepted", 0)), duplicates=int(data.get("duplicates", 0)))
        if code == 413:
            raise BatchTooLarge(_short(response), code)
        if code in (400, 409, 422):
            error_type = BatchConflict if code == 409 else BatchRejected
            detail = _detail(response)
            if isinstance(detail, dict) and ("index" in detail or "event_id" in detail):
                index = detail.get("index")
                event_id = detail.get("event_id")
                error = detail.get("error", detail)
                reason = error if isinstance(error, str) else json.dumps(error, ensure_ascii=False)[:1000]
                raise error_type(
                    reason,
                    code,
                    index if isinstance(index, int) else None,
                    None if event_id is None else str(event_id),
                )
            # No event named (e.g. a framework-level validation error): the sender bisects.
            raise error_type(_short(response), code, None, None)
        raise ApiConfigError(
            f"unexpected answer from {EVENTS_PATH} ({_short(response)}); is api_url right?", code
        )

    def put_evidence(self, event_id: str, role: str, data: bytes, content_type: str) -> bool:
        """Upload one image; return ``True`` when the API stored it now, ``False`` when it had it."""
        response = self._send(
            "PUT",
            f"{EVENTS_PATH}/{event_id}/evidence/{role}",
            content=data,
            headers={"Content-Type": content_type},
        )
        self._common(response)
        code = response.status_code
        if code in (200, 201):
            return code == 201
        if code in (404, 409, 413, 415, 422):  # 409: the API holds other bytes for that role
            raise EvidenceRejected(_short(response), code)
        raise ApiConfigError(f"unexpected answer to evidence upload ({_short(response)})", code)

    def holds(self, path: str = HOLDS_PATH) -> list[HoldEntry]:
        """The gate's active hold list: ``GET path`` (relative to ``base_url``, or a whole URL), answering
        ``{"holds": [...]}`` (or a bare list).

        Raises a ``DeliveryError`` on any failure (no link, refused key, not a hold list).
        """
        response = self._send("GET", path)
        self._common(response)
        if response.status_code != 200:
            raise ApiConfigError(f"unexpected answer from {response.url} ({_short(response)}); is the url right?",
                                 response.status_code)
        try:
            data = response.json()
            return HoldsForEdge.model_validate({"holds": data} if isinstance(data, list) else data).holds
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise ApiConfigError(f"{response.url} sent no hold list ({where}: {error['msg']})",
                                 response.status_code) from None
        except ValueError as exc:
            raise ApiConfigError(f"{response.url} sent no JSON ({exc})", response.status_code) from None

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
