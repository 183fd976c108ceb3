"""Batch ingest: validate every event with the contract's models (the edge's own), then store all or nothing.

Events are stored in their wire form: the edge-local file paths an older edge may still send
(``crop_path``, ``snapshot_path``, ``plate.crop_path``) are accepted, ignored and never stored.
Plates are stored as the contract's key (``plate_key``), the one the edge matches its hold list on.
Crossings go to ``crossings``; flag start / update / end events fold into one ``flags`` row per
``flag_id`` (only from that flag's gate, camera and kind). Every event is also kept in ``events``
under its ``event_id``, which makes a repeated event a no-op; the same id with other content is a
conflict.

Example::

    events = validate_batch(body["events"], key)           # raises InvalidEvent / OutOfScope
    result = store_batch(session, events)                  # IngestOutcome(accepted=.., duplicates=..)
                                                           # or raises EventConflict
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from gatewatch.api.auth import key_allows
from gatewatch.api.exceptions import EventConflict, InvalidEvent, OutOfScope
from gatewatch.api.models import ApiKey, Crossing, Flag, utcnow
from gatewatch.api.models import Event as EventRow
from gatewatch.contract import (
    CrossingEvent,
    Event,
    FlagEvent,
    event_adapter,
    plate_key,
    strip_edge_local,
    wire_dict,
)

PHASE_ORDER = {"start": 0, "update": 1, "end": 2}
STORE_ATTEMPTS = 4
CONFLICT_MESSAGE = "conflict: nothing of the batch was stored"

log = logging.getLogger(__name__)


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


def validate_batch(items: Sequence[Any], key: ApiKey) -> list[Event]:
    """Parse every item with the contract's ``event_adapter`` and check it is in the key's scope.

    Raises ``InvalidEvent`` (index, event id, why) for the first bad event and
    ``OutOfScope`` for the first event of another gate or camera.
    """
    events: list[Event] = []
    for index, item in enumerate(items):
        raw_id = item.get("event_id") if isinstance(item, dict) else None
        raw_id = raw_id if isinstance(raw_id, str) else None
        if not isinstance(item, dict):
            raise InvalidEvent(index, None, f"event must be a JSON object, got {type(item).__name__}")
        try:
            event = event_adapter.validate_python(item)
        except ValidationError as exc:
            raise InvalidEvent(index, raw_id, describe_validation_error(exc)) from None
        if not key_allows(key, event.gate, event.camera):
            raise OutOfScope(
                f"event {index} ({event.event_id}) is for gate {event.gate!r} camera {event.camera!r}, "
                f"outside this API key's scope (gate {key.gate!r} camera {key.camera!r})"
            )
        events.append(event)
    return events


def _event_row(event: Event, now: Any) -> dict[str, Any]:
    flag_id, phase = (str(event.flag_id), event.phase) if isinstance(event, FlagEvent) else (None, None)
    return {
        "event_id": str(event.event_id), "kind": event.kind, "gate": event.gate, "camera": event.camera,
        "frame_time": event.frame_time, "received_at": now, "flag_id": flag_id, "phase": phase,
        "payload": wire_dict(event),  # no edge-local paths
    }


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _crossing_row(event: CrossingEvent) -> dict[str, Any]:
    plate = event.plate
    frame_time = _utc(event.frame_time)
    text = plate_key(plate.text) if plate else None
    return {
        "event_id": str(event.event_id), "gate": event.gate, "camera": event.camera, "lane": event.lane,
        "direction": event.direction, "vehicle_class": event.vehicle_class, "frame_time": frame_time,
        "hour": int(frame_time.timestamp() // 3600), "track_id": event.track_id,
        "confidence": event.confidence, "plate": text or None,
        "plate_raw": plate.text_raw if plate else None, "plate_confidence": plate.confidence if plate else None,
        "plate_country": plate.country if plate else None,
    }


def fold_flag(flag: Flag | None, event: FlagEvent) -> Flag:
    """Apply one flag event to its row (new row for the first event seen of that flag).

    ``started_at`` keeps the earliest start; later events update plate, duration and
    phase; ``end`` sets ``ended_at`` and the final duration. Review status is untouched.
    """
    plate = plate_key(event.plate.text) if event.plate else None
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
            flag.plate = plate
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


def _begin_write(session: Session) -> None:
    """Take the write lock up front on SQLite (``BEGIN IMMEDIATE``): concurrent batches fold one after another."""
    connection = session.connection()
    driver: Any = connection.connection.driver_connection
    if connection.dialect.name == "sqlite" and not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _canonical(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored payload in the wire form the contract dumps today (falls back to the payload as stored).

    The wire form has no edge-local paths (rows stored before 0004 had them; they mean nothing here and
    differ between runs), so a replayed file written to another crops folder is the same crossing, not
    a conflict.
    """
    try:
        return wire_dict(event_adapter.validate_python(payload))
    except ValidationError:
        return strip_edge_local(payload)


