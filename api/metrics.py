"""Prometheus metrics, one registry per app (so several apps can live in one process, e.g. tests)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ApiMetrics:
    """Ingest rates, duplicates, refused batches, open-flag queue length, request latency."""

    def __init__(self, open_flags: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter("gatewatch_events_ingested", "New events stored, by kind", ["kind"],
                              registry=self.registry)
        self.duplicates = Counter("gatewatch_events_duplicate", "Events skipped as already stored",
                                  registry=self.registry)
        self.batches = Counter("gatewatch_ingest_batches", "Ingest batches by outcome", ["outcome"],
                               registry=self.registry)
        self.evidence_bytes = Counter("gatewatch_evidence_bytes", "Evidence bytes received", registry=self.registry)
        self.open_flags = Gauge("gatewatch_open_flags", "Flags waiting for review", registry=self.registry)
        self.open_flags.set_function(open_flags)
        self.latency = Histogram(
            "gatewatch_http_request_duration_seconds", "Request latency by route", ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=self.registry,
        )
