"""The fault matrix: one run per fault against the real API, counting produced, delivered, set aside, lost, twice.

Each row makes its own events (the first 5 with real JPEG crops), applies one fault with real
processes, files and signals, lets the outbox recover, then reads the API's database:

* delivered: events of the row the API holds; duplicated: event ids stored more than once;
* set aside: in the outbox's ``rejected`` table; lost: produced but neither delivered nor set aside.

``pytest tests/sinks/test_fault_matrix.py -s`` prints one Markdown row per fault (``FAULT ROW``).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatewatch.cli import main
from gatewatch.events import CrossingEvent
from gatewatch.sinks import JsonlSink
from gatewatch.sinks.http import ApiClient
from gatewatch.sinks.outbox import Outbox, OutboxSink, RetryPolicy
from tests.sinks.helpers import ROOT, ApiServer, FaultProxy, SmallDisk, make_crossing, real_jpegs, wait_for

N = 20
FAST_RETRY = RetryPolicy(initial_s=0.05, max_s=0.5, jitter_s=0.05)

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from tests.sinks.helpers import make_crossing
from pathlib import Path
from gatewatch.sinks.http import ApiClient
from gatewatch.sinks.outbox import Outbox, OutboxSink, RetryPolicy
crops = sorted(Path({crops!r}).glob("*.jpg"))[:5]
client = ApiClient({url!r}, {key!r}, connect_timeout_s=0.5, read_timeout_s=1.0)
sink = OutboxSink(Outbox({path!r}), client, batch_size=1, retry=RetryPolicy(0.05, 0.3, 0.05), idle_poll_s=0.05)
for i in range({n}):
    sink.emit(make_crossing(i, crops[i] if i < 5 else None))
    time.sleep({gap})
print("emitted", flush=True)
time.sleep(60)
"""


def make_events(n: int = N) -> list[CrossingEvent]:
    crops = real_jpegs(5)
    return [make_crossing(i, crops[i] if i < 5 else None) for i in range(n)]


def new_sink(path: Path, url: str, key: str, **kwargs: object) -> OutboxSink:
    client = ApiClient(url, key, connect_timeout_s=0.5, read_timeout_s=1.0)
    options: dict[str, object] = {"retry": FAST_RETRY, "close_grace_s": 3.0, "batch_size": 5,
                                  "idle_poll_s": 0.05, "set_aside_after": 3, **kwargs}  # fmt: skip
    return OutboxSink(Outbox(path), client, **options)  # type: ignore[arg-type]


def child_edge(path: Path, url: str, key: str, gap_s: float) -> tuple[subprocess.Popen[bytes], list[str]]:
    """An edge process emitting N events into ``path``; returns it and (after "emitted") nothing else."""
    code = CHILD.format(root=str(ROOT), crops=str(real_jpegs(5)[0].parent), url=url, key=key, path=str(path),
                        n=N, gap=gap_s)  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    return proc, []


def row(name: str, api: ApiServer, outbox_path: Path, produced: list[str]) -> dict[str, int]:
    """Count the row from the API's database and the outbox file; print it."""
    with sqlite3.connect(api.db_path) as conn:
        counts = dict(conn.execute("SELECT event_id, COUNT(*) FROM events GROUP BY event_id").fetchall())
    outbox = Outbox(outbox_path, read_only=True)
    aside = {event_id for event_id, _, _ in outbox.rejected()}
    outbox.close()
    delivered = [e for e in produced if e in counts]
    figures = {
        "produced": len(produced),
        "delivered": len(delivered),
        "set_aside": len(aside & set(produced)),
        "lost": len([e for e in produced if e not in counts and e not in aside]),
        "duplicated": sum(1 for e in produced if counts.get(e, 0) > 1),
    }
    print(f"\nFAULT ROW | {name} | " + " | ".join(str(v) for v in figures.values()) + " |")
    return figures


def test_api_down_then_back(tmp_path: Path, api: ApiServer, api_key: str) -> None:
    api.kill()
    events = make_events()
    sink = new_sink(tmp_path / "o.sqlite", api.url, api_key)
    for event in events:
        sink.emit(event)
    time.sleep(2.0)
    assert sink.stats().pending_events == N
    api.start()
    assert sink.wait_idle(30)
    sink.close()
    assert row("API down, then back", api, tmp_path / "o.sqlite", [str(e.event_id) for e in events]) == {
        "produced": N, "delivered": N, "set_aside": 0, "lost": 0, "duplicated": 0}  # fmt: skip


