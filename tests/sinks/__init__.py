"""Tests of gatewatch.sinks: JSONL, MQTT, HTTP and the outbox, against the real API."""
