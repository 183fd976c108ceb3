"""Batch ingest: validate every event with the edge box's own models, then store all or nothing.

Crossings go to ``crossings``; flag start / update / end events fold into one ``flags`` row per
``flag_id``. Every event is also kept in ``events`` under its ``event_id``, which makes a
repeated event a no-op.

Example::

    events = validate_batch(body["events"], key)           # raises InvalidEvent / OutOfScope
    result = store_batch(session, events)                  # IngestResult(accepted=.., duplicates=..)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gatewatch.api.auth import key_allows
from gatewatch.api.exceptions import InvalidEvent, OutOfScope
from gatewatch.api.models import ApiKey, Crossing, Event, Flag, utcnow
from gatewatch.api.plates import normalise, plate_key
from gatewatch.events import CrossingEvent, FlagEvent, gate_event_adapter

PHASE_ORDER = {"start": 0, "update": 1, "end": 2}


@dataclass(frozen=True)
class IngestOutcome:
    """What one batch did: new events per kind and skipped duplicates."""

    accepted: int
    duplicates: int
    by_kind: dict[str, int] = field(default_factory=dict)


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming the first bad field and why, e.g. ``confidence: Input should be ... 1``."""
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def validate_batch(items: Sequence[Any], key: ApiKey) -> list[CrossingEvent | FlagEvent]:
    """Parse every item with ``gate_event_adapter`` and check it is in the key's scope.

    Raises ``InvalidEvent`` (index, event id, why) for the first bad event and
    ``OutOfScope`` for the first event of another gate or camera.
    """
    events: list[CrossingEvent | FlagEvent] = []
    for index, item in enumerate(items):
        raw_id = item.get("event_id") if isinstance(item, dict) else None
        raw_id = raw_id if isinstance(raw_id, str) else None
        if not isinstance(item, dict):
            raise InvalidEvent(index, None, f"event must be a JSON object, got {type(item).__name__}")
        try:
            event = gate_event_adapter.validate_python(item)
        except ValidationError as exc:
            raise InvalidEvent(index, raw_id, describe_validation_error(exc)) from None
        if not key_allows(key, event.gate, event.camera):
            raise OutOfScope(
                f"event {index} ({event.event_id}) is for gate {event.gate!r} camera {event.camera!r}, "
                f"outside this API key's scope (gate {key.gate!r} camera {key.camera!r})"
            )
        events.append(event)
    return events


def _event_row(event: CrossingEvent | FlagEvent, now: Any) -> dict[str, Any]:
    is_flag = isinstance(event, FlagEvent)
    return {
        "event_id": str(event.event_id), "kind": event.kind, "gate": event.gate, "camera": event.camera,
        "frame_time": event.frame_time, "received_at": now,
        "flag_id": str(event.flag_id) if is_flag else None, "phase": event.phase if is_flag else None,
        "payload": event.model_dump(mode="json"),
    }


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _crossing_row(event: CrossingEvent) -> dict[str, Any]:
    plate = event.plate
    frame_time = _utc(event.frame_time)
    text = normalise(plate.text) if plate else None
    return {
        "event_id": str(event.event_id), "gate": event.gate, "camera": event.camera, "lane": event.lane,
        "direction": event.direction, "vehicle_class": event.vehicle_class, "frame_time": frame_time,
        "hour": int(frame_time.timestamp() // 3600), "track_id": event.track_id,
        "confidence": event.confidence, "plate": text or None, "plate_key": plate_key(text) if text else None,
        "plate_raw": plate.text_raw if plate else None, "plate_confidence": plate.confidence if plate else None,
        "plate_country": plate.country if plate else None,
    }


def fold_flag(flag: Flag | None, event: FlagEvent) -> Flag:
    """Apply one flag event to its row (new row for the first event seen of that flag).

    ``started_at`` keeps the earliest start; later events update plate, duration and
    phase; ``end`` sets ``ended_at`` and the final duration. Review status is untouched.
    """
    plate = normalise(event.plate.text) if event.plate else None
    frame_time, started_at = _utc(event.frame_time), _utc(event.started_at)
    if flag is None:
        flag = Flag(
            flag_id=str(event.flag_id), flag_kind=event.flag_kind, gate=event.gate, camera=event.camera,
            started_at=started_at, last_event_at=frame_time, phase=event.phase,
            duration_s=event.duration_s, events_count=0, details={}, status="open",
        )
    flag.events_count = (flag.events_count or 0) + 1
    flag.started_at = min(flag.started_at, started_at)
    newest = frame_time >= flag.last_event_at
    if newest or flag.events_count == 1:
        flag.last_event_at = frame_time
        for name in ("lane", "zone", "track_id", "vehicle_class"):
            value = getattr(event, name)
            if value is not None:
                setattr(flag, name, value)
        if plate:
            flag.plate, flag.plate_key = plate, plate_key(plate)
        if event.details:
            flag.details = {**(flag.details or {}), **event.details}
    if flag.phase != "end" and (newest or event.phase == "end"):
        flag.phase = event.phase
    if event.phase == "end":
        flag.ended_at = frame_time
        flag.duration_s = event.duration_s
    elif flag.phase != "end":
        flag.duration_s = max(flag.duration_s or 0.0, event.duration_s)
    return flag


def _store(session: Session, events: Sequence[CrossingEvent | FlagEvent]) -> IngestOutcome:
    unique: dict[str, CrossingEvent | FlagEvent] = {}
    for event in events:
        unique.setdefault(str(event.event_id), event)
    existing: set[str] = set()
    ids = list(unique)
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        existing.update(session.scalars(select(Event.event_id).where(Event.event_id.in_(chunk))))
    new = [event for event_id, event in unique.items() if event_id not in existing]
    now = utcnow()
    by_kind: dict[str, int] = {}
    if new:
        session.execute(insert(Event), [_event_row(event, now) for event in new])
        crossings = [_crossing_row(e) for e in new if isinstance(e, CrossingEvent)]
        if crossings:
            session.execute(insert(Crossing), crossings)
        flag_events = sorted((e for e in new if isinstance(e, FlagEvent)),
                             key=lambda e: (_utc(e.frame_time), PHASE_ORDER[e.phase]))
        if flag_events:
            flag_ids = sorted({str(e.flag_id) for e in flag_events})
            flags = {f.flag_id: f for f in session.scalars(select(Flag).where(Flag.flag_id.in_(flag_ids)))}
            for event in flag_events:
                flag = fold_flag(flags.get(str(event.flag_id)), event)
                if flag.flag_id not in flags:
                    session.add(flag)
                    flags[flag.flag_id] = flag
        for event in new:
            by_kind[event.kind] = by_kind.get(event.kind, 0) + 1
    session.commit()
    return IngestOutcome(accepted=len(new), duplicates=len(events) - len(new), by_kind=by_kind)


def store_batch(session: Session, events: Sequence[CrossingEvent | FlagEvent]) -> IngestOutcome:
    """Store new events in one transaction; duplicates (same ``event_id``) are counted and skipped.

    A concurrent batch carrying the same events can win the race; the batch is then retried
    once, when those events are seen as duplicates.
    """
    try:
        return _store(session, events)
    except IntegrityError:
        session.rollback()
        return _store(session, events)
