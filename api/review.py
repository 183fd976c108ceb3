"""Flag queue and reviews; hold list. Every review is kept as an audit record.

Example::

    flag, review = review_flag(session, flag_id, user="an", action="confirm", note="seal broken")
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gatewatch.api.exceptions import Conflict, NotFound
from gatewatch.api.models import Event, Evidence, Flag, FlagReview, Hold, utcnow

STATUSES = ("open", "confirmed", "dismissed")
ACTION_STATUS = {"confirm": "confirmed", "dismiss": "dismissed"}
ROLE_ORDER = {"snapshot": 0, "crop": 1, "plate": 2}


def _snapshot(flag: Flag) -> dict[str, Any]:
    return {"status": flag.status, "reviewed_by": flag.reviewed_by, "review_note": flag.review_note,
            "reviewed_at": flag.reviewed_at.isoformat() if flag.reviewed_at else None}


def list_flags(session: Session, status: str | None, flag_kind: str | None, gate: str | None, camera: str | None,
               min_age_s: float | None, max_age_s: float | None, limit: int, offset: int) -> tuple[int, list[Flag]]:
    """A page of flags, oldest first (the review queue order), and the total that match."""
    query = select(Flag)
    now = utcnow()
    for column, value in ((Flag.status, status), (Flag.flag_kind, flag_kind), (Flag.gate, gate),
                          (Flag.camera, camera)):
        if value is not None:
            query = query.where(column == value)
    if min_age_s is not None:
        query = query.where(Flag.started_at <= now - timedelta(seconds=min_age_s))
    if max_age_s is not None:
        query = query.where(Flag.started_at >= now - timedelta(seconds=max_age_s))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Flag.started_at, Flag.flag_id).limit(limit).offset(offset))
    return total, list(rows)


def evidence_for(session: Session, flag_ids: list[str]) -> dict[str, list[Evidence]]:
    """Evidence of every event of these flags, snapshot first, newest event first within a role."""
    if not flag_ids:
        return {}
    rows = session.execute(
        select(Event.flag_id, Evidence, Event.frame_time).join(Event, Event.event_id == Evidence.event_id)
        .where(Event.flag_id.in_(flag_ids))
    ).all()
    out: dict[str, list[tuple[int, float, Evidence]]] = {}
    for flag_id, evidence, frame_time in rows:
        assert flag_id is not None  # the rows matched flag_ids
        out.setdefault(flag_id, []).append((ROLE_ORDER.get(evidence.role, 9), -frame_time.timestamp(), evidence))
    return {fid: [e for _, _, e in sorted(items, key=lambda t: t[:2])] for fid, items in out.items()}


def get_flag(session: Session, flag_id: str) -> Flag:
    """The flag, or ``NotFound``."""
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise NotFound(f"flag {flag_id} not found")
    return flag


def flag_events(session: Session, flag_id: str) -> list[dict[str, Any]]:
    """The flag's events as received, in frame order."""
    return list(session.scalars(select(Event.payload).where(Event.flag_id == flag_id).order_by(Event.frame_time)))


def flag_reviews(session: Session, flag_id: str) -> list[FlagReview]:
    """The flag's audit records, oldest first."""
    return list(session.scalars(select(FlagReview).where(FlagReview.flag_id == flag_id).order_by(FlagReview.id)))


def review_flag(session: Session, flag_id: str, user: str, action: str, note: str) -> tuple[Flag, FlagReview]:
    """Confirm or dismiss an open flag and keep the audit record; ``Conflict`` if already reviewed."""
    flag = session.get(Flag, flag_id, with_for_update=True)
    if flag is None:
        raise NotFound(f"flag {flag_id} not found")
    if flag.status != "open":
        raise Conflict(f"flag {flag_id} was already {flag.status} by {flag.reviewed_by}")
    before = _snapshot(flag)
    flag.status, flag.reviewed_by, flag.review_note, flag.reviewed_at = ACTION_STATUS[action], user, note, utcnow()
    review = FlagReview(flag_id=flag_id, reviewer=user, action=action, note=note, at=flag.reviewed_at,
                        before=before, after=_snapshot(flag))
    session.add(review)
    session.commit()
    return flag, review


def open_flag_count(session: Session) -> int:
    """Length of the review queue."""
    return session.scalar(select(func.count()).select_from(Flag).where(Flag.status == "open")) or 0


def active_holds(session: Session, gate: str | None, now: datetime | None = None) -> list[Hold]:
    """Hold entries in force now; for ``gate`` those of that gate plus the all-gates ones."""
    now = now or utcnow()
    query = select(Hold).where(Hold.removed_at.is_(None), or_(Hold.until.is_(None), Hold.until > now))
    if gate is not None:
        query = query.where(or_(Hold.gate.is_(None), Hold.gate == gate))
    return list(session.scalars(query.order_by(Hold.plate, Hold.id)))


def is_active(hold: Hold, now: datetime | None = None) -> bool:
    """True when the entry is in force."""
    now = now or utcnow()
    return hold.removed_at is None and (hold.until is None or hold.until > now)


def list_holds(session: Session, gate: str | None, active_only: bool) -> list[Hold]:
    """Hold entries for operators, active only or all (removed and expired too)."""
    if active_only:
        return active_holds(session, gate)
    query = select(Hold)
    if gate is not None:
        query = query.where(Hold.gate == gate)
    return list(session.scalars(query.order_by(Hold.added_at.desc(), Hold.id.desc())))


def add_hold(session: Session, plate: str, reason: str, until: datetime | None, gate: str | None, user: str) -> Hold:
    """Put a (normalised) plate on the hold list."""
    if until is not None and until <= utcnow():
        raise Conflict("'until' is in the past: the hold would never be active")
    hold = Hold(plate=plate, reason=reason, until=until, gate=gate, added_by=user)
    session.add(hold)
    session.commit()
    return hold


def remove_hold(session: Session, hold_id: int, user: str) -> Hold:
    """Take an entry off the list (kept, marked removed)."""
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise NotFound(f"hold {hold_id} not found")
    if hold.removed_at is not None:
        raise Conflict(f"hold {hold_id} was already removed by {hold.removed_by}")
    hold.removed_at, hold.removed_by = utcnow(), user
    session.commit()
    return hold
