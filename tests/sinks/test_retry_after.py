"""A 503 with ``Retry-After`` in front of the real gate API: the sender waits as told, then delivers all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from gatewatch.sinks.http import RETRY_AFTER_MAX_S, ApiClient, parse_retry_after
from gatewatch.sinks.outbox import Outbox, OutboxSink, RetryPolicy
from tests.sinks.helpers import ApiServer, LoopbackProxy, make_crossing

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("999999", RETRY_AFTER_MAX_S),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),  # a date in the past: now
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


class _Maintenance(LoopbackProxy):
    """A reverse proxy to the API that answers the first ``refuse`` requests 503 (with ``retry_after``)."""

    def __init__(self, upstream: str, refuse: int, retry_after: str | None) -> None:
        self.times: list[float] = []
        self.refuse, self.retry_after = refuse, retry_after
        super().__init__(upstream)

    def intercept(self, command: str, body: bytes) -> tuple[int, bytes, dict[str, str]] | None:
        self.times.append(time.monotonic())
        if len(self.times) > self.refuse:
            return None
        headers = {"Content-Type": "text/plain"}
        if self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        return 503, b"maintenance", headers


@pytest.fixture
def maintenance(request: pytest.FixtureRequest, api: ApiServer) -> Iterator[_Maintenance]:
    proxy = _Maintenance(api.url, refuse=2, retry_after=request.param)
    yield proxy
    proxy.close()


@pytest.mark.parametrize(
    ("maintenance", "min_gap_s", "max_gap_s"),
    [("1", 0.95, 5.0), (None, 0.0, 0.9)],  # backoff alone here: 0.1-0.2 s + up to 0.1 s jitter
    indirect=["maintenance"],
    ids=["retry-after-1s", "no-header"],
)
def test_sender_waits_as_told_then_delivers(
    tmp_path: Path, api: ApiServer, api_key: str, maintenance: _Maintenance, min_gap_s: float, max_gap_s: float
) -> None:
    client = ApiClient(maintenance.url, api_key, connect_timeout_s=1.0, read_timeout_s=5.0)
    retry = RetryPolicy(initial_s=0.1, max_s=0.5, jitter_s=0.1)
    sink = OutboxSink(Outbox(tmp_path / "o.sqlite"), client, retry=retry, close_grace_s=5.0, batch_size=10)
    events = [make_crossing(i) for i in range(4)]
    for event in events:
        sink.emit(event)
    assert sink.wait_idle(30)
    sink.close()
    gaps = [b - a for a, b in zip(maintenance.times[:3], maintenance.times[1:3], strict=False)]
    assert len(gaps) == 2
    assert all(min_gap_s <= gap <= max_gap_s for gap in gaps), gaps
    assert {str(e.event_id) for e in events} <= set(api.event_ids())
    assert Outbox(tmp_path / "o.sqlite").stats().pending_events == 0
