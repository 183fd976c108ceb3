"""One plate key with the edge, and no edge-local paths in stored events.

Plates were stored with a second, look-alike-folded ``plate_key`` column (L folded to 1, although L is
a Vietnamese series letter) that disagreed with the key the edge matches its hold list on. The stored
``plate`` is now the contract's key (``gatewatch.contract.plate_key``) and fuzzy search folds look-alikes
at query time, so ``crossings.plate_key``, ``flags.plate_key`` and ``ix_crossings_plate_key`` go.
Stored plates and holds are re-keyed (NFKC compatibility forms, e.g. full-width digits) where that
changes them, and the edge-local paths (``crop_path``, ``snapshot_path``, ``plate.crop_path``) are
removed from ``events.payload``: they name files on an edge box and mean nothing here.

Downgrade puts the folded column back (filled from ``plate`` with the old fold); removed paths stay
removed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import unicodedata
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

EDGE_LOCAL = ("crop_path", "snapshot_path")
_OLD_FOLD = (("O", "0"), ("D", "0"), ("Q", "0"), ("I", "1"), ("L", "1"), ("B", "8"), ("S", "5"), ("Z", "2"), ("G", "6"))


def _key(text: str) -> str:
    """The contract's plate key as of this revision (frozen here: migrations never import app code)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).upper() if ch.isalnum())


def _rekey(bind: Any, table: str) -> None:
    """Rewrite the stored plates of ``table`` whose key differs (one UPDATE per distinct plate that changes)."""
    t = sa.table(table, sa.column("plate", sa.String))
    for (plate,) in bind.execute(sa.select(t.c.plate).distinct().where(t.c.plate.is_not(None))).all():
        key = _key(plate)
        if key != plate and 0 < len(key) <= 32:
            bind.execute(t.update().where(t.c.plate == plate).values(plate=key))


def _strip_payloads(bind: Any) -> None:
    """Remove the edge-local paths from every stored event, in the database (JSON functions of each backend)."""
    paths = ", ".join(f"'$.{name}'" for name in (*EDGE_LOCAL, "plate.crop_path"))
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql(f"UPDATE events SET payload = json_remove(payload, {paths})")
    else:  # PostgreSQL: payload is json; jsonb has the operators (key order may change, the content does not)
        bind.exec_driver_sql("UPDATE events SET payload = ((payload::jsonb - 'crop_path' - 'snapshot_path') "
                             "#- '{plate,crop_path}')::json")


def upgrade() -> None:
    """Drop the folded ``plate_key`` columns and index; re-key plates; strip edge-local paths from payloads."""
    bind = op.get_bind()
    op.drop_index("ix_crossings_plate_key", table_name="crossings")
    with op.batch_alter_table("crossings") as batch:
        batch.drop_column("plate_key")
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("plate_key")
    for table in ("crossings", "flags", "holds"):
        _rekey(bind, table)
    _strip_payloads(bind)


def _old_fold(column: Any) -> Any:
    expr = column
    for src, dst in _OLD_FOLD:
        expr = sa.func.replace(expr, src, dst)
    return expr


def downgrade() -> None:
    """Put ``plate_key`` back on ``crossings`` and ``flags`` (filled with the old fold) with its index."""
    with op.batch_alter_table("crossings") as batch:
        batch.add_column(sa.Column("plate_key", sa.String(32), nullable=True))
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("plate_key", sa.String(32), nullable=True))
    for table in ("crossings", "flags"):
        t = sa.table(table, sa.column("plate", sa.String), sa.column("plate_key", sa.String))
        op.execute(t.update().where(t.c.plate.is_not(None)).values(plate_key=_old_fold(t.c.plate)))
    op.create_index("ix_crossings_plate_key", "crossings", ["plate_key"])
