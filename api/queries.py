"""Read side: counts bucketed by hour or day, crossing search by plate, a vehicle's visits.

Counts group on ``crossings.hour`` (whole hours since the epoch, indexed with the gate), so a
day of one gate is an index range scan on both backends; day buckets are summed from hours
in the local time zone.

Example::

    buckets = hourly_counts(session, CrossingFilter(gate="huu-nghi", lane="lane-2"), since, until)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, SQLColumnExpression, and_, func, or_, select
from sqlalchemy.orm import Session

from gatewatch.api.exceptions import BadQuery
from gatewatch.api.models import Crossing
from gatewatch.api.plates import like_pattern, lookalike_pattern, lookalike_variants, within_one_edit
from gatewatch.contract import fold_lookalikes, plate_key

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

AnySelect = TypeVar("AnySelect", bound="Select[Unpack[tuple[Any, ...]]]")  # a SELECT of any columns

MAX_HOUR_BUCKETS = 24 * 400
MAX_DAY_BUCKETS = 366 * 10
MAX_LOOKALIKE_VARIANTS = 1024  # beyond this many spellings of a half plate, a regular expression is used


@dataclass(frozen=True)
class CrossingFilter:
    """Optional equality filters on crossings (None: any)."""

    gate: str | None = None
    camera: str | None = None
    lane: str | None = None
    direction: str | None = None
    vehicle_class: str | None = None

    def apply(self, query: AnySelect) -> AnySelect:
        """Add a WHERE clause for every set field."""
        for name in ("gate", "camera", "lane", "direction", "vehicle_class"):
            value = getattr(self, name)
            if value is not None:
                query = query.where(getattr(Crossing, name) == value)
        return query


def as_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """Aware UTC datetime; a naive one is read as local time in ``tz``."""
    return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(timezone.utc)


def default_range(tz: ZoneInfo, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """Fill a missing end of the range: today (local midnight to midnight) by default."""
    if since is None:
        if until is None:
            start = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
            return start.astimezone(timezone.utc), (start + timedelta(days=1)).astimezone(timezone.utc)
        until_utc = as_utc(until, tz)
        return until_utc - timedelta(days=1), until_utc
    since_utc = as_utc(since, tz)
    return since_utc, as_utc(until, tz) if until else since_utc + timedelta(days=1)


def counts(session: Session, flt: CrossingFilter, since: datetime, until: datetime, bucket: str,
           tz: ZoneInfo) -> list[tuple[datetime, int]]:
    """Crossings per hour or per local day in ``[since, until)``, zeros included, oldest first."""
    if until <= since:
        raise BadQuery("'until' must be after 'since'")
    h0 = int(since.timestamp() // 3600)
    h1 = -int(-until.timestamp() // 3600)  # ceil
    if bucket == "hour" and h1 - h0 > MAX_HOUR_BUCKETS:
        raise BadQuery(f"hour buckets cover at most {MAX_HOUR_BUCKETS // 24} days; use bucket=day")
    if bucket == "day" and (h1 - h0) / 24 > MAX_DAY_BUCKETS:
        raise BadQuery(f"day buckets cover at most {MAX_DAY_BUCKETS} days")
    query = flt.apply(select(Crossing.hour, func.count()).where(Crossing.hour >= h0, Crossing.hour < h1))
    if since.timestamp() % 3600 or until.timestamp() % 3600:
        query = query.where(Crossing.frame_time >= since, Crossing.frame_time < until)
    per_hour: dict[int, int] = dict(session.execute(query.group_by(Crossing.hour)).all())
    if bucket == "hour":
        return [(datetime.fromtimestamp(h * 3600, timezone.utc), int(per_hour.get(h, 0))) for h in range(h0, h1)]
    per_day: dict[datetime, int] = {}
    day = since.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    while day < until:
        per_day[day] = 0
        day = (day + timedelta(days=1)).replace(hour=0)
    for hour, n in per_hour.items():
        local = datetime.fromtimestamp(hour * 3600, timezone.utc).astimezone(tz)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        per_day[start] = per_day.get(start, 0) + int(n)
    return sorted((d.astimezone(timezone.utc), n) for d, n in per_day.items())


def bucket_label(start: datetime, bucket: str, tz: ZoneInfo) -> str:
    """A bucket's label in the gate's zone: the hour (``"22"``) or the day (``"2026-11-24"``)."""
    local = start.astimezone(tz)
    return f"{local.hour:02d}" if bucket == "hour" else local.date().isoformat()


def utc_offset(at: datetime, tz: ZoneInfo) -> str:
    """The zone's offset from UTC at ``at``, as ``+07:00``."""
    text = at.astimezone(tz).strftime("%z")
    return f"{text[:3]}:{text[3:5]}"


