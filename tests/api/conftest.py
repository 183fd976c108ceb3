"""Fixtures for the gate API tests: one app per backend (SQLite file, fresh PostgreSQL database).

Every test that takes ``client`` runs on both backends. Data tables are emptied before each
test; users and API keys are made once per backend (bcrypt is slow on purpose).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gatewatch.api.app import create_app
from gatewatch.api.auth import create_token, create_user, new_api_key
from gatewatch.api.settings import Settings
from tests.api.helpers import PG_HOST, PG_PORT, Env, pg_admin

DATA_TABLES = ("flag_reviews", "evidence", "crossings", "flags", "events", "holds")
VIDEO = Path(__file__).resolve().parents[3] / "shared" / "assets" / "videos" / "highway_cctv_trucks_320x240.avi"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for this test session, dropped afterwards."""
    try:
        admin, user = pg_admin()
    except ConnectionError as exc:
        pytest.skip(f"no PostgreSQL server answers on {PG_HOST}:{PG_PORT}: {exc}")
    name = f"gatewatch_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The app on each backend, migrated, with an admin, an operator and four API keys."""
    root = tmp_path_factory.mktemp(f"api-{request.param}")
    url = f"sqlite:///{root}/gatewatch.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    settings = Settings(database_url=url, evidence_dir=root / "evidence", jwt_secret="test-secret-" + "x" * 32,
                        max_upload_bytes=256 * 1024, max_batch_events=50)
    app = create_app(settings)
    secret = app.state.jwt_secret
    with app.state.sessionmaker() as session:
        admin = create_user(session, "admin", "admin-password", "admin")
        operator = create_user(session, "olga", "operator-password", "operator")
        keys = [new_api_key(session, g, c).key for g, c in (("g1", "cam-1"), ("g1", "*"), ("g2", "cam-1"))]
        revoked = new_api_key(session, "g1", "cam-1")
        revoked.record.revoked_at = datetime.now(timezone.utc)
        session.commit()
        ttl = timedelta(hours=1)
        yield Env(request.param, app, settings, create_token(secret, admin, ttl), create_token(secret, operator, ttl),
                  *keys, revoked_key=revoked.key)
    app.state.engine.dispose()


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    """A client on a clean database (data tables emptied; users and keys kept)."""
    with env.app.state.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in DATA_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
    with TestClient(env.app) as c:
        yield c


@pytest.fixture(scope="session")
def frame_jpeg(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real JPEG: frame 40 of the highway CCTV clip, encoded with OpenCV (never copied into the repo)."""
    cv2 = pytest.importorskip("cv2")
    if not VIDEO.exists():
        pytest.skip(f"asset video missing: {VIDEO}")
    cap = cv2.VideoCapture(str(VIDEO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 40)
    ok, frame = cap.read()
    cap.release()
    assert ok, "cannot read a frame from the asset video"
    ok, buf = cv2.imencode(".jpg", frame[60:220, 20:300])
    assert ok
    path = tmp_path_factory.mktemp("frames") / "frame40.jpg"
    path.write_bytes(buf.tobytes())
    return path.read_bytes()


@pytest.fixture(scope="session")
def frame_png(frame_jpeg: bytes) -> bytes:
    """The same frame as PNG."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(frame_jpeg, np.uint8), cv2.IMREAD_COLOR)
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()
