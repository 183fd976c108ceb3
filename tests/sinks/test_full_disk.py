"""A full disk: the edge keeps counting, holds events in memory, shouts, and catches up when space returns.

The outbox and the JSON-lines file live on a real 2 MB tmpfs that the test fills to the last byte
(needs root to mount; skipped with the reason otherwise); the API is the real one under uvicorn.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from gatewatch.events import parse_event
from gatewatch.sinks import FanoutSink, JsonlSink, MemorySink
from gatewatch.sinks.config import DeliveryConfig
from gatewatch.sinks.factory import build_outbox_sink
from gatewatch.sinks.http import ApiClient
from gatewatch.sinks.outbox import Outbox, OutboxSink, RetryPolicy
from tests.sinks.helpers import ApiServer, SmallDisk, make_crossing, real_jpegs

FAST_RETRY = RetryPolicy(initial_s=0.05, max_s=0.3, jitter_s=0.05)


def test_full_disk_holds_events_in_memory_then_catches_up(
    small_disk: SmallDisk, api: ApiServer, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    crops = real_jpegs(12)
    client = ApiClient(api.url, api_key, connect_timeout_s=1.0, read_timeout_s=3.0)
    outbox_sink = OutboxSink(Outbox(small_disk.root / "o.sqlite"), client, retry=FAST_RETRY,
                             idle_poll_s=0.05, store_retry_s=0.2, close_grace_s=5.0)  # fmt: skip
    jsonl = JsonlSink(small_disk.root / "events.jsonl")
    memory = MemorySink()
    sink = FanoutSink([outbox_sink, jsonl, memory])
    events = [make_crossing(i, crops[i]) for i in range(12)]
    for event in events[:2]:
        sink.emit(event)
    assert outbox_sink.wait_idle(20)
    small_disk.fill()
    with caplog.at_level(logging.ERROR):
        for event in events[2:11]:
            sink.emit(event)  # no exception: the run goes on
    assert len(memory.events) == 11  # the other sinks got every event
    stats = outbox_sink.stats()
    assert (stats.held_in_memory, stats.dropped_images_total, stats.dropped_events_total) == (9, 0, 0)
    assert stats.store_errors_total >= 1 and "NOT STORED: 9 events held in memory" in stats.summary()
    # Lines go where the outbox's failed image copies freed a few blocks; the rest wait in memory.
    assert jsonl.held >= 1 and jsonl.count + jsonl.held == 11
    shouted = [r.message for r in caplog.records if "cannot store events" in r.message]
    assert len(shouted) == 1  # rate limited, with the counts
    assert [r for r in caplog.records if "events file" in r.message and "cannot write" in r.message]
    # Space returns: the held events reach the outbox in order, then the API; the JSON lines follow.
    small_disk.free()
    sink.emit(events[11])
    assert outbox_sink.wait_idle(30)
    sink.close()
    stored = api.event_ids()
    assert all(stored.count(str(e.event_id)) == 1 for e in events)
    assert {(str(e.event_id), "crop") for e in events} <= api.evidence()
    outbox = Outbox(small_disk.root / "o.sqlite", read_only=True)
    assert outbox.event_ids() == [str(e.event_id) for e in events]  # production order kept
    assert outbox.stats().delivered_total == 12
    outbox.close()
    lines = (small_disk.root / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [str(parse_event(line).event_id) for line in lines] == [str(e.event_id) for e in events]


def test_restart_on_a_full_disk_opens_the_outbox_later(
    small_disk: SmallDisk, api: ApiServer, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = small_disk.root / "o.sqlite"
    backlog = [make_crossing(i) for i in range(2)]
    outbox = Outbox(path)
    for event in backlog:
        outbox.add(event)
    outbox.close()
    small_disk.fill()
    with pytest.raises(Exception, match="cannot open outbox"):
        Outbox(path)  # what the edge used to die of
    monkeypatch.setenv("GW_FULL_KEY", api_key)
    config = DeliveryConfig(api_url=api.url, api_key_env="GW_FULL_KEY", outbox_path=path, close_grace_s=5.0,
                            retry={"initial_s": 0.05, "max_s": 0.3, "jitter_s": 0.05})  # fmt: skip
    sink = build_outbox_sink(config)
    assert sink.outbox is None
    new = [make_crossing(10 + i) for i in range(3)]
    for event in new:
        sink.emit(event)
    stats = sink.stats()
    assert (stats.held_in_memory, stats.path, stats.last_error) == (3, str(path), "not open")
    small_disk.free()
    assert sink.wait_idle(30)
    sink.close()
    assert {str(e.event_id) for e in backlog + new} <= set(api.event_ids())


def test_memory_bound_drops_images_before_events(small_disk: SmallDisk, api: ApiServer, api_key: str) -> None:
    crops = real_jpegs(10)
    events = [make_crossing(i, crops[i]) for i in range(10)]
    bound = 100_000  # room for the ten bodies and three or so images
    bodies = sum(len(e.model_dump_json()) for e in events)
    room, kept = bound - bodies, 0
    for path in reversed(crops):  # the newest images are the ones that stay
        if path.stat().st_size > room:
            break
        room -= path.stat().st_size
        kept += 1
    client = ApiClient(api.url, api_key, connect_timeout_s=1.0, read_timeout_s=3.0)
    # No store retry while the ten are emitted: a retry may put a body (its image dropped) into the
    # outbox file's free pages on the full disk, which is right, but not what is counted here.
    sink = OutboxSink(Outbox(small_disk.root / "o.sqlite"), client, retry=FAST_RETRY, idle_poll_s=0.05,
                      store_retry_s=3600.0, memory_mb=bound / 1e6, close_grace_s=5.0)  # fmt: skip
    small_disk.fill()
    for event in events:
        sink.emit(event)
    stats = sink.stats()
    assert 0 < kept < 10
    assert (stats.held_in_memory, stats.dropped_images_total, stats.dropped_events_total) == (10, 10 - kept, 0)
    assert stats.held_in_memory_bytes <= bound
    small_disk.free()
    sink.store_retry_s = 0.05
    assert sink.wait_idle(30)
    sink.close()
    assert {str(e.event_id) for e in events} <= set(api.event_ids())
    with_image = {e for e, role in api.evidence() if role == "crop"} & {str(e.event_id) for e in events}
    assert with_image == {str(e.event_id) for e in events[10 - kept :]}


def test_failed_store_waits_store_retry_before_the_next_try(small_disk: SmallDisk, api: ApiServer, api_key: str) -> None:
    """The sender's first retry comes ``store_retry_s`` after the failed store, not at once."""
    client = ApiClient(api.url, api_key, connect_timeout_s=1.0, read_timeout_s=3.0)
    sink = OutboxSink(Outbox(small_disk.root / "o.sqlite"), client, retry=FAST_RETRY, idle_poll_s=0.05,
                      store_retry_s=2.0, close_grace_s=1.0)  # fmt: skip
    small_disk.fill()
    sink.emit(make_crossing(0, real_jpegs(1)[0]))
    time.sleep(0.5)  # the sender has woken (idle poll 0.05 s) and looked at what is held
    assert (sink.stats().store_errors_total, sink.stats().held_in_memory) == (1, 1)
    small_disk.free()
    assert sink.wait_idle(30)
    assert sink.stats().store_errors_total == 1
    sink.close()


