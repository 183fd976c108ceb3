"""Exports of a gate's record for a chosen range: crossings, counts and reviewed flags as CSV, JSON or NDJSON.

Rows come from the database in batches (``stream_results`` + ``yield_per``: a server-side cursor on
PostgreSQL) and leave as one chunk per batch, so a month of crossings never sits in memory. Times are
written in the gate's time zone (``GATEWATCH_TIMEZONE``) with their offset, and every row names the
zone. CSV cells of text that starts like a spreadsheet formula get a leading ``'``.

Example::

    rows = crossing_rows(session, CrossingFilter(gate="huu-nghi"), since, until, tz)
    body = encode(rows, CROSSING_COLUMNS, "csv")      # iterator of bytes chunks
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import Header, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gatewatch.api.exceptions import BadQuery
from gatewatch.api.models import Crossing, Flag
from gatewatch.api.queries import CrossingFilter, as_utc, bucket_label
from gatewatch.api.schemas import RequiredTime

ExportFormat = Literal["csv", "json", "ndjson"]
MAX_EXPORT_DAYS = 92
BATCH_ROWS = 1000
MEDIA_TYPES: dict[str, str] = {"csv": "text/csv; charset=utf-8", "json": "application/json",
                               "ndjson": "application/x-ndjson"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
REVIEWED = ("confirmed", "dismissed")

CROSSING_COLUMNS = ("event_id", "gate", "camera", "lane", "direction", "vehicle_class", "time", "timezone",
                    "track_id", "confidence", "plate", "plate_raw", "plate_confidence", "plate_country")
COUNT_COLUMNS = ("start", "end", "label", "timezone", "bucket", "count")
FLAG_COLUMNS = ("flag_id", "flag_kind", "gate", "camera", "lane", "zone", "vehicle_class", "plate", "started_at",
                "ended_at", "duration_s", "events_count", "status", "reviewed_at", "reviewed_by", "review_note",
                "timezone")

Row = dict[str, Any]

# The export routes' shared parameters (every route: a required, bounded range and a format).
ExportSince = Annotated[RequiredTime, Query(description="Start (ISO 8601; naive = local time zone), required.")]
ExportUntil = Annotated[RequiredTime, Query(description="End, exclusive, required; at most 92 days after 'since'.")]
FormatQ = Annotated[ExportFormat | None, Query(
    alias="format", description="csv, json (one array) or ndjson; default: from the Accept header, else csv.")]
AcceptH = Annotated[str | None, Header(include_in_schema=False)]

EXPORT_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/csv": {}, "application/json": {}, "application/x-ndjson": {}},
          "description": "A streamed download (Content-Disposition: attachment)."},
    422: {"description": "Missing or bad parameter; range not forward or over 92 days."},
}


def check_range(since: datetime, until: datetime, max_days: int = MAX_EXPORT_DAYS) -> None:
    """An export's range must be forward and at most ``max_days`` long (``BadQuery`` otherwise)."""
    if until <= since:
        raise BadQuery("'until' must be after 'since'")
    if until - since > timedelta(days=max_days):
        raise BadQuery(f"an export covers at most {max_days} days; split the range")


