"""Table models (SQLAlchemy 2). Request and response shapes live in ``schemas.py``.

Times are aware UTC datetimes on both backends (``UTCDateTime``). Plates are stored as the
contract's key (``gatewatch.contract.plate_key``, nothing folded); fuzzy search folds look-alikes
at query time (``gatewatch.api.plates``). Event payloads hold no edge-local file paths.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gatewatch.api.db import UTCDateTime


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base for every table."""


class User(Base):
    """An operator or admin who signs in with a password."""

    __tablename__ = "users"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted user's id is never reused

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """In every token; bumped to end all of the user's tokens (sign-out, password change, disable)."""


class LoginFailure(Base):
    """A failed (or still running) sign-in, counted against a ``user`` name or a client ``address``."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_subject", "scope", "subject", "at"),
                      Index("ix_login_failures_at", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An edge box's key, scoped to one gate and one camera (or ``*`` for the whole gate)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    gate: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Event(Base):
    """Every event as received (wire form: no edge-local paths), crossing or flag phase; ``event_id`` makes
    ingest idempotent."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_flag_id", "flag_id"),)

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    gate: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(64))
    frame_time: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    flag_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    phase: Mapped[str | None] = mapped_column(String(16), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Crossing(Base):
    """One vehicle crossing a lane line; ``hour`` is whole hours since the epoch (UTC) for fast counts."""

    __tablename__ = "crossings"
    __table_args__ = (
        Index("ix_crossings_gate_hour", "gate", "hour"),
        Index("ix_crossings_frame_time", "frame_time"),
        Index("ix_crossings_plate", "plate"),
    )

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    gate: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))
    vehicle_class: Mapped[str] = mapped_column(String(32))
    frame_time: Mapped[datetime] = mapped_column(UTCDateTime)
    hour: Mapped[int] = mapped_column(Integer)
    track_id: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    plate: Mapped[str | None] = mapped_column(String(32), nullable=True)
    plate_raw: Mapped[str | None] = mapped_column(String(64), nullable=True)
    plate_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    plate_country: Mapped[str | None] = mapped_column(String(8), nullable=True)


class Flag(Base):
    """One flag folded from its start / update / end events; ``status`` is open until reviewed."""

    __tablename__ = "flags"
    __table_args__ = (Index("ix_flags_status_started", "status", "started_at"), Index("ix_flags_gate", "gate"))

    flag_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    flag_kind: Mapped[str] = mapped_column(String(16))
    gate: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str | None] = mapped_column(String(64), nullable=True)
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    track_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    vehicle_class: Mapped[str | None] = mapped_column(String(32), nullable=True)
    plate: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    phase: Mapped[str] = mapped_column(String(16))
    events_count: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class FlagReview(Base):
    """Audit record of one review: who, when, what, and the flag before and after."""

    __tablename__ = "flag_reviews"
    __table_args__ = (Index("ix_flag_reviews_flag_id", "flag_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.flag_id", ondelete="CASCADE"))
    reviewer: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)


class Evidence(Base):
    """An image attached to an event in a role (crop, snapshot, plate); the file is named by sha256."""

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_sha256", "sha256"),)

    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Hold(Base):
    """A plate on the hold list: who added it, why, until when; ``gate`` None means every gate."""

    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_plate", "plate"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plate: Mapped[str] = mapped_column(String(32))
    gate: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AppSecret(Base):
    """A secret the app made for itself (the token-signing key when none is configured), shared by workers."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