def matching_plates(session: Session, query_plate: str, fuzzy: bool) -> list[str]:
    """Stored plates equal to ``query_plate``'s key, or (``fuzzy``) within one edit of it up to look-alikes."""
    key = plate_key(query_plate)
    if not key:
        raise BadQuery("plate must contain letters or digits")
    if not fuzzy:
        return [key]
    # Look-alikes are folded here, at query time, never in the stored key. One edit leaves either the
    # first half of the folded key or its second half untouched, so the database returns only plates
    # that start or end like that half up to look-alikes (``_near_plates``); the exact one-edit test on
    # folded keys runs here on those few.
    half = len(key) // 2
    candidates = _near_plates(session, key[:half], key[half:], len(key))
    folded = fold_lookalikes(key)
    return sorted(p for p in candidates if p and within_one_edit(folded, fold_lookalikes(p)))


def _near_plates(session: Session, head: str, tail: str, length: int) -> list[str]:
    """Distinct stored plates of ``length`` +-1 characters that start with ``head`` or end with ``tail`` up
    to look-alikes.

    Each side is a cheap ``LIKE`` (``_`` for a look-alike) and, on the rows that pass, the exact look-alike
    classes. SQLite first takes the distinct plates (an index-only scan of ix_crossings_plate, materialised)
    and tests the classes as ``GLOB`` patterns on those; PostgreSQL filters the rows first and compares the
    head and tail with every look-alike variant (``IN``, hashed; a regular expression beyond
    ``MAX_LOOKALIKE_VARIANTS``).
    """
    if session.get_bind().dialect.name == "sqlite":
        plates = (select(Crossing.plate).distinct().where(Crossing.plate.is_not(None))
                  .cte("plates").prefix_with("MATERIALIZED"))
        plate: SQLColumnExpression[Any] = plates.c.plate  # a CTE column here, the ORM attribute below
        starts = plate.op("GLOB", is_comparison=True)(lookalike_pattern(head) + "*")
        ends = func.substr(plate, -len(tail)).op("GLOB", is_comparison=True)(lookalike_pattern(tail))
        query = select(plate)
    else:
        plate = Crossing.plate
        heads, tails = lookalike_variants(head, MAX_LOOKALIKE_VARIANTS), lookalike_variants(tail, MAX_LOOKALIKE_VARIANTS)
        starts = (func.left(plate, len(head)).in_(heads) if heads is not None
                  else plate.op("~", is_comparison=True)("^" + lookalike_pattern(head)))
        ends = (func.right(plate, len(tail)).in_(tails) if tails is not None
                else plate.op("~", is_comparison=True)(lookalike_pattern(tail) + "$"))
        query = select(plate).distinct().where(plate.is_not(None))
    near = or_(and_(plate.like(like_pattern(head) + "%"), starts), and_(plate.like("%" + like_pattern(tail)), ends))
    return [p for p in session.scalars(query.where(func.length(plate).between(length - 1, length + 1), near)) if p]


def list_crossings(session: Session, flt: CrossingFilter, since: datetime | None, until: datetime | None,
                   plates: list[str] | None, limit: int, offset: int) -> tuple[int, list[Crossing]]:
    """A page of crossings, newest first, and the total that match."""
    query = flt.apply(select(Crossing))
    if since is not None:
        query = query.where(Crossing.frame_time >= since)
    if until is not None:
        query = query.where(Crossing.frame_time < until)
    if plates is not None:
        query = query.where(Crossing.plate.in_(plates or [""]))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Crossing.frame_time.desc(), Crossing.event_id).limit(limit).offset(offset))
    return total, list(rows)