def _differences(stored: dict[str, Any], sent: dict[str, Any]) -> str:
    """``field: stored -> sent`` for every top-level field that differs (for the server log only)."""
    names = sorted(set(stored) | set(sent))
    return "; ".join(f"{n}: {stored.get(n)!r:.200} -> {sent.get(n)!r:.200}" for n in names if stored.get(n) != sent.get(n))


def _conflict(index: int, event: Event, why: str, stored: dict[str, Any],
              sent: dict[str, Any]) -> EventConflict:
    log.warning("ingest conflict, batch refused: event %s (index %d, gate %r camera %r) %s; differences: %s",
                event.event_id, index, event.gate, event.camera, why, _differences(stored, sent))
    return EventConflict(index, str(event.event_id), CONFLICT_MESSAGE)


def _store(session: Session, events: Sequence[Event]) -> IngestOutcome:
    _begin_write(session)
    flag_ids = sorted({str(e.flag_id) for e in events if isinstance(e, FlagEvent)})
    flags: dict[str, Flag] = {}
    for start in range(0, len(flag_ids), 900):  # locked (PostgreSQL) in one order, so batches cannot deadlock
        chunk = flag_ids[start:start + 900]
        flags.update((f.flag_id, f) for f in session.scalars(
            select(Flag).where(Flag.flag_id.in_(chunk)).order_by(Flag.flag_id)
            .with_for_update().execution_options(populate_existing=True)))
    unique: dict[str, tuple[int, Event, dict[str, Any]]] = {}
    for index, event in enumerate(events):
        dumped = wire_dict(event)
        first = unique.setdefault(str(event.event_id), (index, event, dumped))
        if first[2] != dumped:
            raise _conflict(index, event, "repeated in the batch with other content", first[2], dumped)
    existing: set[str] = set()
    ids = list(unique)
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for event_id, payload in session.execute(
                select(EventRow.event_id, EventRow.payload).where(EventRow.event_id.in_(chunk))):
            index, event, dumped = unique[event_id]
            stored = _canonical(payload)
            if stored != dumped:
                raise _conflict(index, event, "already stored with other content", stored, dumped)
            existing.add(event_id)
    new = [(index, event) for event_id, (index, event, _) in unique.items() if event_id not in existing]
    now = utcnow()
    by_kind: dict[str, int] = {}
    if new:
        session.execute(insert(EventRow), [_event_row(event, now) for _, event in new])
        crossings = [_crossing_row(e) for _, e in new if isinstance(e, CrossingEvent)]
        if crossings:
            session.execute(insert(Crossing), crossings)
        flag_events = sorted(((i, e) for i, e in new if isinstance(e, FlagEvent)),
                             key=lambda ie: (_utc(ie[1].frame_time), PHASE_ORDER[ie[1].phase]))
        for index, event in flag_events:
            flag = flags.get(str(event.flag_id))
            if flag is not None and (flag.gate, flag.camera, flag.flag_kind) != (
                    event.gate, event.camera, event.flag_kind):
                raise _conflict(index, event, f"folds into flag {event.flag_id} of another gate, camera or kind",
                                {"gate": flag.gate, "camera": flag.camera, "flag_kind": flag.flag_kind},
                                {"gate": event.gate, "camera": event.camera, "flag_kind": event.flag_kind})
            flag = fold_flag(flag, event)
            if flag.flag_id not in flags:
                session.add(flag)
                flags[flag.flag_id] = flag
        for _, event in new:
            by_kind[event.kind] = by_kind.get(event.kind, 0) + 1
    session.commit()
    return IngestOutcome(accepted=len(new), duplicates=len(events) - len(new), by_kind=by_kind)


def _retryable(exc: DBAPIError) -> bool:
    """A lost race: unique violation (same event or new flag stored meanwhile), deadlock, serialisation failure."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def store_batch(session: Session, events: Sequence[Event]) -> IngestOutcome:
    """Store new events in one transaction; duplicates (same ``event_id``, same content) are counted and skipped.

    Flag rows are folded under a lock (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE``
    on SQLite), so parallel batches of one flag all count. A batch that lost a race (a concurrent
    batch stored the same event or made the same new flag first) is retried, up to
    ``STORE_ATTEMPTS`` times. Raises ``EventConflict`` (nothing stored) for an ``event_id`` already
    stored with other content or a ``flag_id`` of another gate, camera or kind.
    """
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            return _store(session, events)
        except DBAPIError as exc:
            session.rollback()
            if attempt == STORE_ATTEMPTS or not _retryable(exc):
                raise
        except EventConflict:
            session.rollback()
            raise
    raise AssertionError("unreachable")
