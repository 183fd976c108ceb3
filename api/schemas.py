"""Request and response shapes (separate from the table models).

What crosses the wire to and from edge boxes (events, the hold list) is not declared here but in
``gatewatch.contract``, which the edge uses too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gatewatch.contract import (
    INT32_MAX,
    check_free_text,
    check_text,
    check_time,
    plate_key,
)

MAX_AGE_S = 100 * 365.25 * 86400  # flag age filters: a century, in seconds
MAX_OFFSET = INT32_MAX  # page offsets


def _optional(check: Any) -> Any:
    return lambda value: None if value is None else check(value)


# Query parameters with the event contract's limits: names are column-sized without control characters,
# times within 1970..2100 (answers 422 naming the parameter instead of failing in the database).
QueryName = Annotated[str | None, Query(min_length=1, max_length=64), AfterValidator(_optional(check_text))]
QueryTime = Annotated[datetime | None, AfterValidator(_optional(check_time))]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
RequiredTime = Annotated[datetime, AfterValidator(check_time)]
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(2099, 12, 31)


def check_day(value: date) -> date:
    """A local day within 1970-01-01 .. 2099-12-31, like the contract's times."""
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"day must be within {EARLIEST_DAY} .. {LATEST_DAY}")
    return value


QueryDay = Annotated[date | None, AfterValidator(_optional(check_day))]


def age_seconds(description: str) -> Any:
    """A query parameter of seconds in 0 .. ``MAX_AGE_S`` (finite)."""
    return Annotated[float | None, Query(ge=0, le=MAX_AGE_S, allow_inf_nan=False, description=description)]


Text = Annotated[str, AfterValidator(check_text)]
FreeText = Annotated[str, AfterValidator(check_free_text)]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestResult(_Out):
    """Outcome of one accepted batch."""

    accepted: int = Field(description="New events stored.")
    duplicates: int = Field(description="Events already stored (same event_id), skipped.")


class EvidenceStored(_Out):
    """An evidence image on disk."""

    sha256: str
    bytes: int


class HoldIn(_In):
    """Put a plate on the hold list."""

    plate: Text = Field(min_length=2, max_length=32, description="Plate, any separators ('51F-123.45').")
    reason: FreeText = Field(min_length=1, max_length=2000)
    until: QueryTime = Field(None, description="End of the hold (ISO 8601); none: until removed.")
    gate: Text | None = Field(None, max_length=64, description="Only this gate; none: every gate.")

    def plate_normalised(self) -> str:
        """The plate's key (``gatewatch.contract.plate_key``), as stored and as the edge matches it."""
        return plate_key(self.plate)


class HoldOut(_Out):
    """A hold-list entry with its audit fields."""

    id: int
    plate: str
    gate: str | None
    reason: str
    until: datetime | None
    added_by: str
    added_at: datetime
    removed_at: datetime | None
    removed_by: str | None
    active: bool


class Token(_Out):
    """Bearer token for an operator."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: str


class UserIn(_In):
    """Create a user (admin only)."""

    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=8, max_length=72)
    role: Literal["operator", "admin"] = "operator"


class UserOut(_Out):
    """A user without secrets."""

    id: int
    username: str
    role: str
    disabled: bool
    created_at: datetime


class PasswordChange(_In):
    """Change your own password: the current one, then the new one."""

    current_password: Text = Field(min_length=1, max_length=72)
    new_password: Text = Field(min_length=8, max_length=72)


class KeyIn(_In):
    """Create an API key for an edge box (admin only)."""

    gate: Text = Field(min_length=1, max_length=64)
    camera: Text = Field("*", min_length=1, max_length=64, description="Camera id, or '*' for the whole gate.")
    name: Text = Field("", max_length=128)


class KeyOut(_Out):
    """An API key's record (never the key itself)."""

    id: int
    prefix: str
    gate: str
    camera: str
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    """A new key: ``key`` is shown this once."""

    key: str


class Bucket(_Out):
    """Crossings in one hour or day; ``local`` and ``label`` are in the gate's time zone."""

    start: datetime
    count: int
    local: datetime = Field(description="The bucket's start in the gate's time zone, with its offset.")
    label: str = Field(description="The hour ('22') or the day ('2026-11-24') in the gate's time zone.")


class Counts(_Out):
    """Bucketed crossing counts; buckets and labels follow the gate's time zone (``timezone``)."""

    bucket: Literal["hour", "day"]
    timezone: str
    utc_offset: str = Field(description="The gate's offset from UTC at 'since', e.g. '+07:00'.")
    since: datetime
    until: datetime
    total: int
    buckets: list[Bucket]


class PlateOut(_Out):
    """A plate as stored on a crossing."""

    text: str
    raw: str | None
    confidence: float | None
    country: str | None


class CrossingOut(_Out):
    """One stored crossing."""

    event_id: str
    gate: str
    camera: str
    lane: str
    direction: str
    vehicle_class: str
    frame_time: datetime
    track_id: int
    confidence: float
    plate: str | None
    plate_raw: str | None
    plate_confidence: float | None


class CrossingPage(_Out):
    """A page of crossings, newest first."""

    total: int
    limit: int
    offset: int
    items: list[CrossingOut]


class Visit(_Out):
    """An arrival (entry) paired with the next departure (exit); ``clearance_s`` is the time between."""

    gate: str
    arrived_at: datetime | None
    departed_at: datetime | None
    clearance_s: float | None
    entry_event_id: str | None
    exit_event_id: str | None


class EvidenceRef(_Out):
    """An evidence image of a flag or a crossing; fetch it at ``url`` with the bearer token."""

    event_id: str
    role: str
    sha256: str
    content_type: str
    bytes: int
    url: str


