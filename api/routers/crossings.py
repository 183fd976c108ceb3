"""Counts, crossing search and vehicle history (operators)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from gatewatch.api.board import crossings_seen, evidence_ref
from gatewatch.api.deps import OperatorDep, SessionDep, SettingsDep
from gatewatch.api.exceptions import BadQuery
from gatewatch.api.export import (
    COUNT_COLUMNS,
    CROSSING_COLUMNS,
    EXPORT_RESPONSES,
    AcceptH,
    ExportSince,
    ExportUntil,
    FormatQ,
    count_rows,
    crossing_rows,
    encode,
    export_range,
    export_response,
    filename,
    pick_format,
    stream_from_db,
)
from gatewatch.api.models import Flag
from gatewatch.api.queries import (
    CrossingFilter,
    as_utc,
    bucket_label,
    counts,
    default_range,
    list_crossings,
    matching_plates,
    search_plates,
    utc_offset,
)
from gatewatch.api.queries import vehicle_history as history
from gatewatch.api.review import active_holds, evidence_for
from gatewatch.api.schemas import (
    Bucket,
    Counts,
    CrossingOut,
    CrossingPage,
    FlagOut,
    Offset,
    PlateFound,
    PlateSearch,
    QueryName,
    QueryTime,
    VehicleHistory,
    Visit,
)
from gatewatch.contract import PLATE_MAX, plate_key

router = APIRouter(prefix="/api/v1", tags=["crossings"])

Name = QueryName
DirectionQ = Annotated[Literal["entry", "exit"] | None, Query()]
Since = Annotated[QueryTime, Query(description="Start (ISO 8601; naive = local time zone), 1970..2100.")]
Until = Annotated[QueryTime, Query(description="End, exclusive (ISO 8601; naive = local time zone), 1970..2100.")]
BucketQ = Annotated[Literal["hour", "day"], Query()]
VEHICLE_FLAGS_MAX = 200


@router.get("/counts", response_model=Counts)
def get_counts(
    session: SessionDep, settings: SettingsDep, _user: OperatorDep,
    gate: Name = None, camera: Name = None, lane: Name = None, direction: DirectionQ = None,
    vehicle_class: Name = None, since: Since = None, until: Until = None,
    bucket: BucketQ = "hour",
) -> Counts:
    """Crossings per hour or per local day (zeros included); the default range is today, local time.

    Every bucket carries its start in the gate's time zone and its label there (the hour or the day),
    so a page labels bars in the gate's zone whatever the browser's zone is.
    """
    tz = settings.tz
    start, end = default_range(tz, since, until)
    flt = CrossingFilter(gate, camera, lane, direction, vehicle_class)
    try:
        rows = counts(session, flt, start, end, bucket, tz)
    except BadQuery as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return Counts(bucket=bucket, timezone=settings.timezone, utc_offset=utc_offset(start, tz), since=start,
                  until=end, total=sum(n for _, n in rows),
                  buckets=[Bucket(start=s, count=n, local=s.astimezone(tz), label=bucket_label(s, bucket, tz))
                           for s, n in rows])


@router.get("/counts/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
def export_counts(
    session: SessionDep, settings: SettingsDep, _user: OperatorDep, since: ExportSince, until: ExportUntil,
    gate: Name = None, camera: Name = None, lane: Name = None, direction: DirectionQ = None,
    vehicle_class: Name = None, bucket: BucketQ = "hour", format_: FormatQ = None, accept: AcceptH = None,
) -> StreamingResponse:
    """Counts per hour or local day as a download: start, end and label in the gate's time zone, the zone, count."""
    tz = settings.tz
    start, end = export_range(since, until, tz)
    fmt = pick_format(format_, accept)
    try:
        rows = counts(session, CrossingFilter(gate, camera, lane, direction, vehicle_class), start, end, bucket, tz)
    except BadQuery as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    body = encode(count_rows(rows, bucket, end, tz), COUNT_COLUMNS, fmt)
    return export_response(body, fmt, filename(f"counts-{bucket}", gate, start, end, tz, fmt))


