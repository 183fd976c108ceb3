"""Delivery and MQTT config models: a table of good and bad settings; the factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gatewatch.errors import ConfigError
from gatewatch.sinks import FanoutSink, JsonlSink, MemorySink
from gatewatch.sinks.config import DeliveryConfig, MqttConfig
from gatewatch.sinks.factory import build_sinks
from gatewatch.sinks.mqtt import MqttSink
from gatewatch.sinks.outbox import OutboxSink
from tests.sinks.helpers import make_crossing

URL = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"api_url": URL, "api_key": "k"}, None),
        (
            {"api_url": URL + "/", "api_key_env": "GW_KEY", "batch_size": 500, "retry": {"initial_s": 0.5}},
            None,
        ),
        ({"api_url": URL, "api_key": "k", "api_key_env": "GW_KEY"}, "exactly one of api_key"),
        ({"api_url": URL}, "exactly one of api_key"),
        ({"api_url": "ftp://x.example", "api_key": "k"}, "api_url"),
        ({"api_url": URL, "api_key": "k", "batch_size": 0}, "batch_size"),
        ({"api_url": URL, "api_key": "k", "max_disk_mb": 0.5}, "max_disk_mb"),
        ({"api_url": URL, "api_key": "k", "retry": {"initial_s": 10, "max_s": 5}}, "max_s"),
        ({"api_url": URL, "api_key": "k", "bogus": 1}, "bogus"),
        ({"api_url": URL, "api_key_env": "not a name"}, "api_key_env"),
    ],
)
def test_delivery_config(data: dict[str, Any], error: str | None) -> None:
    if error is None:
        assert DeliveryConfig.model_validate(data).api_url == URL
    else:
        with pytest.raises(ValidationError, match=error):
            DeliveryConfig.model_validate(data)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, None),
        ({"host": "broker", "port": 8883, "tls": True, "qos": 2, "topic_prefix": "site/gw/"}, None),
        ({"port": 0}, "port"),
        ({"qos": 3}, "qos"),
        ({"topic_prefix": "a/+/b"}, "topic_prefix"),
        ({"password": "x"}, "username"),
        ({"username": "u", "password": "x", "password_env": "P"}, "at most one"),
        ({"keepalive": 5}, "keepalive"),
    ],
)
def test_mqtt_config(data: dict[str, Any], error: str | None) -> None:
    if error is None:
        assert not MqttConfig.model_validate(data).topic_prefix.endswith("/")
    else:
        with pytest.raises(ValidationError, match=error):
            MqttConfig.model_validate(data)


def test_build_sinks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    delivery = DeliveryConfig(
        api_url=URL, api_key_env="GW_TEST_KEY", outbox_path=tmp_path / "o.sqlite", close_grace_s=0
    )
    with pytest.raises(ConfigError, match="GW_TEST_KEY"):
        build_sinks(delivery, None, "g", "c")
    monkeypatch.setenv("GW_TEST_KEY", "gwk_x")
    sinks = build_sinks(delivery, MqttConfig(), "g", "c")
    try:
        assert [type(s) for s in sinks] == [OutboxSink, MqttSink]
        assert sinks[0].outbox.path == tmp_path / "o.sqlite"
    finally:
        for sink in sinks:
            sink.close()
    assert build_sinks(None, None, "g", "c") == []


def test_camera_config_keeps_secrets_and_reads_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``delivery:`` / ``mqtt:`` are typed in the camera config: secrets stay hidden, env keys resolve at build."""
    from gatewatch.config import parse_config
    from gatewatch.vision.runner import build_sinks as build_camera_sinks

    base = {"gate": "g", "camera": "c", "source": {"uri": "x.mp4"},
            "lanes": [{"id": "a", "line": [[0, 1], [9, 1]], "entry_heading": "down"}],
            "output": {"events": str(tmp_path / "events.jsonl")}}
    config = parse_config(base | {
        "delivery": {"api_url": URL, "api_key": "gwk_secret", "outbox_path": str(tmp_path / "o.sqlite")},
        "mqtt": {"username": "u", "password_env": "GW_TEST_MQTT_PW"},
    })
    assert "gwk_secret" not in repr(config) and "gwk_secret" not in config.model_dump_json()
    assert config.delivery is not None and config.delivery.resolved_api_key() == "gwk_secret"
    assert config.mqtt is not None
    with pytest.raises(ConfigError, match="mqtt.password_env: environment variable GW_TEST_MQTT_PW is not set"):
        config.mqtt.resolved_password()
    monkeypatch.setenv("GW_TEST_MQTT_PW", "pw")
    assert config.mqtt.resolved_password() == "pw"

    env_config = parse_config(base | {"delivery": {"api_url": URL, "api_key_env": "GW_TEST_KEY2",
                                                   "outbox_path": str(tmp_path / "e.sqlite"), "close_grace_s": 0}})
    with pytest.raises(ConfigError, match="delivery.api_key_env: environment variable GW_TEST_KEY2 is not set"):
        build_camera_sinks(env_config)
    monkeypatch.setenv("GW_TEST_KEY2", "gwk_env")
    sinks = build_camera_sinks(env_config)
    try:
        assert [type(s) for s in sinks] == [OutboxSink, JsonlSink]
    finally:
        for sink in sinks:
            sink.close()


class _BrokenSink:
    """A sink whose every call fails (a bug or a broken link in one sink)."""

    def emit(self, event: object) -> None:
        raise RuntimeError("sink bug")

    def close(self) -> None:
        raise RuntimeError("close bug")


def test_fanout_keeps_feeding_the_other_sinks_when_one_fails(tmp_path, caplog) -> None:
    memory, jsonl = MemorySink(), JsonlSink(tmp_path / "events.jsonl")
    fanout = FanoutSink([_BrokenSink(), jsonl, memory])  # type: ignore[list-item]
    events = [make_crossing(i) for i in range(3)]
    with caplog.at_level("ERROR", logger="gatewatch.sinks"):
        for event in events:
            fanout.emit(event)
        fanout.close()  # the broken sink's close does not keep the file from being closed
    assert [e.event_id for e in memory.events] == [e.event_id for e in events]
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) == 3
    assert fanout.failures == {"_BrokenSink": 3}
    assert sum("failed on event" in r.getMessage() for r in caplog.records) == 3