def export_range(since: datetime, until: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """An export's ``since``/``until`` (naive: in the gate's zone) in UTC, checked; 422 naming the problem."""
    start, end = as_utc(since, tz), as_utc(until, tz)
    try:
        check_range(start, end)
    except BadQuery as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return start, end


def pick_format(requested: ExportFormat | None, accept: str | None) -> ExportFormat:
    """The ``format`` parameter, else the ``Accept`` header (JSON or NDJSON when asked for), else CSV."""
    if requested is not None:
        return requested
    accept = (accept or "").lower()
    if "application/x-ndjson" in accept:
        return "ndjson"
    if "application/json" in accept and "text/csv" not in accept:
        return "json"
    return "csv"


def filename(resource: str, gate: str | None, since: datetime, until: datetime, tz: ZoneInfo, fmt: str) -> str:
    """``crossings_<gate>_<from>_<to>.csv``: local times, only letters, digits, ``.``, ``_`` and ``-``."""
    safe_gate = re.sub(r"[^A-Za-z0-9._-]+", "-", gate or "all-gates").strip("-.") or "gate"
    stamp = "%Y%m%dT%H%M"
    return (f"{resource}_{safe_gate}_{since.astimezone(tz).strftime(stamp)}_"
            f"{until.astimezone(tz).strftime(stamp)}.{'json' if fmt == 'json' else fmt}")


def local_iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """A stored UTC time in the gate's zone, ISO 8601 with its offset."""
    return value.astimezone(tz).isoformat() if value is not None else None


def crossing_rows(session: Session, flt: CrossingFilter, since: datetime, until: datetime,
                  tz: ZoneInfo) -> Iterator[list[Row]]:
    """Crossings in ``[since, until)``, oldest first, in batches of ``BATCH_ROWS``."""
    query = flt.apply(select(
        Crossing.event_id, Crossing.gate, Crossing.camera, Crossing.lane, Crossing.direction,
        Crossing.vehicle_class, Crossing.frame_time, Crossing.track_id, Crossing.confidence, Crossing.plate,
        Crossing.plate_raw, Crossing.plate_confidence, Crossing.plate_country,
    )).where(Crossing.frame_time >= since, Crossing.frame_time < until)
    query = query.order_by(Crossing.frame_time, Crossing.event_id)
    result = session.execute(query.execution_options(stream_results=True, yield_per=BATCH_ROWS))
    for batch in result.partitions():
        yield [{
            "event_id": r.event_id, "gate": r.gate, "camera": r.camera, "lane": r.lane, "direction": r.direction,
            "vehicle_class": r.vehicle_class, "time": local_iso(r.frame_time, tz), "timezone": tz.key,
            "track_id": r.track_id, "confidence": r.confidence, "plate": r.plate, "plate_raw": r.plate_raw,
            "plate_confidence": r.plate_confidence, "plate_country": r.plate_country,
        } for r in batch]


def flag_rows(session: Session, status: str, flag_kind: str | None, gate: str | None, camera: str | None,
              since: datetime, until: datetime, tz: ZoneInfo) -> Iterator[list[Row]]:
    """Flags started in ``[since, until)`` with this status (``reviewed``: confirmed or dismissed), oldest first."""
    query = select(
        Flag.flag_id, Flag.flag_kind, Flag.gate, Flag.camera, Flag.lane, Flag.zone, Flag.vehicle_class,
        Flag.plate, Flag.started_at, Flag.ended_at, Flag.duration_s, Flag.events_count, Flag.status,
        Flag.reviewed_at, Flag.reviewed_by, Flag.review_note,
    ).where(Flag.started_at >= since, Flag.started_at < until)
    if status == "reviewed":
        query = query.where(Flag.status.in_(REVIEWED))
    elif status != "all":
        query = query.where(Flag.status == status)
    for column, value in ((Flag.flag_kind, flag_kind), (Flag.gate, gate), (Flag.camera, camera)):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(Flag.started_at, Flag.flag_id)
    result = session.execute(query.execution_options(stream_results=True, yield_per=BATCH_ROWS))
    for batch in result.partitions():
        yield [{
            "flag_id": r.flag_id, "flag_kind": r.flag_kind, "gate": r.gate, "camera": r.camera, "lane": r.lane,
            "zone": r.zone, "vehicle_class": r.vehicle_class, "plate": r.plate,
            "started_at": local_iso(r.started_at, tz), "ended_at": local_iso(r.ended_at, tz),
            "duration_s": r.duration_s, "events_count": r.events_count, "status": r.status,
            "reviewed_at": local_iso(r.reviewed_at, tz), "reviewed_by": r.reviewed_by,
            "review_note": r.review_note, "timezone": tz.key,
        } for r in batch]


def count_rows(buckets: Sequence[tuple[datetime, int]], bucket: str, until: datetime,
               tz: ZoneInfo) -> Iterator[list[Row]]:
    """Count buckets as rows with their local start, end and label (one batch: a range has few buckets)."""
    rows: list[Row] = []
    for i, (start, n) in enumerate(buckets):
        end = buckets[i + 1][0] if i + 1 < len(buckets) else min(until, _next_start(start, bucket, tz))
        rows.append({"start": local_iso(start, tz), "end": local_iso(end, tz), "label": bucket_label(start, bucket, tz),
                     "timezone": tz.key, "bucket": bucket, "count": n})
    yield rows


def _next_start(start: datetime, bucket: str, tz: ZoneInfo) -> datetime:
    if bucket == "hour":
        return start + timedelta(hours=1)
    return (start.astimezone(tz) + timedelta(days=1)).replace(hour=0).astimezone(start.tzinfo)


def guard_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run: text starting like a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def encode(batches: Iterable[list[Row]], columns: Sequence[str], fmt: ExportFormat) -> Iterator[bytes]:
    """Batches of rows as one bytes chunk each: CSV (header first, RFC 4180), a JSON array, or NDJSON."""
    if fmt == "csv":
        yield _csv_chunk([list(columns)])
        for batch in batches:
            if batch:
                yield _csv_chunk([[guard_cell(row[c]) for c in columns] for row in batch])
        return
    if fmt == "ndjson":
        for batch in batches:
            if batch:
                yield "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in batch).encode()
        return
    yield b"["
    first = True
    for batch in batches:
        if batch:
            text = ",\n".join(json.dumps(row, ensure_ascii=False) for row in batch)
            yield (("" if first else ",\n") + text).encode()
            first = False
    yield b"]\n"


def _csv_chunk(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


def export_response(body: Iterator[bytes], fmt: ExportFormat, name: str) -> StreamingResponse:
    """A streamed download named ``name`` (``Content-Disposition: attachment``)."""
    return StreamingResponse(body, media_type=MEDIA_TYPES[fmt],
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


def stream_from_db(sessions: sessionmaker[Session], batches: Callable[[Session], Iterable[list[Row]]],
                   columns: Sequence[str], fmt: ExportFormat) -> Iterator[bytes]:
    """Encode ``batches(session)`` on a session of its own, open while the response streams."""
    with sessions() as session:
        yield from encode(batches(session), columns, fmt)
