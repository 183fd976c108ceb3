"""The event builder and the publisher: stage values in, events (with evidence) out, sinks fed by policy."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from gatewatch.events import CrossingEvent, FlagKind, FlagPhase, PlateRead
from gatewatch.sinks import FanoutSink, MemorySink
from gatewatch.vision.evidence import CrossingCrops, EvidenceWriter
from gatewatch.vision.ids import crossing_id, flag_event_id, flag_id
from gatewatch.vision.publish import EventBuilder, Publisher
from gatewatch.vision.stages import Crossing, EvidenceShot, OpenFlag, PlateBook, PlateUpdate
from tests.vision.helpers import make_frame

FPS = 10.0
PLATE = PlateRead(text="51F12345", text_raw="51F-123.45", confidence=0.9)


def crossing(frame_index: int, track_id: int = 7) -> Crossing:
    frame = dataclasses.replace(make_frame(frame_index, FPS, np.full((360, 640, 3), 120, np.uint8)), source_id="file:test")
    return Crossing(frame, track_id, "import-1", "entry", (100.0, 100.0, 200.0, 180.0), "truck", 0.8)


def test_crossing_event_named_dated_and_cropped(tmp_path: Path) -> None:
    builder = EventBuilder("huu-nghi", "cam-1", crops=CrossingCrops(tmp_path / "crops"))
    c = crossing(30)
    [event] = builder.crossings(c.frame, [c], {7})  # no plate stage: out at once
    assert event.event_id == crossing_id("huu-nghi", "cam-1", "file:test#30", 7, "import-1", "entry")
    assert (event.gate, event.camera, event.lane, event.direction, event.track_id) == ("huu-nghi", "cam-1", "import-1", "entry", 7)
    assert event.frame_time == c.frame.time and event.stream_ts == 3.0 and event.frame_index == 30
    assert event.crop_path == str(tmp_path / "crops" / f"{event.event_id}.jpg") and Path(event.crop_path).is_file()
    assert builder.pending == 0


@pytest.mark.parametrize(("case", "released_at", "plate"), [
    ("plate_settles_in_time", 3.5, True),   # the plate comes, the wait runs out at 3.0 + 2.0: out with it
    ("track_leaves_view", 3.5, False),     # out of view before its plate: out without one
    ("stream_ends", None, True),           # the stream ends while it waits: out with what is known
])
def test_crossing_waits_for_its_plate(case: str, released_at: float | None, plate: bool) -> None:
    book = PlateBook()
    builder = EventBuilder("g", "c", plates=book, plate_wait_s=2.0)
    c = crossing(30)
    assert builder.crossings(c.frame, [c], {7}) == [] and builder.pending == 1
    out: list[CrossingEvent] = []
    for index in range(31, 80):
        frame = make_frame(index, FPS)
        if case != "track_leaves_view" and frame.ts == 4.0:
            book.apply([PlateUpdate(7, PLATE)])
        in_view = set() if case == "track_leaves_view" and frame.ts >= 3.5 else {7}
        if case == "stream_ends" and frame.ts >= 4.5:
            out += builder.crossings(None, [])
            break
        got = builder.crossings(frame, [], in_view)
        if got:
            assert case == "track_leaves_view" and frame.ts == released_at or frame.ts == 5.0
        out += got
    [event] = out
    assert (event.plate == PLATE) is plate and builder.pending == 0


def test_flag_events_carry_the_start_evidence_until_the_end(tmp_path: Path) -> None:
    builder = EventBuilder("g", "c", evidence=EvidenceWriter(tmp_path / "evidence"))
    first = make_frame(30, FPS, np.full((360, 640, 3), 90, np.uint8))
    flag = OpenFlag.raise_on(FlagKind.HELD, first, "apron/3", started_ts=1.0)
    start = builder.flag(flag.change(FlagPhase.START, first, first.ts, zone="apron", track_id=3, box=(10, 10, 90, 60),
                                     evidence=EvidenceShot((10.0, 10.0, 90.0, 60.0), "held car 2s")))
    later = make_frame(80, FPS)
    update = builder.flag(flag.change(FlagPhase.UPDATE, later, later.ts, zone="apron", track_id=3))
    end = builder.flag(flag.change(FlagPhase.END, later, 7.5, zone="apron", details={"reason": "left"}))
    fid = flag_id("g", "c", "held", first.key, "apron/3")
    assert start.flag_id == update.flag_id == end.flag_id == fid
    assert end.event_id == flag_event_id(fid, "end", later.key)
    assert [e.duration_s for e in (start, update, end)] == [2.0, 7.0, 6.5]
    assert start.started_at == end.started_at == first.time - timedelta(seconds=2.0)
    assert start.snapshot_path and Path(start.snapshot_path).is_file() and Path(start.crop_path).is_file()
    assert update.snapshot_path == end.snapshot_path == start.snapshot_path and end.details == {"reason": "left"}
    assert flag.last_emit_ts == 7.5
    assert not builder._evidence_paths  # the end lets go of the flag


def test_evidence_is_written_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = EvidenceWriter(tmp_path)

    def full_disk(self: Path, data: bytes) -> int:
        with self.open("wb") as f:
            f.write(data[:100])  # a partial write, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    assert writer.save(image, (10.0, 10.0, 100.0, 80.0), flag_id("g", "c", "held", "k", "s")) == (None, None)
    assert list(tmp_path.iterdir()) == [] and writer.failures == 1


class BrokenSink:
    def emit(self, event: object) -> None:
        raise RuntimeError("sink bug")

    def close(self) -> None:
        pass


def test_publisher_with_several_sinks_goes_on_past_a_failing_one() -> None:
    memory = MemorySink()
    publisher = Publisher([BrokenSink(), memory])  # type: ignore[list-item]
    events = [EventBuilder("g", "c").crossing(crossing(i, track_id=i)) for i in range(3)]
    publisher.publish(events)
    assert memory.events == events and publisher.published == 3
    assert isinstance(publisher.sink, FanoutSink) and publisher.sink.failures == {"BrokenSink": 3}


def test_publisher_with_a_single_sink_lets_its_failure_end_the_run() -> None:
    publisher = Publisher(BrokenSink())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="sink bug"):
        publisher.publish([EventBuilder("g", "c").crossing(crossing(1))])
    assert publisher.published == 0


def test_fanout_raise_policy_feeds_the_others_then_raises() -> None:
    memory = MemorySink()
    fanout = FanoutSink([BrokenSink(), memory], on_failure="raise")  # type: ignore[list-item]
    event = EventBuilder("g", "c").crossing(crossing(1))
    with pytest.raises(RuntimeError, match="sink bug"):
        fanout.emit(event)
    assert memory.events == [event] and fanout.failures == {"BrokenSink": 1}
    with pytest.raises(ValueError, match="on_failure"):
        FanoutSink([], on_failure="ignore")  # type: ignore[arg-type]
