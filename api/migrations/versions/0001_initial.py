"""Initial schema: users, API keys, events, crossings, flags, reviews, evidence, holds.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table and index."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("gate", sa.String(64), nullable=False),
        sa.Column("camera", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("gate", sa.String(64), nullable=False),
        sa.Column("camera", sa.String(64), nullable=False),
        sa.Column("frame_time", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("flag_id", sa.String(36), nullable=True),
        sa.Column("phase", sa.String(16), nullable=True),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    op.create_index("ix_events_flag_id", "events", ["flag_id"])
    op.create_table(
        "crossings",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("gate", sa.String(64), nullable=False),
        sa.Column("camera", sa.String(64), nullable=False),
        sa.Column("lane", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("vehicle_class", sa.String(32), nullable=False),
        sa.Column("frame_time", TS, nullable=False),
        sa.Column("hour", sa.Integer, nullable=False),
        sa.Column("track_id", sa.Integer, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("plate", sa.String(32), nullable=True),
        sa.Column("plate_key", sa.String(32), nullable=True),
        sa.Column("plate_raw", sa.String(64), nullable=True),
        sa.Column("plate_confidence", sa.Float, nullable=True),
        sa.Column("plate_country", sa.String(8), nullable=True),
    )
    op.create_index("ix_crossings_gate_hour", "crossings", ["gate", "hour"])
    op.create_index("ix_crossings_frame_time", "crossings", ["frame_time"])
    op.create_index("ix_crossings_plate", "crossings", ["plate"])
    op.create_index("ix_crossings_plate_key", "crossings", ["plate_key"])
    op.create_table(
        "flags",
        sa.Column("flag_id", sa.String(36), primary_key=True),
        sa.Column("flag_kind", sa.String(16), nullable=False),
        sa.Column("gate", sa.String(64), nullable=False),
        sa.Column("camera", sa.String(64), nullable=False),
        sa.Column("lane", sa.String(64), nullable=True),
        sa.Column("zone", sa.String(64), nullable=True),
        sa.Column("track_id", sa.Integer, nullable=True),
        sa.Column("vehicle_class", sa.String(32), nullable=True),
        sa.Column("plate", sa.String(32), nullable=True),
        sa.Column("plate_key", sa.String(32), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("last_event_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("events_count", sa.Integer, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.Column("review_note", sa.Text, nullable=True),
    )
    op.create_index("ix_flags_status_started", "flags", ["status", "started_at"])
    op.create_index("ix_flags_gate", "flags", ["gate"])
    op.create_table(
        "flag_reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("flag_id", sa.String(36), sa.ForeignKey("flags.flag_id", ondelete="CASCADE"), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("before", sa.JSON, nullable=False),
        sa.Column("after", sa.JSON, nullable=False),
    )
    op.create_index("ix_flag_reviews_flag_id", "flag_reviews", ["flag_id"])
    op.create_table(
        "evidence",
        sa.Column("event_id", sa.String(36), sa.ForeignKey("events.event_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_evidence_sha256", "evidence", ["sha256"])
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plate", sa.String(32), nullable=False),
        sa.Column("gate", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("until", TS, nullable=True),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("removed_at", TS, nullable=True),
        sa.Column("removed_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_holds_plate", "holds", ["plate"])


def downgrade() -> None:
    """Drop everything, children first."""
    for table in ("holds", "evidence", "flag_reviews", "flags", "crossings", "events", "api_keys", "users"):
        op.drop_table(table)
