"""Trends: crossings per day or week, clearance times and vehicles held now (operators)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from gatewatch.api.board import (
    MAX_TREND_DAYS,
    SLOWEST,
    clearance_histogram,
    clearances,
    held_now,
    local_day,
    percentile,
    today,
    trend_counts,
    trend_days,
)
from gatewatch.api.deps import OperatorDep, SessionDep, SettingsDep
from gatewatch.api.models import utcnow
from gatewatch.api.schemas import (
    ClearanceBin,
    ClearanceStats,
    HeldVehicle,
    QueryDay,
    QueryName,
    SlowVehicle,
    TrendRow,
    Trends,
)

router = APIRouter(prefix="/api/v1", tags=["trends"])
DEFAULT_DAYS = {"day": 7, "week": 56}


@router.get("/trends", response_model=Trends)
def get_trends(
    session: SessionDep, settings: SettingsDep, _user: OperatorDep,
    from_: Annotated[QueryDay, Query(alias="from", description="First local day (YYYY-MM-DD), inclusive.")] = None,
    to: Annotated[QueryDay, Query(description="Last local day, inclusive; default today (gate's zone).")] = None,
    by: Annotated[Literal["day", "week"], Query(description="Buckets: local days, or weeks from Monday.")] = "day",
    gate: QueryName = None,
) -> Trends:
    """Crossings per local day or week by lane, direction and class; clearance times of the visits that departed in
    the range (histogram, median, 90th percentile, the slowest of the last day); held vehicles now.

    The range is whole local days, ``from`` .. ``to`` inclusive, at most 92 days; by default the last 7 days
    (``by=day``) or 56 days (``by=week``) up to today. A week bucket counts only its days inside the range.
    """
    tz = settings.tz
    to_day = to or today(tz)
    from_day = from_ or to_day - timedelta(days=DEFAULT_DAYS[by] - 1)
    if to_day < from_day:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "'to' must not be before 'from'")
    if (to_day - from_day).days + 1 > MAX_TREND_DAYS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"trends cover at most {MAX_TREND_DAYS} days; narrow 'from'..'to'")
    since, until = local_day(from_day, tz)[0], local_day(to_day, tz)[1]
    rows = [TrendRow(start=s, lane=ln, direction=d, vehicle_class=c, count=n)
            for s, ln, d, c, n in trend_counts(session, gate, since, until, by, tz)]
    visits = clearances(session, gate, since, until)
    seconds = sorted(v.clearance_s for v in visits)
    last_since, last_until = local_day(to_day, tz)
    slowest = sorted((v for v in visits if last_since <= v.departed_at < last_until),
                     key=lambda v: (-v.clearance_s, v.plate))[:SLOWEST]
    now = utcnow()
    return Trends(
        timezone=settings.timezone, by=by, from_day=from_day, to_day=to_day, since=since, until=until, gate=gate,
        buckets=trend_days(from_day, to_day, by), rows=rows,
        clearance=ClearanceStats(
            visits=len(seconds), median_s=percentile(seconds, 0.5), p90_s=percentile(seconds, 0.9),
            histogram=[ClearanceBin(lo_s=lo, hi_s=hi, count=n) for lo, hi, n in clearance_histogram(seconds)],
            slowest_day=to_day,
            slowest=[SlowVehicle(plate=v.plate, gate=v.gate, vehicle_class=v.vehicle_class, arrived_at=v.arrived_at,
                                 departed_at=v.departed_at, clearance_s=v.clearance_s,
                                 entry_event_id=v.entry_event_id, exit_event_id=v.exit_event_id) for v in slowest],
        ),
        held_now=[HeldVehicle(flag_id=f.flag_id, gate=f.gate, camera=f.camera, lane=f.lane, zone=f.zone, plate=f.plate,
                              vehicle_class=f.vehicle_class, started_at=f.started_at, last_event_at=f.last_event_at,
                              held_s=max(0.0, (now - f.started_at).total_seconds()), status=f.status)
                  for f in held_now(session, gate)],
    )
