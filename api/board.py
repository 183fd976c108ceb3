"""Read side of the console's Today board and Trends.

Today: per gate and lane, entries and exits by class in one local day; truck crossings per gate
against the daily capacity; open flags by kind; the last crossings with their evidence.
Trends: crossings per local day or week by lane, direction and class; clearance times (a plate's
arrival, its entry crossing, to its departure, the next exit crossing at the same gate) as a
histogram with the slowest vehicles of the range's last day; vehicles held now (held flags not ended).

Counts group on ``crossings.hour`` (whole UTC hours, indexed with the gate) like ``queries.counts``;
trends sum them per local day in the database when the zone's offset is fixed and whole hours, and clearance
visits are paired in the database (window functions), so only sums and visits reach Python.

Example::

    since, until = local_day(date(2026, 11, 24), tz)
    rows = lane_counts(session, "huu-nghi", since, until)   # [(gate, lane, direction, class, n), ...]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gatewatch.api.db import UTCDateTime
from gatewatch.api.models import Crossing, Evidence, Flag
from gatewatch.api.queries import AnySelect
from gatewatch.api.schemas import CrossingOut, CrossingSeen, EvidenceRef
from gatewatch.contract import FlagKind

TRUCK = "truck"
MAX_TREND_DAYS = 92
CLEARANCE_LOOKBACK = timedelta(days=7)
"""An exit is paired with an entry of the same plate at the same gate at most this long before it."""
CLEARANCE_BIN_EDGES_S = (0, 15 * 60, 30 * 60, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600)
"""Lower edges of the clearance histogram's bins (the last bin is open-ended)."""
SLOWEST = 10
HELD_NOW_MAX = 200
EVIDENCE_ORDER = {"crop": 0, "plate": 1, "snapshot": 2}
_IN_CHUNK = 500  # ids per IN (...) list


