"""An event the API keeps failing on (500) or conflicts with (409) is set aside; an outage never sets one aside.

A ``FaultProxy`` in front of the real API (uvicorn + SQLite) plays the faulty API; everything it does
not fail is stored by the real API.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gatewatch.cli import main
from gatewatch.sinks.http import ApiClient
from gatewatch.sinks.outbox import Outbox, OutboxSink, RetryPolicy
from tests.sinks.helpers import ApiServer, FaultProxy, free_port, make_crossing

FAST_RETRY = RetryPolicy(initial_s=0.05, max_s=0.3, jitter_s=0.05)


def sink_for(path: Path, url: str, key: str, **kwargs: object) -> OutboxSink:
    client = ApiClient(url, key, connect_timeout_s=1.0, read_timeout_s=3.0)
    options: dict[str, object] = {"retry": FAST_RETRY, "close_grace_s": 2.0, "batch_size": 50,
                                  "idle_poll_s": 0.05, "set_aside_after": 3, **kwargs}  # fmt: skip
    return OutboxSink(Outbox(path), client, **options)  # type: ignore[arg-type]


def test_poisoned_event_set_aside_rest_delivered_then_resent(
    tmp_path: Path, api: ApiServer, api_key: str, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "o.sqlite"
    poison = make_crossing(500)
    events = [make_crossing(i) for i in range(10)] + [poison] + [make_crossing(i) for i in range(10, 20)]
    fault_proxy.poisoned.add(str(poison.event_id))
    sink = sink_for(path, fault_proxy.url, api_key)
    for event in events:
        sink.emit(event)
    # The gate keeps producing: each later event the API stores is proof it answers, so the poison's
    # lone failures count; after 3 it is set aside.
    deadline = time.monotonic() + 60
    i = 20
    while sink.stats().rejected_events == 0 and time.monotonic() < deadline:
        events.append(make_crossing(i))
        sink.emit(events[-1])
        i += 1
        time.sleep(0.1)
    assert sink.wait_idle(30)
    sink.close()
    good = [str(e.event_id) for e in events if e is not poison]
    stored = api.event_ids()
    assert sorted(set(good) & set(stored)) == sorted(good)  # every other event delivered
    assert str(poison.event_id) not in stored
    assert all(stored.count(event_id) == 1 for event_id in good)
    outbox = Outbox(path, read_only=True)
    [(event_id, reason, status)] = outbox.rejected()
    stats = outbox.stats()
    outbox.close()
    assert (event_id, status) == (str(poison.event_id), 500)
    assert reason.startswith("HTTP 500 3 times when sent alone while the API stored other events")
    assert (stats.pending_events, stats.rejected_events, stats.rejected_total, stats.delivered_total) == (
        0, 1, 1, len(good),
    )  # fmt: skip
    # The operator sees it, the API is fixed, the operator re-sends it.
    assert main(["outbox", "aside", "--path", str(path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(row["event_id"], row["status"]) for row in listed] == [(str(poison.event_id), 500)]
    fault_proxy.poisoned.clear()
    assert main(["outbox", "resend", "--path", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "1 set-aside events queued again"
    sink = sink_for(path, fault_proxy.url, api_key)
    assert sink.wait_idle(20)
    sink.close()
    assert api.event_ids().count(str(poison.event_id)) == 1
    outbox = Outbox(path, read_only=True)
    assert (outbox.rejected(), outbox.stats().delivered_total) == ([], len(good) + 1)
    outbox.close()


def test_conflicting_event_set_aside_with_reason(
    tmp_path: Path, api: ApiServer, api_key: str, fault_proxy: FaultProxy
) -> None:
    path = tmp_path / "o.sqlite"
    events = [make_crossing(i) for i in range(12)]
    conflict = events[4]
    fault_proxy.conflicting.add(str(conflict.event_id))
    sink = sink_for(path, fault_proxy.url, api_key)
    for event in events:
        sink.emit(event)
    assert sink.wait_idle(20)
    sink.close()
    stored = set(api.event_ids())
    assert {str(e.event_id) for e in events if e is not conflict} <= stored
    assert str(conflict.event_id) not in stored
    outbox = Outbox(path, read_only=True)
    assert outbox.rejected() == [(str(conflict.event_id), "event_id already stored with different content", 409)]
    assert outbox.stats().delivered_total == 11
    outbox.close()
    assert fault_proxy.answers.count(409) == 1  # never retried


@pytest.mark.parametrize("outage", [500, 502, 503, 504, 429, "refused"])
def test_outage_never_sets_events_aside(
    tmp_path: Path, api: ApiServer, api_key: str, fault_proxy: FaultProxy, outage: int | str
) -> None:
    path = tmp_path / "o.sqlite"
    url = f"http://127.0.0.1:{free_port()}" if outage == "refused" else fault_proxy.url
    fault_proxy.outage = None if outage == "refused" else int(outage)
    events = [make_crossing(i) for i in range(6)]
    sink = sink_for(path, url, api_key, set_aside_after=1)
    for event in events:
        sink.emit(event)
    time.sleep(3.0)  # dozens of failed attempts at this backoff
    sink.close()
    outbox = Outbox(path, read_only=True)
    assert (outbox.rejected(), outbox.stats().pending_events) == ([], 6)
    outbox.close()
    if outage != "refused":
        assert len(fault_proxy.answers) >= 5  # it did keep trying
    fault_proxy.outage = None
    sink = sink_for(path, fault_proxy.url, api_key, set_aside_after=1)
    assert sink.wait_idle(20)
    sink.close()
    assert {str(e.event_id) for e in events} <= set(api.event_ids())