def test_api_frozen(tmp_path: Path, api: ApiServer, api_key: str) -> None:
    events = make_events()
    sink = new_sink(tmp_path / "o.sqlite", api.url, api_key)
    sink.emit(events[0])
    assert sink.wait_idle(10)
    api.signal(signal.SIGSTOP)
    try:
        for event in events[1:]:
            sink.emit(event)
        time.sleep(3.0)  # requests time out (read timeout 1 s)
        assert sink.stats().pending_events >= N - 1 - 5  # at most the batch in flight went through
    finally:
        api.signal(signal.SIGCONT)
    assert sink.wait_idle(30)
    sink.close()
    assert row("API frozen (SIGSTOP 3 s)", api, tmp_path / "o.sqlite", [str(e.event_id) for e in events]) == {
        "produced": N, "delivered": N, "set_aside": 0, "lost": 0, "duplicated": 0}  # fmt: skip


def test_api_killed(tmp_path: Path, api: ApiServer, api_key: str) -> None:
    events = make_events()
    sink = new_sink(tmp_path / "o.sqlite", api.url, api_key)
    for event in events[:10]:
        sink.emit(event)
    api.kill()  # SIGKILL while batches are in flight
    for event in events[10:]:
        sink.emit(event)
    time.sleep(1.0)
    api.start()
    assert sink.wait_idle(30)
    sink.close()
    assert row("API killed -9, restarted", api, tmp_path / "o.sqlite", [str(e.event_id) for e in events]) == {
        "produced": N, "delivered": N, "set_aside": 0, "lost": 0, "duplicated": 0}  # fmt: skip


def test_edge_killed_mid_delivery(tmp_path: Path, api: ApiServer, api_key: str) -> None:
    path = tmp_path / "o.sqlite"
    proc, _ = child_edge(path, api.url, api_key, gap_s=0.3)  # 20 events over ~6 s, delivered as they come
    try:
        assert wait_for(lambda: _delivered(path) >= 3, 30, 0.01)
        # freeze the API so that the rest stays undelivered however fast or loaded this machine is, with a
        # batch possibly in flight (its answer is lost with the edge), then kill -9 the edge
        api.signal(signal.SIGSTOP)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"emitted"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        api.signal(signal.SIGCONT)
    outbox = Outbox(path, read_only=True)
    produced = outbox.event_ids()
    left = outbox.stats().pending_events
    outbox.close()
    assert len(produced) == N and left > 0
    sink = new_sink(path, api.url, api_key)
    assert sink.wait_idle(30)
    sink.close()
    assert row("edge killed -9 mid-delivery, restarted", api, path, produced) == {
        "produced": N, "delivered": N, "set_aside": 0, "lost": 0, "duplicated": 0}  # fmt: skip


def _delivered(path: Path) -> int:
    try:
        outbox = Outbox(path, read_only=True)
    except Exception:
        return 0
    try:
        return outbox.stats().delivered_total
    finally:
        outbox.close()


def test_poisoned_event(tmp_path: Path, api: ApiServer, api_key: str, fault_proxy: FaultProxy) -> None:
    events = make_events()
    fault_proxy.poisoned.add(str(events[7].event_id))
    sink = new_sink(tmp_path / "o.sqlite", fault_proxy.url, api_key)
    for event in events:
        sink.emit(event)
    i = 100
    deadline = time.monotonic() + 60
    while sink.stats().rejected_events == 0 and time.monotonic() < deadline:  # the gate keeps producing
        events.append(make_crossing(i))
        sink.emit(events[-1])
        i += 1
        time.sleep(0.1)
    assert sink.wait_idle(30)
    sink.close()
    figures = row("poisoned event (500 for it alone)", api, tmp_path / "o.sqlite", [str(e.event_id) for e in events])
    assert figures == {"produced": len(events), "delivered": len(events) - 1, "set_aside": 1, "lost": 0,
                       "duplicated": 0}  # fmt: skip