@router.get("/crossings/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
def export_crossings(
    request: Request, settings: SettingsDep, _user: OperatorDep, since: ExportSince, until: ExportUntil,
    gate: Name = None, camera: Name = None, lane: Name = None, direction: DirectionQ = None,
    vehicle_class: Name = None, format_: FormatQ = None, accept: AcceptH = None,
) -> StreamingResponse:
    """Crossings in a range, oldest first, streamed from the database in batches (a month never sits in memory).

    Times are in the gate's time zone with their offset (``time``) and each row names the zone (``timezone``).
    """
    tz = settings.tz
    start, end = export_range(since, until, tz)
    fmt = pick_format(format_, accept)
    flt = CrossingFilter(gate, camera, lane, direction, vehicle_class)
    body = stream_from_db(request.app.state.sessionmaker,
                          lambda session: crossing_rows(session, flt, start, end, tz), CROSSING_COLUMNS, fmt)
    return export_response(body, fmt, filename("crossings", gate, start, end, tz, fmt))


@router.get("/crossings", response_model=CrossingPage)
def get_crossings(
    session: SessionDep, settings: SettingsDep, _user: OperatorDep,
    gate: Name = None, camera: Name = None, lane: Name = None, direction: DirectionQ = None,
    vehicle_class: Name = None, since: Since = None, until: Until = None,
    plate: Annotated[str | None, Query(min_length=1, max_length=32, description="Plate, any separators.")] = None,
    fuzzy: Annotated[bool, Query(description="Tolerate look-alikes and one wrong or missing character.")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Offset = 0,
) -> CrossingPage:
    """Crossings, newest first, filtered and paginated; ``plate`` searches exactly or fuzzily."""
    tz = settings.tz
    try:
        plates = matching_plates(session, plate, fuzzy) if plate is not None else None
    except BadQuery as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    total, rows = list_crossings(
        session, CrossingFilter(gate, camera, lane, direction, vehicle_class),
        as_utc(since, tz) if since else None, as_utc(until, tz) if until else None, plates, limit, offset,
    )
    return CrossingPage(total=total, limit=limit, offset=offset,
                        items=[CrossingOut.model_validate(r) for r in rows])


@router.get("/vehicles", response_model=PlateSearch)
def search_vehicles(
    session: SessionDep, _user: OperatorDep,
    q: Annotated[str, Query(min_length=2, max_length=PLATE_MAX, description="Plate, any separators.")],
    fuzzy: Annotated[bool, Query(description="Also look-alikes (O/0, I/1, B/8 ...) and one wrong or missing "
                                             "character.")] = True,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> PlateSearch:
    """Plates seen at the gates that match ``q``: exact first, then look-alikes, then one edit away, each with its
    crossings count, first and last sighting and whether it is on the hold list now."""
    key = plate_key(q)
    if len(key) < 2:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "q must contain at least 2 letters or digits")
    try:
        total, found = search_plates(session, q, fuzzy, limit)
    except BadQuery as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    held = {h.plate for h in active_holds(session, None)}
    return PlateSearch(query=key, fuzzy=fuzzy, total=total, items=[
        PlateFound.model_validate({**asdict(f), "on_hold_list": f.plate in held}) for f in found])


@router.get("/vehicles/{plate}", response_model=VehicleHistory)
def vehicle_history(
    plate: Annotated[str, Path(min_length=1, max_length=64)], session: SessionDep, _user: OperatorDep,
    fuzzy: Annotated[bool, Query(description="Include plates within one edit / look-alikes.")] = False,
) -> VehicleHistory:
    """A plate's crossings and visits: arrival (entry), departure (exit) and the clearance time between."""
    try:
        plates = matching_plates(session, plate, fuzzy)
    except BadQuery as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    rows, visits = history(session, plates)
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no crossings for plate {plate_key(plate)!r}")
    matched = sorted({r.plate for r in rows if r.plate})
    flags = list(session.scalars(select(Flag).where(Flag.plate.in_(matched))
                                 .order_by(Flag.started_at.desc(), Flag.flag_id).limit(VEHICLE_FLAGS_MAX)))
    flag_evidence = evidence_for(session, [f.flag_id for f in flags])
    return VehicleHistory(
        plate=plate_key(plate), plates_matched=matched,
        crossings=crossings_seen(session, rows),
        flags=[FlagOut.model_validate(f).model_copy(
            update={"evidence": [evidence_ref(e) for e in flag_evidence.get(f.flag_id, [])]}) for f in flags],
        visits=[Visit(gate=v.gate, arrived_at=v.entry.frame_time if v.entry else None,
                      departed_at=v.exit.frame_time if v.exit else None, clearance_s=v.clearance_s,
                      entry_event_id=v.entry.event_id if v.entry else None,
                      exit_event_id=v.exit.event_id if v.exit else None) for v in visits],
    )
