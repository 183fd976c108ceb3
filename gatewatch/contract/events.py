"""Typed events that leave the edge box: crossings and flags, and the one union both sides parse.

Every stage that produces something for the outside world produces one of these records; the
edge's sinks serialise them and the API validates them with the same models (``event_adapter``,
discriminated on ``kind``).

Edge-local fields: ``crop_path``, ``snapshot_path`` and ``plate.crop_path`` name files on the edge
box. The edge keeps them (the JSON-lines file, the outbox reading evidence images, MQTT), but they
are not part of what reaches the API: ``wire_dict`` / ``wire_body`` leave them out, the HTTP client
sends only that, and the API drops them from anything an older edge still sends before storing.

Example::

    >>> ev = CrossingEvent(gate="huu-nghi", camera="cam-1", lane="import-1", direction="entry",
    ...     vehicle_class="truck", track_id=7, confidence=0.81, frame_time=datetime.now(timezone.utc),
    ...     stream_ts=12.4, frame_index=310, box=(10, 20, 200, 180), crop_path="out/crops/a.jpg")
    >>> ev.kind, "crop_path" in wire_dict(ev)
    ('crossing', False)
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from gatewatch.contract.enums import Direction, FlagKind, FlagPhase
from gatewatch.contract.limits import (
    CLASS_MAX,
    INT32_MAX,
    JSON_INT_MAX,
    NAME_MAX,
    PATH_MAX,
    PLATE_MAX,
    PLATE_RAW_MAX,
    check_details,
    check_text,
    check_time,
)
from gatewatch.contract.plates import plate_key

# Fields naming files on the edge box (top level and inside ``plate``): kept by the edge, never sent.
EDGE_LOCAL_FIELDS = ("crop_path", "snapshot_path")


Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX), AfterValidator(check_text)]
ClassName = Annotated[str, StringConstraints(min_length=1, max_length=CLASS_MAX), AfterValidator(check_text)]
EdgePath = Annotated[str, StringConstraints(min_length=1, max_length=PATH_MAX), AfterValidator(check_text)]
EventTime = Annotated[datetime, AfterValidator(check_time)]
TrackId = Annotated[int, Field(ge=0, le=INT32_MAX)]
Details = Annotated[dict[str, Any], AfterValidator(check_details)]
Box = tuple[float, float, float, float]
_EDGE_LOCAL = "File on the edge box; edge-local, not sent to the API (which ignores it and never stores it)."


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=True, allow_inf_nan=False)


def _plate_fits(text: str) -> str:
    # upper case can lengthen text ('ß' -> 'SS'), and so can the key's NFKC step; the API stores the key
    if len(text.upper()) > PLATE_MAX or len(plate_key(text)) > PLATE_MAX:
        raise ValueError(f"plate text longer than {PLATE_MAX} characters once upper-cased")
    return text


PlateTextField = Annotated[str, StringConstraints(max_length=PLATE_MAX), AfterValidator(check_text), AfterValidator(_plate_fits)]
PlateRawField = Annotated[str, StringConstraints(max_length=PLATE_RAW_MAX), AfterValidator(check_text)]


class PlateRead(_Record):
    """A vehicle's settled plate: normalised and raw text, country, confidence."""

    text: PlateTextField = Field(description="Normalised plate text, e.g. '51F12345' or '桂A12345'.")
    text_raw: PlateRawField = Field(description="Text as the reader returned it (lines joined by a space).")
    country: Literal["VN", "CN", "unknown"] = "unknown"
    confidence: float = Field(ge=0.0, le=1.0)
    reads: int = Field(default=1, ge=1, le=INT32_MAX, description="How many reads the vote settled on.")
    crop_path: EdgePath | None = Field(None, description=_EDGE_LOCAL)


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
    crop_path: EdgePath | None = Field(None, description=_EDGE_LOCAL)
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
    snapshot_path: EdgePath | None = Field(None, description=_EDGE_LOCAL)
    crop_path: EdgePath | None = Field(None, description=_EDGE_LOCAL)
    details: Details = Field(default_factory=dict, description="Flagger's facts: plain JSON, bounded.")


Event = CrossingEvent | FlagEvent
"""Any event the edge produces (the one union; parse with ``event_adapter``)."""
GateEvent = Annotated[Event, Field(discriminator="kind")]
event_adapter: TypeAdapter[Event] = TypeAdapter(GateEvent)


def parse_event(data: str | bytes | dict[str, Any]) -> Event:
    """Parse one event from JSON text or a dict (raises ``pydantic.ValidationError``)."""
    if isinstance(data, (str, bytes)):
        return event_adapter.validate_json(data)
    return event_adapter.validate_python(data)


def strip_edge_local(data: dict[str, Any]) -> dict[str, Any]:
    """An event's JSON object without the edge-local fields (top level and ``plate``); the input is not changed."""
    out = {k: v for k, v in data.items() if k not in EDGE_LOCAL_FIELDS}
    if isinstance(out.get("plate"), dict):
        out["plate"] = {k: v for k, v in out["plate"].items() if k not in EDGE_LOCAL_FIELDS}
    return out


def wire_dict(event: Event) -> dict[str, Any]:
    """The event as the API receives and stores it: JSON-ready, without edge-local fields."""
    return strip_edge_local(event.model_dump(mode="json"))


def wire_body(body: str | bytes) -> str:
    """One event's JSON text (as the edge wrote it, paths and all) as sent to the API: edge-local fields left out.

    Text that is not a JSON object is returned unchanged, so the API answers for it as before.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    text = body if isinstance(body, str) else body.decode("utf-8", "replace")
    if not isinstance(data, dict):
        return text
    wire = strip_edge_local(data)
    if wire == data:
        return text
    out = json.dumps(wire, ensure_ascii=False, separators=(",", ":"))
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escaped in the text: keep it escaped (the API refuses it)
        out = json.dumps(wire, separators=(",", ":"))
    return out
