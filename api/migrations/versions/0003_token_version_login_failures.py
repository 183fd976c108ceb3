"""Operator tokens that can be ended, and the sign-in throttle.

``users.token_version`` goes into every token and is bumped to end them all (sign-out, password
change, disable). On SQLite the users table is rebuilt with AUTOINCREMENT so a deleted user's id is
never given to a new user (PostgreSQL sequences never reuse ids). ``login_failures`` holds one row per
failed (or in-flight) sign-in for the username and one for the client address.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _token_version() -> sa.Column[int]:
    return sa.Column("token_version", sa.Integer, nullable=False, server_default="0")


def upgrade() -> None:
    """Add ``users.token_version`` (AUTOINCREMENT ids on SQLite) and create ``login_failures``."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("users", recreate="always", table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.add_column(_token_version())
    else:
        op.add_column("users", _token_version())
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_failures_subject", "login_failures", ["scope", "subject", "at"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])


def downgrade() -> None:
    """Drop ``login_failures`` and ``users.token_version``."""
    op.drop_table("login_failures")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_version")
