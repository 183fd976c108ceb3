"""MQTT sink against the local Mosquitto broker, with a real paho subscriber."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gatewatch.sinks.config import MqttConfig
from gatewatch.sinks.mqtt import MqttSink
from tests.sinks.helpers import CAMERA, GATE, make_crossing, make_flag, wait_for

BROKER = ("127.0.0.1", 1883)


class Subscriber:
    """Collects every message under ``prefix/#`` (retained ones included)."""

    def __init__(self, prefix: str) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}"
        )
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        try:
            self.client.connect(*BROKER)
        except OSError as exc:
            pytest.skip(f"no MQTT broker at {BROKER}: {exc}")
        self.client.loop_start()
        assert ready.wait(5)

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload.decode(), bool(msg.retain)))

    def on(self, topic: str) -> list[str]:
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def prefix() -> str:
    return f"gwtest-{uuid.uuid4().hex[:10]}"


def clear_retained(topic: str) -> None:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect(*BROKER)
    client.loop_start()
    client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_every_event_published_per_kind(prefix: str) -> None:
    sub = Subscriber(prefix)
    sink = MqttSink(MqttConfig(topic_prefix=prefix), gate=GATE, camera=CAMERA)
    base = f"{prefix}/{GATE}/{CAMERA}"
    try:
        assert sink.wait_connected(5)
        assert wait_for(lambda: sub.on(f"{base}/availability") == ["online"], 5)
        crossings = [make_crossing(i) for i in range(50)]
        flags = [make_flag(i) for i in range(5)]
        for event in crossings + flags:
            sink.emit(event)
        sink.close()
        assert wait_for(
            lambda: len(sub.on(f"{base}/crossing")) == 50 and len(sub.on(f"{base}/flag")) == 5, 10
        )
        assert [json.loads(p)["event_id"] for p in sub.on(f"{base}/crossing")] == [
            str(e.event_id) for e in crossings
        ]
        assert {json.loads(p)["event_id"] for p in sub.on(f"{base}/flag")} == {str(e.event_id) for e in flags}
        assert wait_for(lambda: sub.on(f"{base}/availability")[-1:] == ["offline"], 5)
        sub.close()
        late = Subscriber(prefix)  # a newcomer sees the retained state
        assert wait_for(lambda: late.on(f"{base}/availability") == ["offline"], 5)
        late.close()
    finally:
        clear_retained(f"{base}/availability")


def test_last_will_on_killed_edge(prefix: str) -> None:
    sub = Subscriber(prefix)
    base = f"{prefix}/{GATE}/{CAMERA}"
    code = (
        "import sys, time; from gatewatch.sinks.config import MqttConfig; from gatewatch.sinks.mqtt import MqttSink\n"
        f"s = MqttSink(MqttConfig(topic_prefix={prefix!r}), gate={GATE!r}, camera={CAMERA!r})\n"
        "assert s.wait_connected(5); print('up', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        assert wait_for(lambda: sub.on(f"{base}/availability") == ["online"], 5)
        proc.kill()  # no clean disconnect: the broker sends the will
        proc.wait(5)
        assert wait_for(lambda: sub.on(f"{base}/availability") == ["online", "offline"], 10)
    finally:
        proc.kill()
        sub.close()
        clear_retained(f"{base}/availability")
