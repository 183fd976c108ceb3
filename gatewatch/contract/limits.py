"""Limits of the wire contract and the checks that enforce them.

They match the API's columns (``gatewatch.api.models``), so an event the edge can build is one
the API can store, and anything else is refused naming the field.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any

NAME_MAX = 64  # gate, camera, lane, zone (String(64))
CLASS_MAX = 32  # vehicle_class (String(32))
PLATE_MAX = 32  # plate key (String(32))
PLATE_RAW_MAX = 64  # plate text as read (String(64))
PATH_MAX = 1024  # crop / snapshot paths on the edge box (edge-local, never stored by the API)
INT32_MAX = 2**31 - 1  # track_id (Integer)
JSON_INT_MAX = 2**53 - 1  # integers kept only in the JSON payload (exact in every JSON reader)
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)  # exclusive
DETAILS_MAX_DEPTH = 6  # levels of objects and arrays, details itself included
DETAILS_MAX_ITEMS = 512  # keys and values together
DETAILS_MAX_KEY = 64
DETAILS_MAX_TEXT = 2000  # a hold's reason is up to 2000 characters
DETAILS_MAX_BYTES = 16 * 1024  # the details object as compact JSON
MAX_EVENT_BYTES = 64 * 1024  # bound of one event as JSON (details, 3 paths, JSON escapes), for body limits
_FREE_TEXT_CONTROLS = frozenset("\t\n\r")


def check_text(value: str, allow: frozenset[str] = frozenset()) -> str:
    """``value`` unless it holds a control character (NUL, ESC ...) or a lone surrogate; raises ``ValueError``."""
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs") and ch not in allow:
            raise ValueError(f"control character {ch!r} not allowed")
    return value


def check_free_text(value: str) -> str:
    """Like ``check_text`` but tab and line breaks are allowed (notes, reasons)."""
    return check_text(value, _FREE_TEXT_CONTROLS)


def fit_text(value: str, max_length: int) -> str:
    """``value`` without control characters or lone surrogates, cut to ``max_length`` (for text the edge reads,
    e.g. OCR output, so the event it builds always passes the contract)."""
    return "".join(ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cs"))[:max_length]


def check_time(value: datetime) -> datetime:
    """``value`` when it lies in 1970-01-01 .. 2100-01-01 UTC (a naive time is read as UTC); raises ``ValueError``.

    The value is returned as given (offset kept); the API converts to UTC when it stores it.
    """
    offset = value.utcoffset()
    try:
        as_utc = value.replace(tzinfo=timezone.utc) - (offset or timedelta(0))
    except OverflowError:
        as_utc = None
    if as_utc is None or not (EARLIEST <= as_utc < LATEST):
        raise ValueError(f"time must be from {EARLIEST.date()} to before {LATEST.date()} (UTC)")
    return value


def _check_details_value(value: Any, depth: int, count: list[int]) -> None:
    count[0] += 1
    if count[0] > DETAILS_MAX_ITEMS:
        raise ValueError(f"details hold more than {DETAILS_MAX_ITEMS} keys and values")
    if isinstance(value, dict):
        if depth >= DETAILS_MAX_DEPTH:
            raise ValueError(f"details nested deeper than {DETAILS_MAX_DEPTH} levels")
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > DETAILS_MAX_KEY:
                raise ValueError(f"details keys must be strings of at most {DETAILS_MAX_KEY} characters")
            check_text(key)
            _check_details_value(item, depth + 1, count)
    elif isinstance(value, (list, tuple)):
        if depth >= DETAILS_MAX_DEPTH:
            raise ValueError(f"details nested deeper than {DETAILS_MAX_DEPTH} levels")
        for item in value:
            _check_details_value(item, depth + 1, count)
    elif isinstance(value, str):
        if len(value) > DETAILS_MAX_TEXT:
            raise ValueError(f"details text longer than {DETAILS_MAX_TEXT} characters")
        check_free_text(value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > JSON_INT_MAX:
            raise ValueError(f"details integer beyond +-{JSON_INT_MAX}")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("details numbers must be finite")
    else:
        raise ValueError(f"details values must be JSON (got {type(value).__name__})")


def check_details(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` when it is plain JSON within the details limits (depth, items, text, size); raises ``ValueError``."""
    _check_details_value(value, 0, [0])
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > DETAILS_MAX_BYTES:
        raise ValueError(f"details of {size} bytes exceed {DETAILS_MAX_BYTES} bytes as JSON")
    return value
