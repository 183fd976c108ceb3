"""Deterministic event ids: a replay of the same file reports the same crossings and flags under
the same ids (idempotent at the API); another file, camera or gate gets other ids."""

from __future__ import annotations

import hashlib
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import supervision as sv

from gatewatch.config import load_config
from gatewatch.events import CrossingEvent, FlagEvent, PlateRead
from gatewatch.sinks import MemorySink
from gatewatch.vision.flags import Hold, HoldList, HoldListStage
from gatewatch.vision.pipeline import GatePipeline
from gatewatch.vision.sources import Frame, open_source
from tests.conftest import asset
from tests.vision.helpers import T0, WithEvents, make_tracks

ROOT = Path(__file__).parents[2]
FRAMES = 150


class SameFramesSameBoxes:
    """The real detector, run once per distinct picture: the copies decode to the same frames."""

    def __init__(self, detector) -> None:
        self.detector = detector
        self.seen: dict[bytes, sv.Detections] = {}

    def predict(self, image: np.ndarray) -> sv.Detections:
        key = hashlib.sha256(image.tobytes()).digest()
        if key not in self.seen:
            self.seen[key] = self.detector.predict(image)
        return self.seen[key]


def crossings_of(video: Path, detector, camera: str = "highway-cctv", **source: object) -> list[CrossingEvent]:
    config = load_config(ROOT / "samples" / "highway_cctv.yaml")
    source_config = config.source.model_copy(update={"uri": str(video), **source})
    config = config.model_copy(update={"camera": camera, "source": source_config})
    source = open_source(config.source)
    sink = MemorySink()
    GatePipeline(config, detector, sink, fps=source.fps).run(source, max_frames=FRAMES)
    source.close()
    return [e for e in sink.events if isinstance(e, CrossingEvent)]


def what(events: list[CrossingEvent]) -> list[tuple[str, str, int, int]]:
    return [(e.lane, str(e.direction), e.frame_index, e.track_id) for e in events]


@pytest.fixture(scope="module")
def highway_runs(vehicle_detector, tmp_path_factory) -> dict[str, list[CrossingEvent]]:
    original = asset("videos/highway_cctv_trucks_320x240.avi")
    folder = tmp_path_factory.mktemp("copies")
    moved = shutil.copy(original, folder / "renamed_copy.avi")
    other = folder / "other_recording.avi"  # same pictures, one byte more: another file
    other.write_bytes(original.read_bytes() + b"\x00")
    vehicle_detector = SameFramesSameBoxes(vehicle_detector)
    return {
        "first": crossings_of(original, vehicle_detector),
        "replay": crossings_of(original, vehicle_detector),
        "moved": crossings_of(Path(moved), vehicle_detector),
        "other_file": crossings_of(other, vehicle_detector),
        "other_camera": crossings_of(original, vehicle_detector, camera="highway-cctv-2"),
        "no_start_time": crossings_of(original, vehicle_detector, start_time=None),
        "no_start_time_replay": crossings_of(original, vehicle_detector, start_time=None),
    }


@pytest.mark.slow
def test_replaying_a_file_gives_the_same_crossing_ids(highway_runs):
    first = highway_runs["first"]
    assert len(first) >= 3 and len({e.event_id for e in first}) == len(first)
    for run in ("replay", "moved"):  # the path does not matter, the content does
        assert [e.event_id for e in highway_runs[run]] == [e.event_id for e in first]
        assert what(highway_runs[run]) == what(first)


@pytest.mark.slow
def test_replay_without_a_start_time_repeats_every_event_exactly(highway_runs):
    """No start time set: frames are dated from the file, not the run, so the API sees duplicates, not conflicts."""
    first, replay = highway_runs["no_start_time"], highway_runs["no_start_time_replay"]
    assert len(first) >= 3
    assert [e.model_dump() for e in replay] == [e.model_dump() for e in first]


@pytest.mark.slow
@pytest.mark.parametrize("run", ["other_file", "other_camera"])
def test_another_file_or_camera_gives_disjoint_ids(highway_runs, run):
    first, other = highway_runs["first"], highway_runs[run]
    assert what(other) == what(first)  # the same crossings were seen ...
    assert not {e.event_id for e in other} & {e.event_id for e in first}  # ... under other ids


def hold_list_events(source_id: str | None, camera: str = "cam-1", start_minutes: int = 0) -> list[FlagEvent]:
    """A listed plate's vehicle in view for 40 s, then gone: start, one update, end."""
    plates = {5: PlateRead(text="51F12345", text_raw="51F-123.45", confidence=0.9)}
    stage = WithEvents(HoldListStage(HoldList([Hold(plate="51F12345", reason="fees")]), grace_s=2.0,
                                     update_interval_s=30.0), "huu-nghi", camera)
    events: list[FlagEvent] = []
    image = np.zeros((360, 640, 3), dtype=np.uint8)
    start = T0 + timedelta(minutes=start_minutes)
    for index in range(0, 500):
        ts = index / 10
        tracks: sv.Detections = make_tracks([(5, (100, 100, 300, 250), "truck")] if ts < 40 else [], plates)
        frame = Frame(image, index, ts, start + timedelta(seconds=ts), source_id)
        events.extend(stage.update(frame, tracks))
    events.extend(stage.finish(None))
    return events


def test_flag_ids_and_phase_event_ids_are_deterministic():
    first = hold_list_events("file:123-abc")
    assert [e.phase for e in first] == ["start", "update", "end"]
    assert len({e.flag_id for e in first}) == 1 and len({e.event_id for e in first}) == 3
    replay = hold_list_events("file:123-abc", start_minutes=7)  # a later run of the same file
    assert [(e.flag_id, e.event_id) for e in replay] == [(e.flag_id, e.event_id) for e in first]
    for other in (hold_list_events("file:456-def"), hold_list_events("file:123-abc", camera="cam-2")):
        assert [e.phase for e in other] == ["start", "update", "end"]
        assert not {e.flag_id for e in other} & {e.flag_id for e in first}
        assert not {e.event_id for e in other} & {e.event_id for e in first}


def test_live_frames_are_keyed_by_their_utc_time():
    live = hold_list_events(None)
    again = hold_list_events(None)
    later = hold_list_events(None, start_minutes=1)
    assert [e.event_id for e in again] == [e.event_id for e in live]
    assert not {e.event_id for e in later} & {e.event_id for e in live}
