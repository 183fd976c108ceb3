"""Typed events that leave the edge box: crossings and flags.

Every stage that produces something for the outside world produces one of these records;
sinks (JSON lines, HTTP outbox, MQTT) serialise them with ``event.model_dump_json()`` and the
API validates them with the same models. ``GateEvent`` is the discriminated union of both.

Example::

    >>> ev = CrossingEvent(gate="huu-nghi", camera="cam-1", lane="import-1", direction="entry",
    ...     vehicle_class="truck", track_id=7, confidence=0.81, frame_time=datetime.now(timezone.utc),
    ...     stream_ts=12.4, frame_index=310, box=(10, 20, 200, 180))
    >>> ev.kind
    'crossing'
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

# Limits of the contract: they match the API's columns (gatewatch.api.models), so an event the edge
# can build is one the API can store, and anything else is refused naming the field.
NAME_MAX = 64  # gate, camera, lane, zone (String(64))
CLASS_MAX = 32  # vehicle_class (String(32))
PLATE_MAX = 32  # plate text, normalised (String(32))
PLATE_RAW_MAX = 64  # plate text as read (String(64))
PATH_MAX = 1024  # crop / snapshot paths on the edge box (kept in the event's payload only)
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


def _name(max_length: int, min_length: int = 1) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length), AfterValidator(check_text)]


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


Name = _name(NAME_MAX)
ClassName = _name(CLASS_MAX)
EdgePath = _name(PATH_MAX)
EventTime = Annotated[datetime, AfterValidator(check_time)]
TrackId = Annotated[int, Field(ge=0, le=INT32_MAX)]
Details = Annotated[dict[str, Any], AfterValidator(check_details)]


class Direction(str, Enum):
    """Direction of a crossing: ``entry`` (import, into the country) or ``exit`` (export)."""

    ENTRY = "entry"
    EXIT = "exit"

class FlagKind(str, Enum):
    """Why a vehicle needs an operator's look."""

    HELD = "held"
    HOLD_LIST = "hold_list"
    EMPTY_TRUCK = "empty_truck"

class FlagPhase(str, Enum):
    """Life cycle of a flag: raised, updated while it lasts, ended."""

    START = "start"
    UPDATE = "update"
    END = "end"

Box = tuple[float, float, float, float]

class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=True, allow_inf_nan=False)

def _plate_fits(text: str) -> str:
    if len(text.upper()) > PLATE_MAX:  # upper case can lengthen text ('ß' -> 'SS'); the API stores it so
        raise ValueError(f"plate text longer than {PLATE_MAX} characters once upper-cased")
    return text

class PlateRead(_Record):
    """A vehicle's settled plate: normalised and raw text, country, confidence."""

    text: Annotated[_name(PLATE_MAX, 0), AfterValidator(_plate_fits)] = Field(
        description="Normalised plate text, e.g. '51F12345' or '桂A12345'.")
    text_raw: _name(PLATE_RAW_MAX, 0) = Field(description="Text as the reader returned it (lines joined by a space).")
    country: Literal["VN", "CN", "unknown"] = "unknown"
    confidence: float = Field(ge=0.0, le=1.0)
    reads: int = Field(default=1, ge=1, le=INT32_MAX, description="How many reads the vote settled on.")
    crop_path: EdgePath | None = None

def _new_id() -> uuid.UUID:
    return uuid.uuid4()

class CrossingEvent(_Record):
    """A vehicle crossed a lane's gate line."""

    kind: Literal["crossing"] = "crossing"
    event_id: uuid.UUID = Field(default_factory=_new_id)
    gate: Name
    camera: Name
    lane: Name
    direction: Direction
    vehicle_class: ClassName = Field(description="car, truck, bus or motorcycle (the model's class name).")
    track_id: TrackId
    confidence: float = Field(ge=0.0, le=1.0)
    frame_time: EventTime = Field(description="Time of the frame (UTC; a time without offset is read as UTC).")
    stream_ts: float = Field(ge=0.0, description="Seconds since the start of the stream.")
    frame_index: int = Field(ge=0, le=JSON_INT_MAX)
    box: Box = Field(description="x1, y1, x2, y2 in frame pixels.")
    crop_path: EdgePath | None = None
    plate: PlateRead | None = None

class FlagEvent(_Record):
    """A flag's start, update or end for one vehicle (held, on the hold list, empty truck)."""

    kind: Literal["flag"] = "flag"
    event_id: uuid.UUID = Field(default_factory=_new_id)
    flag_id: uuid.UUID = Field(description="Same for the start, updates and end of one flag.")
    flag_kind: FlagKind
    phase: FlagPhase
    gate: Name
    camera: Name
    lane: Name | None = None
    zone: Name | None = None
    track_id: TrackId | None = None
    vehicle_class: ClassName | None = None
    started_at: EventTime
    frame_time: EventTime
    stream_ts: float = Field(ge=0.0)
    duration_s: float = Field(ge=0.0)
    box: Box | None = None
    plate: PlateRead | None = None
    snapshot_path: EdgePath | None = None
    crop_path: EdgePath | None = None
    details: Details = Field(default_factory=dict, description="Flagger's facts: plain JSON, bounded.")

GateEvent = Annotated[CrossingEvent | FlagEvent, Field(discriminator="kind")]
gate_event_adapter: TypeAdapter[CrossingEvent | FlagEvent] = TypeAdapter(GateEvent)

def parse_event(data: str | bytes | dict[str, Any]) -> CrossingEvent | FlagEvent:
    """Parse one event from JSON text or a dict (raises ``pydantic.ValidationError``)."""
    if isinstance(data, (str, bytes)):
        return gate_event_adapter.validate_json(data)
    return gate_event_adapter.validate_python(data)

__all__ = [
    "INT32_MAX", "MAX_EVENT_BYTES", "PLATE_MAX", "PLATE_RAW_MAX", "check_free_text", "fit_text", "check_text", "check_time",
    "Box", "CrossingEvent", "Direction", "FlagEvent", "FlagKind", "FlagPhase", "GateEvent",
    "PlateRead", "gate_event_adapter", "parse_event",
]
