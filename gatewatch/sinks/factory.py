"""Sinks built from the ``delivery:`` and ``mqtt:`` sections: the outbox to the gate API, then MQTT.

Example::

    >>> sinks = build_sinks(DeliveryConfig(api_url="http://127.0.0.1:8000", api_key="gwk_..."), None,
    ...                     gate="huu-nghi", camera="cam-1")
    >>> [type(s).__name__ for s in sinks]
    ['OutboxSink']
"""

from __future__ import annotations

import logging
import shutil
from typing import TYPE_CHECKING

from gatewatch.sinks.config import DeliveryConfig, MqttConfig

if TYPE_CHECKING:
    from gatewatch.sinks import EventSink
    from gatewatch.sinks.outbox import OutboxSink

log = logging.getLogger(__name__)


def build_outbox_sink(delivery: DeliveryConfig) -> OutboxSink:
    """The ``OutboxSink`` for a delivery config (opens the outbox, starts the sender thread)."""
    from gatewatch.sinks.http import ApiClient
    from gatewatch.sinks.outbox import Outbox, OutboxError, OutboxSink, RetryPolicy

    key = delivery.resolved_api_key()

    def open_outbox() -> Outbox:
        return Outbox(
            delivery.outbox_path, max_disk_mb=delivery.max_disk_mb, retain_delivered_h=delivery.retain_delivered_h
        )

    open_outbox.path = delivery.outbox_path  # type: ignore[attr-defined]  # shown by stats() until open
    outbox: Outbox | None
    try:
        outbox = open_outbox()
    except OutboxError as exc:
        folder = delivery.outbox_path.resolve().parent
        if not folder.is_dir() or shutil.disk_usage(folder).free >= 1_000_000:
            raise
        log.error("outbox %s cannot be opened on a full disk (%s); holding events in memory until it can",
                  delivery.outbox_path, exc)  # fmt: skip
        outbox = None
    client = ApiClient(
        delivery.api_url,
        key,
        connect_timeout_s=delivery.connect_timeout_s,
        read_timeout_s=delivery.read_timeout_s,
    )
    return OutboxSink(
        outbox,
        client,
        batch_size=delivery.batch_size,
        retry=RetryPolicy(delivery.retry.initial_s, delivery.retry.max_s, delivery.retry.jitter_s),
        close_grace_s=delivery.close_grace_s,
        log_interval_s=delivery.log_interval_s,
        send_evidence=delivery.send_evidence,
        set_aside_after=delivery.set_aside_after,
        memory_mb=delivery.memory_mb,
        opener=open_outbox,
    )


def build_sinks(
    delivery: DeliveryConfig | None, mqtt: MqttConfig | None, gate: str, camera: str
) -> list[EventSink]:
    """Sinks for the configured delivery paths: the outbox first (durable), then MQTT.

    Raises ``ConfigError`` for a missing key variable and ``OutboxError`` for an outbox file
    that cannot be opened. Close every returned sink at shutdown (``OutboxSink.close`` flushes).
    """
    sinks: list[EventSink] = []
    try:
        if delivery is not None:
            sinks.append(build_outbox_sink(delivery))
        if mqtt is not None:
            from gatewatch.sinks.mqtt import MqttSink

            mqtt.resolved_password()  # fail at start, not in paho's thread
            sinks.append(MqttSink(mqtt, gate=gate, camera=camera))
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    return sinks
