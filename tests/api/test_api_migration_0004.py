"""Migration 0004 on both backends: the folded ``plate_key`` goes, plates are re-keyed to the contract's
key, and the edge-local paths leave the stored event payloads; downgrade brings the folded key back."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from gatewatch.api.db import alembic_config, upgrade
from tests.api.helpers import PG_HOST, PG_PORT, pg_admin

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
TS = sa.DateTime(timezone=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty database of each backend."""
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path}/m.db")
        yield engine
        engine.dispose()
        return
    try:
        admin, user = pg_admin()
    except ConnectionError as exc:
        pytest.skip(f"no PostgreSQL server answers on {PG_HOST}:{PG_PORT}: {exc}")
    name = f"gatewatch_mig_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _seed_0003(engine: sa.Engine) -> None:
    """Rows as the 0003 API stored them: folded plate_key, full-width plate, payloads with edge paths."""
    events = sa.table("events", *(sa.column(c) for c in ("event_id", "kind", "gate", "camera", "flag_id", "phase")),
                      sa.column("frame_time", TS), sa.column("received_at", TS), sa.column("payload", sa.JSON))
    crossings = sa.table("crossings", *(sa.column(c) for c in (
        "event_id", "gate", "camera", "lane", "direction", "vehicle_class", "hour", "track_id", "confidence",
        "plate", "plate_key")), sa.column("frame_time", TS))
    flags = sa.table("flags", *(sa.column(c) for c in (
        "flag_id", "flag_kind", "gate", "camera", "plate", "plate_key", "duration_s", "phase", "events_count",
        "status")), sa.column("started_at", TS), sa.column("last_event_at", TS), sa.column("details", sa.JSON))
    holds = sa.table("holds", *(sa.column(c) for c in ("plate", "reason", "added_by")), sa.column("added_at", TS))
    plate = {"text": "77L12345", "text_raw": "77L-123.45", "country": "VN", "confidence": 0.9, "reads": 1,
             "crop_path": "/edge/plates/a.jpg"}
    with engine.begin() as conn:
        conn.execute(events.insert(), [
            dict(event_id="e1", kind="crossing", gate="g1", camera="c", flag_id=None, phase=None, frame_time=T0,
                 received_at=T0, payload={"kind": "crossing", "event_id": "e1", "crop_path": "/edge/a.jpg",
                                          "plate": plate}),
            dict(event_id="e2", kind="flag", gate="g1", camera="c", flag_id="f1", phase="start", frame_time=T0,
                 received_at=T0, payload={"kind": "flag", "event_id": "e2", "snapshot_path": "/edge/s.jpg",
                                          "crop_path": None, "plate": None, "details": {"zone": "桂"}}),
        ])
        conn.execute(crossings.insert(), [
            dict(event_id=f"c{i}", gate="g1", camera="c", lane="l", direction="entry", vehicle_class="truck",
                 hour=0, track_id=i, confidence=0.9, plate=p, plate_key=k, frame_time=T0)
            for i, (p, k) in enumerate([("77L12345", "77112345"), ("７７Ｌ１２３４５", "７７Ｌ１２３４５"), (None, None)])
        ])
        conn.execute(flags.insert(), [dict(flag_id="f1", flag_kind="held", gate="g1", camera="c", plate="29c12345",
                                           plate_key="29C12345", duration_s=0.0, phase="start", events_count=1,
                                           status="open", started_at=T0, last_event_at=T0, details={})])
        conn.execute(holds.insert(), [dict(plate="７７L12345", reason="r", added_by="olga", added_at=T0)])


def test_0004_upgrade_and_downgrade(engine: sa.Engine) -> None:
    from alembic import command

    upgrade(engine, "0003")
    _seed_0003(engine)
    upgrade(engine, "head")
    inspector = sa.inspect(engine)
    for table in ("crossings", "flags"):
        assert "plate_key" not in {c["name"] for c in inspector.get_columns(table)}
    assert "ix_crossings_plate_key" not in {i["name"] for i in inspector.get_indexes("crossings")}
    with engine.connect() as conn:
        plates: dict[str, str | None] = dict(conn.execute(sa.text("SELECT event_id, plate FROM crossings")).all())
        assert plates == {"c0": "77L12345", "c1": "77L12345", "c2": None}
        assert conn.execute(sa.text("SELECT plate FROM flags")).scalar_one() == "29C12345"
        assert conn.execute(sa.text("SELECT plate FROM holds")).scalar_one() == "77L12345"
        payloads: dict[str, dict[str, object]] = dict(conn.execute(sa.select(sa.column("event_id"), sa.column("payload", sa.JSON))
                                     .select_from(sa.table("events"))).all())
    assert payloads["e1"] == {"kind": "crossing", "event_id": "e1", "plate": {
        "text": "77L12345", "text_raw": "77L-123.45", "country": "VN", "confidence": 0.9, "reads": 1}}
    assert payloads["e2"] == {"kind": "flag", "event_id": "e2", "plate": None, "details": {"zone": "桂"}}

    command.downgrade(alembic_config(engine), "0003")
    with engine.connect() as conn:
        keys: dict[str, str | None] = dict(conn.execute(sa.text("SELECT event_id, plate_key FROM crossings")).all())
    assert keys == {"c0": "77112345", "c1": "77112345", "c2": None}  # the old fold, for the old code
    upgrade(engine, "head")
