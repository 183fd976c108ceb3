"""Service settings, read from the environment (prefix ``GATEWATCH_``) or passed in directly.

Example::

    >>> s = Settings(database_url="sqlite:///tmp/gw.db", evidence_dir="/tmp/evidence")
    >>> s.max_batch_events
    500
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gatewatch.errors import ConfigError


class Settings(BaseSettings):
    """Everything the API needs to start; a bad value fails at start with the field's name."""

    model_config = SettingsConfigDict(env_prefix="GATEWATCH_", extra="forbid", frozen=True)

    database_url: str = Field(
        "sqlite:///gatewatch.db",
        description="SQLAlchemy URL: sqlite:///path.db (default, WAL mode) or postgresql+psycopg://user@host/db.",
    )
    evidence_dir: Path = Field(Path("evidence"), description="Folder for evidence images, stored by sha256.")
    jwt_secret: SecretStr | None = Field(
        None, description="HS256 secret for operator tokens; when unset, one made once and kept in the database."
    )
    token_ttl_minutes: int = Field(720, ge=1, le=60 * 24 * 30, description="Lifetime of an operator token.")
    login_window_s: int = Field(
        900, ge=10, le=24 * 3600, description="Seconds a failed sign-in counts against its username and address."
    )
    login_max_failures_per_user_address: int = Field(
        10, ge=1, le=10_000,
        description="Failed sign-ins for one username from one client address within the window before 429.",
    )
    login_max_failures_per_user: int = Field(
        100, ge=1, le=100_000,
        description="Failed sign-ins for one username from all addresses together within the window before 429.",
    )
    login_max_failures_per_address: int = Field(
        50, ge=1, le=100_000, description="Failed sign-ins from one client address within the window before 429."
    )
    password_workers: int = Field(
        2, ge=1, le=32, description="Threads that run bcrypt for sign-in and password change (nothing else waits on them)."
    )
    metrics_token: SecretStr | None = Field(
        None, min_length=32, description="Static bearer secret a Prometheus scraper may use for /metrics (32+ chars)."
    )
    max_batch_events: int = Field(500, ge=1, le=100_000, description="Most events one ingest batch may hold.")
    max_upload_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="Largest evidence image accepted.")
    max_body_bytes: int | None = Field(
        None, ge=1024, description="Largest ingest body; none: max_batch_events x gatewatch.contract.MAX_EVENT_BYTES + 64 KiB."
    )
    timezone: str = Field("Asia/Ho_Chi_Minh", description="Local time zone for day buckets and 'today'.")
    daily_truck_capacity: int = Field(
        1000, ge=1, le=1_000_000, description="Truck crossings a gate is planned for per local day (the Today board's gauge)."
    )
    migrate_on_start: bool = Field(True, description="Run Alembic migrations to head when the app is built.")
    docs_enabled: bool = Field(True, description="Serve /docs and /openapi.json (schema only, no data).")
    sql_echo: bool = Field(False, description="Log every SQL statement (debugging).")

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be a sqlite:// or postgresql:// URL")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The local time zone as a ``ZoneInfo``."""
        return ZoneInfo(self.timezone)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning a validation error into a ``ConfigError``."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # field values of any type: pydantic checks them
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"GATEWATCH_{field.upper()}: {first['msg']}") from exc
