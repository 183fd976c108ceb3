"""MQTT sink: every event published as JSON, frigate-style topics, retained availability.

Topics (``prefix`` defaults to ``gatewatch``)::

    <prefix>/<gate>/<camera>/crossing       one message per crossing (QoS 1)
    <prefix>/<gate>/<camera>/flag           one message per flag start / update / end
    <prefix>/<gate>/<camera>/availability   "online" / "offline", retained; "offline" is
                                            also the last will, sent by the broker if the
                                            edge box vanishes

MQTT is the live feed for dashboards and gate automation, not the record: the loss-free
path is the outbox. While the broker is away, paho keeps up to ``max_queued`` QoS>0
messages in memory and sends them on reconnect (it reconnects by itself).

Example::

    >>> sink = MqttSink(MqttConfig(host="127.0.0.1"), gate="huu-nghi", camera="cam-1")
    >>> sink.emit(event)      # -> gatewatch/huu-nghi/cam-1/crossing
    >>> sink.close()          # publishes "offline", waits for in-flight messages, disconnects
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gatewatch.contract import Event

if TYPE_CHECKING:
    from gatewatch.sinks.config import MqttConfig

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"
_BAD_TOPIC_CHARS = re.compile(r"[/+#\s\x00]+")


def topic_segment(name: str) -> str:
    """A gate or camera name made safe as one topic level (no ``/``, ``+``, ``#`` or spaces)."""
    return _BAD_TOPIC_CHARS.sub("_", name.strip()) or "_"


class MqttSink:
    """Publishes events to an MQTT broker (paho-mqtt 2, background network thread)."""

    def __init__(self, config: MqttConfig, gate: str, camera: str) -> None:
        self.config = config
        self.base_topic = f"{config.topic_prefix.rstrip('/')}/{topic_segment(gate)}/{topic_segment(camera)}"
        self.availability_topic = f"{self.base_topic}/availability"
        self.published = 0
        self.dropped = 0
        self._connected = threading.Event()
        client_id = config.client_id or f"gatewatch-{topic_segment(gate)}-{topic_segment(camera)}"
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        if config.username:
            self._client.username_pw_set(config.username, config.resolved_password())
        if config.tls:
            self._client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        self._client.max_queued_messages_set(config.max_queued)
        self._client.reconnect_delay_set(min_delay=1, max_delay=int(config.reconnect_max_s))
        self._client.will_set(self.availability_topic, OFFLINE, qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        # Asynchronous connect: the edge starts even when the broker is down, paho retries.
        self._client.connect_async(config.host, config.port, keepalive=config.keepalive_s)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("mqtt: %s:%d refused the connection: %s", self.config.host, self.config.port, reason)
            return
        log.info(
            "mqtt: connected to %s:%d, publishing under %s/",
            self.config.host,
            self.config.port,
            self.base_topic,
        )
        client.publish(self.availability_topic, ONLINE, qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        if reason.is_failure:
            log.warning("mqtt: lost the broker (%s); reconnecting, messages queue meanwhile", reason)

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until connected (tests, start-up checks)."""
        return self._connected.wait(timeout_s)

    def topic_for(self, event: Event) -> str:
        """``<prefix>/<gate>/<camera>/<kind>`` for the event's own gate and camera."""
        return f"{self.config.topic_prefix.rstrip('/')}/{topic_segment(event.gate)}/{topic_segment(event.camera)}/{event.kind}"

    def emit(self, event: Event) -> None:
        """Queue the event for publishing; never blocks on the network."""
        info = self._client.publish(self.topic_for(event), event.model_dump_json(), qos=self.config.qos)
        if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):  # NO_CONN: queued for reconnect
            self.published += 1
        else:
            self.dropped += 1
            log.warning("mqtt: event %s not queued (%s)", event.event_id, mqtt.error_string(info.rc))

    def close(self) -> None:
        """Publish ``offline`` (retained), wait for in-flight messages, disconnect."""
        deadline = time.monotonic() + self.config.close_timeout_s
        if self._connected.is_set():
            info = self._client.publish(self.availability_topic, OFFLINE, qos=1, retain=True)
            while self._client.want_write() or self._unacked() > 0:
                if time.monotonic() > deadline:
                    log.warning("mqtt: %d messages unacknowledged at close", self._unacked())
                    break
                time.sleep(0.02)
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as exc:
                log.warning("mqtt: 'offline' not sent at close (%s)", exc)
        self._client.disconnect()
        self._client.loop_stop()

    def _unacked(self) -> int:
        # paho keeps QoS>0 messages in ``_out_messages`` until PUBACK; no public accessor exists.
        return len(getattr(self._client, "_out_messages", ()))