def local_day(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day ``day`` in ``tz`` as a UTC ``[start, end)``."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def today(tz: ZoneInfo) -> date:
    """Today's date in the gate's zone."""
    return datetime.now(tz).date()


def _in_range(query: AnySelect, gate: str | None, since: datetime, until: datetime) -> AnySelect:
    """Crossings of ``gate`` (None: every gate) in ``[since, until)``: an index range on (gate, hour) first."""
    h0 = int(since.timestamp() // 3600)
    h1 = -int(-until.timestamp() // 3600)
    query = query.where(Crossing.hour >= h0, Crossing.hour < h1,
                        Crossing.frame_time >= since, Crossing.frame_time < until)
    return query.where(Crossing.gate == gate) if gate is not None else query


def lane_counts(session: Session, gate: str | None, since: datetime,
                until: datetime) -> list[tuple[str, str, str, str, int]]:
    """Crossings in ``[since, until)`` per (gate, lane, direction, class), sorted."""
    query = _in_range(select(Crossing.gate, Crossing.lane, Crossing.direction, Crossing.vehicle_class,
                             func.count()), gate, since, until)
    query = query.group_by(Crossing.gate, Crossing.lane, Crossing.direction, Crossing.vehicle_class)
    return sorted((g, ln, d, c, int(n)) for g, ln, d, c, n in session.execute(query).all())


def open_flags_by_kind(session: Session, gate: str | None) -> dict[str, int]:
    """Open (unreviewed) flags per kind, every kind named (zero when none)."""
    query = select(Flag.flag_kind, func.count()).where(Flag.status == "open")
    if gate is not None:
        query = query.where(Flag.gate == gate)
    found = dict(session.execute(query.group_by(Flag.flag_kind)).all())
    return {kind.value: int(found.get(kind.value, 0)) for kind in FlagKind}


def recent_crossings(session: Session, gate: str | None, since: datetime, until: datetime,
                     limit: int) -> list[Crossing]:
    """The last ``limit`` crossings in ``[since, until)``, newest first."""
    query = _in_range(select(Crossing), gate, since, until)
    return list(session.scalars(query.order_by(Crossing.frame_time.desc(), Crossing.event_id).limit(limit)))


def crossing_evidence(session: Session, event_ids: Sequence[str]) -> dict[str, list[Evidence]]:
    """Evidence images of these events, crop first, then plate, then snapshot."""
    out: dict[str, list[Evidence]] = {}
    for i in range(0, len(event_ids), _IN_CHUNK):
        chunk = list(event_ids[i:i + _IN_CHUNK])
        for evidence in session.scalars(select(Evidence).where(Evidence.event_id.in_(chunk))):
            out.setdefault(evidence.event_id, []).append(evidence)
    for items in out.values():
        items.sort(key=lambda e: EVIDENCE_ORDER.get(e.role, 9))
    return out


def evidence_ref(evidence: Evidence) -> EvidenceRef:
    """An evidence image's reference, fetched at ``/api/v1/evidence/<sha256>`` with the bearer token."""
    return EvidenceRef(event_id=evidence.event_id, role=evidence.role, sha256=evidence.sha256,
                       content_type=evidence.content_type, bytes=evidence.bytes,
                       url=f"/api/v1/evidence/{evidence.sha256}")


def crossings_seen(session: Session, rows: Sequence[Crossing]) -> list[CrossingSeen]:
    """Crossings with their evidence references and crop URL."""
    evidence = crossing_evidence(session, [r.event_id for r in rows])
    out = []
    for row in rows:
        refs = [evidence_ref(e) for e in evidence.get(row.event_id, [])]
        crop = next((r.url for r in refs if r.role == "crop"), None)
        out.append(CrossingSeen(**CrossingOut.model_validate(row).model_dump(), crop_url=crop, evidence=refs))
    return out


def trend_days(since_day: date, until_day: date, by: str) -> list[date]:
    """Bucket starts (local dates) covering ``since_day .. until_day`` (inclusive): days, or Mondays of weeks."""
    if by == "day":
        return [since_day + timedelta(days=i) for i in range((until_day - since_day).days + 1)]
    first = since_day - timedelta(days=since_day.weekday())
    return [first + timedelta(weeks=i) for i in range((until_day - first).days // 7 + 1)]


def _fixed_offset_hours(since: datetime, until: datetime, tz: ZoneInfo) -> int | None:
    """The zone's offset in whole hours when it is the same at every local midnight in ``[since, until]`` (no
    daylight saving change inside: Vietnam, China), else None."""
    offsets = set()
    day = since.astimezone(tz).date()
    while True:
        offset = datetime.combine(day, time(0), tzinfo=tz).utcoffset()
        offsets.add(offset)
        if datetime.combine(day, time(0), tzinfo=tz) >= until or len(offsets) > 1:
            break
        day += timedelta(days=1)
    if len(offsets) != 1:
        return None
    seconds = int(offsets.pop().total_seconds())  # type: ignore[union-attr]  # ZoneInfo always answers an offset
    return seconds // 3600 if seconds % 3600 == 0 else None


def trend_counts(session: Session, gate: str | None, since: datetime, until: datetime, by: str,
                 tz: ZoneInfo) -> list[tuple[date, str, str, str, int]]:
    """Crossings per (bucket start, lane, direction, class) in ``[since, until)``; a bucket is a local day or
    a week from Monday; sorted.

    With a fixed whole-hour offset the database sums per local day (``(hour + offset) / 24``, integer division on
    both backends), so a 92-day range returns ~92 rows per lane, direction and class instead of one per hour;
    otherwise hours are summed here.
    """
    offset = _fixed_offset_hours(since, until, tz)
    # whole local days since 1970-01-01 (floor division of integers), else whole UTC hours
    unit = ((Crossing.hour + offset) // 24).label("day") if offset is not None else Crossing.hour.label("hour")
    query = _in_range(select(unit, Crossing.lane, Crossing.direction, Crossing.vehicle_class, func.count()),
                      gate, since, until)
    query = query.group_by(unit, Crossing.lane, Crossing.direction, Crossing.vehicle_class)
    epoch = date(1970, 1, 1)
    totals: dict[tuple[date, str, str, str], int] = {}
    for number, lane, direction, vehicle_class, n in session.execute(query).all():
        if offset is not None:
            day = epoch + timedelta(days=int(number))
        else:
            day = datetime.fromtimestamp(int(number) * 3600, timezone.utc).astimezone(tz).date()
        start = day if by == "day" else day - timedelta(days=day.weekday())
        key = (start, lane, direction, vehicle_class)
        totals[key] = totals.get(key, 0) + int(n)
    return sorted((*key, n) for key, n in totals.items())


@dataclass(frozen=True)
class Clearance:
    """A completed visit: arrival (entry crossing) to departure (next exit crossing at the same gate)."""

    plate: str
    gate: str
    vehicle_class: str
    arrived_at: datetime
    departed_at: datetime
    entry_event_id: str
    exit_event_id: str

    @property
    def clearance_s(self) -> float:
        """Seconds from arrival to departure."""
        return (self.departed_at - self.arrived_at).total_seconds()


def clearances(session: Session, gate: str | None, since: datetime, until: datetime) -> list[Clearance]:
    """Visits that departed in ``[since, until)`` and arrived at most ``CLEARANCE_LOOKBACK`` before departing.

    The pairing of ``queries.pair_visits`` done by the database: in each plate's crossings at one gate, oldest
    first, an exit whose previous crossing is an entry closes that visit (an exit after an exit, or first, has no
    arrival; an entry followed by an entry is a visit without departure). Only the visits come back.
    """
    part, order = (Crossing.plate, Crossing.gate), (Crossing.frame_time, Crossing.event_id)
    query = select(
        Crossing.plate, Crossing.gate, Crossing.direction, Crossing.frame_time, Crossing.event_id,
        func.lag(Crossing.direction).over(partition_by=part, order_by=order).label("prev_direction"),
        func.lag(Crossing.frame_time, type_=UTCDateTime()).over(partition_by=part, order_by=order).label("prev_time"),
        func.lag(Crossing.event_id).over(partition_by=part, order_by=order).label("prev_event_id"),
        func.lag(Crossing.vehicle_class).over(partition_by=part, order_by=order).label("prev_class"),
    ).where(Crossing.plate.is_not(None))
    rows = _in_range(query, gate, since - CLEARANCE_LOOKBACK, until).subquery()
    visits = select(rows).where(rows.c.direction == "exit", rows.c.prev_direction == "entry",
                                rows.c.frame_time >= since)
    out = []
    for r in session.execute(visits):
        if r.frame_time - r.prev_time <= CLEARANCE_LOOKBACK:
            out.append(Clearance(r.plate, r.gate, r.prev_class, r.prev_time, r.frame_time, r.prev_event_id, r.event_id))
    return out


def clearance_histogram(seconds: Sequence[float]) -> list[tuple[float, float | None, int]]:
    """Counts per bin of ``CLEARANCE_BIN_EDGES_S``: ``(lo_s, hi_s or None for the last, count)``."""
    edges = CLEARANCE_BIN_EDGES_S
    bins = [0] * len(edges)
    for s in seconds:
        i = len(edges) - 1
        while s < edges[i]:
            i -= 1
        bins[max(i, 0)] += 1
    return [(float(lo), float(edges[i + 1]) if i + 1 < len(edges) else None, bins[i]) for i, lo in enumerate(edges)]


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of sorted values, nearest rank; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, -int(-q * len(sorted_values) // 1))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def held_now(session: Session, gate: str | None, limit: int = HELD_NOW_MAX) -> list[Flag]:
    """Held-vehicle flags that have not ended (the vehicle still stands in its zone), longest held first."""
    query = select(Flag).where(Flag.flag_kind == FlagKind.HELD.value, Flag.ended_at.is_(None))
    if gate is not None:
        query = query.where(Flag.gate == gate)
    return list(session.scalars(query.order_by(Flag.started_at, Flag.flag_id).limit(limit)))
