"""The ``delivery:`` and ``mqtt:`` sections of a camera YAML: where events leave the edge box.

Pydantic models only (no httpx or paho at import); ``CameraConfig`` composes them and
``gatewatch.sinks.factory.build_sinks`` turns them into sinks. Secrets are ``SecretStr`` or
named environment variables, read only when the sink is built.

Example (camera YAML)::

    delivery:
      api_url: http://gate-api.local:8000
      api_key_env: GATEWATCH_API_KEY
      outbox_path: /var/lib/gatewatch/outbox.sqlite
      max_disk_mb: 2048
    mqtt:
      host: 127.0.0.1
      topic_prefix: gatewatch
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from gatewatch.errors import ConfigError
from gatewatch.strict import Strict

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class RetryConfig(Strict):
    """Backoff between failed deliveries: ``min(max_s, initial_s * 2**(n-1)) + random(0, jitter_s)``."""

    initial_s: float = Field(1.0, gt=0, le=60, description="Wait after the first failure, seconds.")
    max_s: float = Field(60.0, gt=0, le=3600, description="Longest wait between attempts, seconds.")
    jitter_s: float = Field(1.0, ge=0, le=60, description="Random extra wait added to each backoff, seconds.")

    @model_validator(mode="after")
    def _ordered(self) -> RetryConfig:
        if self.max_s < self.initial_s:
            raise ValueError("max_s must be at least initial_s")
        return self


class DeliveryConfig(Strict):
    """Loss-free delivery of events and evidence images to the gate API through a local outbox."""

    api_url: str = Field(
        min_length=8, max_length=500, description="Base URL of the gate API, e.g. http://gate-api:8000."
    )
    api_key: SecretStr | None = Field(None, description="Edge-box API key (X-API-Key); prefer api_key_env.")
    api_key_env: str | None = Field(
        None, pattern=_ENV_NAME, description="Name of the environment variable holding the API key."
    )
    outbox_path: Path = Field(
        Path("outbox/gatewatch-outbox.sqlite"),
        description="Outbox SQLite file; evidence copies go to '<file>.evidence/' beside it.",
    )
    batch_size: int = Field(100, ge=1, le=5000, description="Most events per POST.")
    max_disk_mb: float = Field(
        512.0,
        ge=1,
        le=1_000_000,
        description="Disk bound of the outbox (events are never dropped; see policy).",
    )
    retain_delivered_h: float = Field(
        24.0, ge=0, le=24 * 365, description="Keep delivered events this long for inspection, then purge."
    )
    set_aside_after: int = Field(
        5,
        ge=1,
        le=1000,
        description="Set an event aside after this many HTTP 500s sent alone while the API stored others.",
    )
    memory_mb: float = Field(
        64.0, ge=1, le=100_000, description="Memory for events the disk will not take (full); images go first."
    )
    send_evidence: bool = Field(
        True, description="Upload the crop / snapshot / plate images after each event."
    )
    retry: RetryConfig = RetryConfig()
    connect_timeout_s: float = Field(5.0, gt=0, le=120, description="TCP/TLS connect timeout per request.")
    read_timeout_s: float = Field(15.0, gt=0, le=600, description="Timeout waiting for the API's answer.")
    close_grace_s: float = Field(
        10.0, ge=0, le=600, description="At shutdown, keep delivering the backlog for up to this long."
    )
    log_interval_s: float = Field(60.0, ge=1, le=86_400, description="Period of the backlog log line.")

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("api_url must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_key(self) -> DeliveryConfig:
        if (self.api_key is None) == (self.api_key_env is None):
            raise ValueError("give exactly one of api_key or api_key_env")
        return self

    def resolved_api_key(self) -> str:
        """The key itself; raises ``ConfigError`` when ``api_key_env`` names an unset variable."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        value = os.environ.get(self.api_key_env or "", "")
        if not value:
            raise ConfigError(f"delivery.api_key_env: environment variable {self.api_key_env} is not set")
        return value


class MqttConfig(Strict):
    """Publishing events to an MQTT broker (frigate-style topics, retained availability, last will)."""

    host: str = Field("127.0.0.1", min_length=1, max_length=253, description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (8883 usually with tls).")
    topic_prefix: str = Field(
        "gatewatch",
        min_length=1,
        max_length=200,
        description="First topic level(s): '<prefix>/<gate>/<camera>/...'.",
    )
    qos: int = Field(1, ge=0, le=2, description="QoS of event messages.")
    client_id: str | None = Field(
        None, max_length=128, description="MQTT client id; default 'gatewatch-<gate>-<camera>'."
    )
    username: str | None = Field(None, max_length=200, description="Broker user name.")
    password: SecretStr | None = Field(None, description="Broker password; prefer password_env.")
    password_env: str | None = Field(
        None, pattern=_ENV_NAME, description="Name of the environment variable holding the password."
    )
    tls: bool = Field(
        False, description="Connect with TLS, checking the broker's certificate with system CAs."
    )
    keepalive_s: int = Field(
        60, ge=5, le=3600, description="MQTT keepalive; the broker sends the will after 1.5x."
    )
    reconnect_max_s: float = Field(
        30.0, ge=1, le=3600, description="Longest wait between reconnect attempts."
    )
    max_queued: int = Field(
        10_000, ge=1, le=10_000_000, description="Messages kept in memory while the broker is away."
    )
    close_timeout_s: float = Field(
        5.0, ge=0, le=120, description="At shutdown, wait this long for in-flight messages."
    )

    @field_validator("topic_prefix")
    @classmethod
    def _no_wildcards(cls, value: str) -> str:
        if any(c in value for c in "+#") or value.startswith("/") or "//" in value:
            raise ValueError("topic_prefix must not contain '+', '#', empty levels or a leading '/'")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_password(self) -> MqttConfig:
        if self.password is not None and self.password_env is not None:
            raise ValueError("give at most one of password or password_env")
        if (self.password is not None or self.password_env is not None) and not self.username:
            raise ValueError("a password needs a username")
        return self

    def resolved_password(self) -> str | None:
        """The password, read from ``password_env`` when that is set."""
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(f"mqtt.password_env: environment variable {self.password_env} is not set")
            return value
        return None