class Passage(Protocol):
    """What pairing needs of a crossing."""

    @property
    def gate(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def frame_time(self) -> datetime: ...


P = TypeVar("P", bound=Passage)


def pair_visits(rows: Iterable[P]) -> list[tuple[str, P | None, P | None]]:
    """One plate's crossings (oldest first) as visits ``(gate, entry, exit)``: each exit closes the open entry at
    its gate; an entry followed by another entry at the same gate, or by nothing, is a visit without departure."""
    visits: list[tuple[str, P | None, P | None]] = []
    open_entry: dict[str, P] = {}
    for row in rows:
        if row.direction == "entry":
            if row.gate in open_entry:
                visits.append((row.gate, open_entry.pop(row.gate), None))
            open_entry[row.gate] = row
        else:
            visits.append((row.gate, open_entry.pop(row.gate, None), row))
    visits.extend((gate, entry, None) for gate, entry in open_entry.items())
    return visits


@dataclass(frozen=True)
class VisitRecord:
    """An entry paired with the next exit at the same gate."""

    gate: str
    entry: Crossing | None
    exit: Crossing | None

    @property
    def clearance_s(self) -> float | None:
        """Seconds from arrival to departure, when both are known."""
        if self.entry is None or self.exit is None:
            return None
        return (self.exit.frame_time - self.entry.frame_time).total_seconds()


def vehicle_history(session: Session, plates: list[str]) -> tuple[list[Crossing], list[VisitRecord]]:
    """Crossings of these plates, oldest first, and the visits (arrival, departure, clearance) they make."""
    rows = list(session.scalars(
        select(Crossing).where(Crossing.plate.in_(plates or [""])).order_by(Crossing.frame_time, Crossing.event_id)
    ))
    visits = [VisitRecord(gate, entry, exit_) for gate, entry, exit_ in pair_visits(rows)]
    visits.sort(key=lambda v: (v.entry or v.exit).frame_time)  # type: ignore[union-attr]  # each visit has one or both
    return rows, visits


MATCH_ORDER = {"exact": 0, "lookalike": 1, "one_edit": 2}


@dataclass(frozen=True)
class PlateMatch:
    """A stored plate an operator's search found, with where and when it was seen."""

    plate: str
    match: str  # exact, lookalike (same up to look-alike characters) or one_edit
    crossings: int
    first_seen: datetime
    last_seen: datetime
    last_gate: str
    last_lane: str
    last_direction: str


def match_kind(query_key: str, plate: str) -> str:
    """How ``plate`` matches the query's key: ``exact``, ``lookalike`` or ``one_edit``."""
    if plate == query_key:
        return "exact"
    return "lookalike" if fold_lookalikes(plate) == fold_lookalikes(query_key) else "one_edit"


def search_plates(session: Session, query_plate: str, fuzzy: bool, limit: int) -> tuple[int, list[PlateMatch]]:
    """Stored plates matching the query (exact, or fuzzily as ``matching_plates``), best match first, then the
    most recently seen; the total found and the first ``limit``."""
    key = plate_key(query_plate)
    plates = matching_plates(session, query_plate, fuzzy)
    stats = [(plate or "", int(n), first, latest) for plate, n, first, latest in session.execute(
        select(Crossing.plate, func.count(), func.min(Crossing.frame_time), func.max(Crossing.frame_time))
        .where(Crossing.plate.in_(plates or [""])).group_by(Crossing.plate)
    )]
    ranked = sorted(stats, key=lambda r: (MATCH_ORDER[match_kind(key, r[0])], -r[3].timestamp(), r[0]))
    top = ranked[:limit]
    last: dict[str, Crossing] = {}
    if top:
        latest = (select(Crossing.plate, func.max(Crossing.frame_time).label("at"))
                  .where(Crossing.plate.in_([r[0] for r in top])).group_by(Crossing.plate).subquery())
        rows = session.scalars(select(Crossing).join(latest, and_(Crossing.plate == latest.c.plate,
                                                                  Crossing.frame_time == latest.c.at))
                               .order_by(Crossing.event_id))
        for row in rows:
            last.setdefault(row.plate or "", row)
    return len(ranked), [
        PlateMatch(plate, match_kind(key, plate), n, first, latest_at, last[plate].gate, last[plate].lane,
                   last[plate].direction)
        for plate, n, first, latest_at in top
    ]
