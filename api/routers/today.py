"""The Today board: a gate's local day at a glance (operators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gatewatch.api.board import (
    TRUCK,
    crossings_seen,
    lane_counts,
    local_day,
    open_flags_by_kind,
    recent_crossings,
    today,
)
from gatewatch.api.deps import OperatorDep, SessionDep, SettingsDep
from gatewatch.api.models import utcnow
from gatewatch.api.queries import utc_offset
from gatewatch.api.schemas import LaneDay, QueryDay, QueryName, TodayBoard, TruckGauge

router = APIRouter(prefix="/api/v1", tags=["today"])
MAX_RECENT = 50


@router.get("/today", response_model=TodayBoard)
def get_today(
    session: SessionDep, settings: SettingsDep, _user: OperatorDep,
    gate: QueryName = None,
    day: Annotated[QueryDay, Query(description="A local day (YYYY-MM-DD) in the gate's zone; default today.")] = None,
    last: Annotated[int, Query(ge=1, le=MAX_RECENT, description="How many of the last crossings.")] = 12,
) -> TodayBoard:
    """Today (or ``day``) in the gate's zone: per gate and lane entries and exits by class, truck crossings per gate
    against ``GATEWATCH_DAILY_TRUCK_CAPACITY``, open flags by kind (now), and the last crossings with their crop."""
    tz = settings.tz
    the_day = day or today(tz)
    since, until = local_day(the_day, tz)
    lanes: dict[tuple[str, str], LaneDay] = {}
    trucks: dict[str, int] = {gate: 0} if gate is not None else {}
    for lane_gate, lane, direction, vehicle_class, n in lane_counts(session, gate, since, until):
        row = lanes.setdefault((lane_gate, lane), LaneDay(gate=lane_gate, lane=lane, entries={}, exits={}, total=0))
        side = row.entries if direction == "entry" else row.exits
        side[vehicle_class] = side.get(vehicle_class, 0) + n
        row.total += n
        trucks[lane_gate] = trucks.get(lane_gate, 0) + (n if vehicle_class == TRUCK else 0)
    capacity = settings.daily_truck_capacity
    return TodayBoard(
        day=the_day, timezone=settings.timezone, utc_offset=utc_offset(since, tz), since=since, until=until,
        as_of=utcnow(), gate=gate, lanes=list(lanes.values()),
        trucks=[TruckGauge(gate=g, trucks=n, capacity=capacity, share=n / capacity) for g, n in sorted(trucks.items())],
        open_flags=open_flags_by_kind(session, gate),
        recent=crossings_seen(session, recent_crossings(session, gate, since, until, last)),
    )