def test_memory_bound_drops_oldest_events_only_when_events_alone_exceed_it() -> None:
    from gatewatch.sinks.hold import HeldEvents

    events = [make_crossing(i) for i in range(5)]
    sizes = [len(e.model_dump_json()) for e in events]
    held = HeldEvents(max_bytes=sum(sizes[2:]))  # room for the three newest events, no more
    photo = b"\xff\xd8\xff" + b"\0" * 5000
    for event in events:
        held.put(event, [("crop", photo, "image/jpeg", ".jpg")])
    assert (len(held), held.dropped_images, held.dropped_events, held.bytes) == (3, 5, 2, sum(sizes[2:]))
    stored: list[str] = []
    assert held.drain(lambda event, images: stored.append(str(event.event_id))) == 3
    assert stored == [str(e.event_id) for e in events[2:]]  # oldest first, the newest kept


def test_crossing_crops_on_a_full_disk_leave_no_truncated_file(small_disk: SmallDisk, vehicle_detector) -> None:
    """Every crossing still goes out, without a crop, and no half-written JPEG is left to be sent as evidence."""
    from gatewatch.config import load_config
    from gatewatch.vision.pipeline import GatePipeline
    from gatewatch.vision.sources import open_source

    crops = small_disk.root / "crops"
    config = load_config(Path(__file__).parents[2] / "samples" / "highway_cctv.yaml")
    config = config.model_copy(update={"output": config.output.model_copy(update={"crops_dir": str(crops)})})
    source = open_source(config.source)
    memory = MemorySink()
    pipeline = GatePipeline(config, vehicle_detector, memory, fps=source.fps)  # makes the crops folder
    small_disk.fill()
    pipeline.run(source, max_frames=150)
    source.close()
    crossings = [e for e in memory.events if e.kind == "crossing"]
    assert len(crossings) >= 3
    assert [e.crop_path for e in crossings] == [None] * len(crossings)
    assert list(crops.iterdir()) == []