class CrossingSeen(CrossingOut):
    """A crossing with its evidence images (crop first, then plate, then snapshot)."""

    crop_url: str | None = Field(None, description="The vehicle crop's URL when the edge sent one.")
    evidence: list[EvidenceRef] = []


class GateInfo(_Out):
    """The gate as the console needs it: its time zone."""

    timezone: str = Field(description="IANA zone of the gate (GATEWATCH_TIMEZONE), e.g. 'Asia/Ho_Chi_Minh'.")
    utc_offset: str = Field(description="The zone's offset from UTC now, e.g. '+07:00'.")


class FlagOut(_Out):
    """A flag folded from its events."""

    flag_id: str
    flag_kind: str
    gate: str
    camera: str
    lane: str | None
    zone: str | None
    track_id: int | None
    vehicle_class: str | None
    plate: str | None
    started_at: datetime
    last_event_at: datetime
    ended_at: datetime | None
    duration_s: float
    phase: str
    events_count: int
    details: dict[str, Any]
    status: str
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None
    evidence: list[EvidenceRef] = []


class VehicleHistory(_Out):
    """Everything seen of one plate: crossings with their evidence, visits, and flags with theirs."""

    plate: str
    plates_matched: list[str]
    crossings: list[CrossingSeen]
    visits: list[Visit]
    flags: list[FlagOut] = Field([], description="Flags of the matched plates, newest first (at most 200).")


class FlagPage(_Out):
    """A page of flags, oldest first."""

    total: int
    limit: int
    offset: int
    items: list[FlagOut]


class ReviewIn(_In):
    """An operator's decision on a flag."""

    action: Literal["confirm", "dismiss"]
    note: FreeText = Field("", max_length=2000)


class ReviewOut(_Out):
    """Audit record of one review."""

    id: int
    flag_id: str
    reviewer: str
    action: str
    note: str
    at: datetime
    before: dict[str, Any]
    after: dict[str, Any]


class FlagDetail(FlagOut):
    """A flag with its events and reviews."""

    events: list[dict[str, Any]]
    reviews: list[ReviewOut]


class LaneDay(_Out):
    """One lane of one gate in a local day: crossings by direction, then by class."""

    gate: str
    lane: str
    entries: dict[str, int] = Field(description="Entry crossings (into the country) per vehicle class.")
    exits: dict[str, int] = Field(description="Exit crossings (out of the country) per vehicle class.")
    total: int


class TruckGauge(_Out):
    """A gate's truck crossings (both directions) in the day against its planned daily capacity."""

    gate: str
    trucks: int
    capacity: int
    share: float = Field(description="trucks / capacity (1.0 = capacity reached).")


class TodayBoard(_Out):
    """A local day at a glance (today by default): lanes, trucks against capacity, open flags, last crossings."""

    day: date
    timezone: str
    utc_offset: str
    since: datetime
    until: datetime
    as_of: datetime
    gate: str | None
    lanes: list[LaneDay]
    trucks: list[TruckGauge]
    open_flags: dict[str, int] = Field(description="Open (unreviewed) flags per kind, now.")
    recent: list[CrossingSeen] = Field(description="The day's last crossings, newest first.")


class TrendRow(_Out):
    """Crossings in one bucket (a local day, or the week from Monday ``start``) of a lane, direction and class."""

    start: date
    lane: str
    direction: str
    vehicle_class: str
    count: int


class ClearanceBin(_Out):
    """Visits whose clearance time is in ``[lo_s, hi_s)`` (``hi_s`` None: no upper bound)."""

    lo_s: float
    hi_s: float | None
    count: int


class SlowVehicle(_Out):
    """One completed visit: arrival (entry crossing) to departure (next exit at the same gate)."""

    plate: str
    gate: str
    vehicle_class: str
    arrived_at: datetime
    departed_at: datetime
    clearance_s: float
    entry_event_id: str
    exit_event_id: str


class ClearanceStats(_Out):
    """Clearance times of the visits that departed in the range."""

    visits: int
    median_s: float | None
    p90_s: float | None
    histogram: list[ClearanceBin]
    slowest_day: date = Field(description="The local day of ``slowest`` (the range's last day).")
    slowest: list[SlowVehicle]


class HeldVehicle(_Out):
    """A vehicle standing in a dwell zone now (a held flag not ended) and for how long."""

    flag_id: str
    gate: str
    camera: str
    lane: str | None
    zone: str | None
    plate: str | None
    vehicle_class: str | None
    started_at: datetime
    last_event_at: datetime
    held_s: float = Field(description="Seconds from the flag's start to now.")
    status: str


class Trends(_Out):
    """Crossings per day or week by lane, direction and class; clearance times; vehicles held now."""

    timezone: str
    by: Literal["day", "week"]
    from_day: date
    to_day: date
    since: datetime
    until: datetime
    gate: str | None
    buckets: list[date]
    rows: list[TrendRow]
    clearance: ClearanceStats
    held_now: list[HeldVehicle]


class PlateFound(_Out):
    """A stored plate a search found, how it matched, and where and when it was seen."""

    plate: str
    match: Literal["exact", "lookalike", "one_edit"]
    crossings: int
    first_seen: datetime
    last_seen: datetime
    last_gate: str
    last_lane: str
    last_direction: str
    on_hold_list: bool


class PlateSearch(_Out):
    """Plates matching a query, exact first, then look-alikes, then one edit away; most recently seen first."""

    query: str = Field(description="The query's plate key.")
    fuzzy: bool
    total: int
    items: list[PlateFound]


class Health(_Out):
    """Liveness."""

    status: Literal["ok"] = "ok"