def test_conflicting_event(tmp_path: Path, api: ApiServer, api_key: str, fault_proxy: FaultProxy) -> None:
    events = make_events()
    fault_proxy.conflicting.add(str(events[3].event_id))
    sink = new_sink(tmp_path / "o.sqlite", fault_proxy.url, api_key)
    for event in events:
        sink.emit(event)
    assert sink.wait_idle(30)
    sink.close()
    assert row("conflicting event (409)", api, tmp_path / "o.sqlite", [str(e.event_id) for e in events]) == {
        "produced": N, "delivered": N - 1, "set_aside": 1, "lost": 0, "duplicated": 0}  # fmt: skip


def _stored_offline(path: Path, events: list[CrossingEvent]) -> None:
    outbox = Outbox(path)
    for event in events:
        outbox.add(event)
    outbox.close()


def test_outbox_header_damaged(tmp_path: Path, api: ApiServer, api_key: str) -> None:
    path = tmp_path / "o.sqlite"
    events = make_events()
    _stored_offline(path, events)  # a backlog: the API was away
    raw = bytearray(path.read_bytes())
    raw[:100] = os.urandom(100)
    path.write_bytes(bytes(raw))
    sink = new_sink(path, api.url, api_key)
    assert sink.wait_idle(30)
    sink.close()
    assert row("outbox header damaged (100 random bytes)", api, path, [str(e.event_id) for e in events]) == {
        "produced": N, "delivered": N, "set_aside": 0, "lost": 0, "duplicated": 0}  # fmt: skip


def test_wal_cut(tmp_path: Path, api: ApiServer, api_key: str) -> None:
    path = tmp_path / "o.sqlite"
    proc, _ = child_edge(path, f"http://127.0.0.1:{api.port + 1}", api_key, gap_s=0.0)  # API unreachable
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"emitted"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    wal = Path(f"{path}-wal")
    data = wal.read_bytes()
    wal.write_bytes(data[: len(data) // 2])
    produced = [json.loads(body)["event_id"] for body in _bodies_in(path)]
    sink = new_sink(path, api.url, api_key)
    assert sink.wait_idle(30)
    sink.close()
    assert row("edge killed -9, WAL cut in half", api, path, produced) == {
        "produced": N, "delivered": N, "set_aside": 0, "lost": 0, "duplicated": 0}  # fmt: skip


def _bodies_in(path: Path) -> list[str]:
    """The events the killed edge stored, read from the damaged files before recovery (a private copy)."""
    from gatewatch.sinks.salvage import carve_events

    blobs = [Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").is_file()]
    return list(carve_events(*blobs).values())


def test_zero_byte_outbox(tmp_path: Path, api: ApiServer, api_key: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "o.sqlite"
    events = make_events()
    jsonl = JsonlSink(tmp_path / "events.jsonl")  # the run's events file, written beside the outbox
    for event in events:
        jsonl.emit(event)
    jsonl.close()
    _stored_offline(path, events)
    path.write_bytes(b"")  # the outbox file emptied by an outside fault
    Outbox(path).close()  # restart: damage logged, the empty file kept aside, nothing to salvage
    assert main(["outbox", "import", "--path", str(path), "--jsonl", str(tmp_path / "events.jsonl")]) == 0
    assert capsys.readouterr().out.startswith(f"{N} events queued")
    sink = new_sink(path, api.url, api_key)
    assert sink.wait_idle(30)
    sink.close()
    assert row("0-byte outbox file (+ outbox import of the events file)", api, path,
               [str(e.event_id) for e in events]) == {
        "produced": N, "delivered": N, "set_aside": 0, "lost": 0, "duplicated": 0}  # fmt: skip


def test_full_disk_then_space_back(
    small_disk: SmallDisk,
    api: ApiServer,
    api_key: str,
) -> None:
    path = small_disk.root / "o.sqlite"
    events = make_events()
    sink = new_sink(path, api.url, api_key)
    sink.emit(events[0])
    assert sink.wait_idle(10)
    small_disk.fill()
    for event in events[1:]:
        sink.emit(event)
    assert sink.stats().held_in_memory == N - 1
    small_disk.free()
    assert sink.wait_idle(30)
    sink.close()
    assert row("full disk, then space back", api, path, [str(e.event_id) for e in events]) == {
        "produced": N, "delivered": N, "set_aside": 0, "lost": 0, "duplicated": 0}  # fmt: skip
