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

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


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
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=True)

class PlateRead(_Record):
    """A vehicle's settled plate: normalised and raw text, country, confidence."""

    text: str = Field(description="Normalised plate text, e.g. '51F12345' or '桂A12345'.")
    text_raw: str = Field(description="Text as the reader returned it (lines joined by a space).")
    country: Literal["VN", "CN", "unknown"] = "unknown"
    confidence: float = Field(ge=0.0, le=1.0)
    reads: int = Field(default=1, ge=1, description="How many reads the vote settled on.")
    crop_path: str | None = None

def _new_id() -> uuid.UUID:
    return uuid.uuid4()

class CrossingEvent(_Record):
    """A vehicle crossed a lane's gate line."""

    kind: Literal["crossing"] = "crossing"
    event_id: uuid.UUID = Field(default_factory=_new_id)
    gate: str
    camera: str
    lane: str
    direction: Direction
    vehicle_class: str = Field(description="car, truck, bus or motorcycle (the model's class name).")
    track_id: int
    confidence: float = Field(ge=0.0, le=1.0)
    frame_time: datetime = Field(description="Time of the frame (UTC), from the stream's timestamps.")
    stream_ts: float = Field(ge=0.0, description="Seconds since the start of the stream.")
    frame_index: int = Field(ge=0)
    box: Box = Field(description="x1, y1, x2, y2 in frame pixels.")
    crop_path: str | None = None
    plate: PlateRead | None = None

class FlagEvent(_Record):
    """A flag's start, update or end for one vehicle (held, on the hold list, empty truck)."""

    kind: Literal["flag"] = "flag"
    event_id: uuid.UUID = Field(default_factory=_new_id)
    flag_id: uuid.UUID = Field(description="Same for the start, updates and end of one flag.")
    flag_kind: FlagKind
    phase: FlagPhase
    gate: str
    camera: str
    lane: str | None = None
    zone: str | None = None
    track_id: int | None = None
    vehicle_class: str | None = None
    started_at: datetime
    frame_time: datetime
    stream_ts: float = Field(ge=0.0)
    duration_s: float = Field(ge=0.0)
    box: Box | None = None
    plate: PlateRead | None = None
    snapshot_path: str | None = None
    crop_path: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

GateEvent = Annotated[CrossingEvent | FlagEvent, Field(discriminator="kind")]
gate_event_adapter: TypeAdapter[CrossingEvent | FlagEvent] = TypeAdapter(GateEvent)

def parse_event(data: str | bytes | dict[str, Any]) -> CrossingEvent | FlagEvent:
    """Parse one event from JSON text or a dict (raises ``pydantic.ValidationError``)."""
    if isinstance(data, (str, bytes)):
        return gate_event_adapter.validate_json(data)
    return gate_event_adapter.validate_python(data)

__all__ = [
    "Box", "CrossingEvent", "Direction", "FlagEvent", "FlagKind", "FlagPhase", "GateEvent",
    "PlateRead", "gate_event_adapter", "parse_event",
]
