"""Plates, settings, migrations vs models, and the CLI on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from gatewatch.api.plates import fuzzy_match
from gatewatch.api.settings import Settings, load_settings
from gatewatch.cli import main
from gatewatch.contract import fold_lookalikes, plate_key
from gatewatch.errors import ConfigError
from tests.api.helpers import Env


@pytest.mark.parametrize(("raw", "expected"), [
    ("29C-123.45", "29C12345"), ("51f 123 45", "51F12345"), ("桂A·12345", "桂A12345"), ("--", ""),
])
def test_normalise(raw: str, expected: str) -> None:
    assert plate_key(raw) == expected


@pytest.mark.parametrize(("a", "b", "match"), [
    ("29C12345", "29C12345", True), ("29C12345", "29CI2345", True), ("29C12345", "29C1234", True),
    ("29C12345", "29C123456", True), ("51F67890", "5IF67B9O", True), ("29C12345", "29C12399", False),
    ("29C12345", "30A99988", False), ("29C12345", "29C-12-345", True),
])
def test_fuzzy_match(a: str, b: str, match: bool) -> None:
    assert fuzzy_match(a, b) is match
    assert fuzzy_match(b, a) is match


def test_fuzzy_search_folds_lookalikes_but_not_the_key() -> None:
    assert fold_lookalikes(plate_key("OIBSZG")) == fold_lookalikes(plate_key("018526")) == "018526"
    assert plate_key("OIBSZG") == "OIBSZG"  # the stored key folds nothing
    assert fold_lookalikes("77L12345") == "77L12345"  # L is a series letter, never 1


@pytest.mark.parametrize(("env_var", "value", "mentions"), [
    ("GATEWATCH_DATABASE_URL", "mysql://x", "DATABASE_URL"),
    ("GATEWATCH_MAX_BATCH_EVENTS", "0", "MAX_BATCH_EVENTS"),
    ("GATEWATCH_TIMEZONE", "Mars/Olympus", "TIMEZONE"),
])
def test_bad_settings_name_the_field(monkeypatch: pytest.MonkeyPatch, env_var: str, value: str, mentions: str) -> None:
    monkeypatch.setenv(env_var, value)
    with pytest.raises(ConfigError, match=mentions):
        load_settings()


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GATEWATCH_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("GATEWATCH_EVIDENCE_DIR", str(tmp_path))
    s = Settings()
    assert s.database_url == "postgresql+psycopg://u@h/db" and s.evidence_dir == tmp_path
    assert s.max_batch_events == 500 and s.max_upload_bytes == 5 * 1024 * 1024


def test_migrations_match_the_models(env: Env) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gatewatch.api.models import Base

    engine = create_engine(env.settings.database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_cli_users_keys_and_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    monkeypatch.setenv("GATEWATCH_NEW_PASSWORD", "a-long-password")
    assert main(["users", "add", "anh", "--role", "admin", "--database-url", url]) == 0
    assert main(["users", "add", "anh", "--database-url", url]) == 2
    assert "already exists" in capsys.readouterr().err
    capsys.readouterr()
    assert main(["keys", "create", "--gate", "huu-nghi", "--camera", "cam-1", "--database-url", url]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("gwk_")
    settings = Settings(database_url=url, evidence_dir=tmp_path / "ev")
    from gatewatch.api.auth import create_api_key, lookup_api_key
    from gatewatch.api.db import make_engine, make_sessionmaker

    assert create_api_key(settings, "huu-nghi", "*").startswith("gwk_")
    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        record = lookup_api_key(session, key)
        assert record is not None and (record.gate, record.camera) == ("huu-nghi", "cam-1")
    engine.dispose()
    assert main(["keys", "list", "--database-url", url]) == 0
    assert "huu-nghi\tcam-1\tactive" in capsys.readouterr().out
    assert main(["keys", "revoke", "1", "--database-url", url]) == 0
    assert main(["keys", "revoke", "99", "--database-url", url]) == 2
    assert main(["keys"]) == 2
    assert main(["serve", "--database-url", "mysql://nope"]) == 2


def test_stored_secret_race_keeps_the_first(env: Env) -> None:
    """A worker that lost the race to insert the key reads the winner's (real IntegrityError on each backend)."""
    from gatewatch.api.auth import stored_secret
    from gatewatch.api.models import AppSecret

    sessions = env.app.state.sessionmaker
    with sessions() as winner:
        first = stored_secret(winner, "race-test")
    with sessions() as loser:
        real_get = loser.get
        calls = {"n": 0}

        def stale_get(*args: object, **kwargs: object) -> object:
            calls["n"] += 1
            return None if calls["n"] == 1 else real_get(*args, **kwargs)  # it looked before the winner's commit

        loser.get = stale_get  # type: ignore[method-assign]
        assert stored_secret(loser, "race-test") == first
    with sessions() as check:
        assert check.query(AppSecret).filter_by(name="race-test").count() == 1
