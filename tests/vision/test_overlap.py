"""``detect.overlap``: frames ahead are detected on their own threads while frame t is tracked and published.

Real model, real motorway clip: the tracks of every frame and the crossings are exactly those of
the plain loop, in the same order; a run cut short (``max_frames``) stops the detection thread;
with the motion scheduler (which decides from the last frame's tracks) the option does nothing.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from gatewatch.config import CameraConfig, load_config
from gatewatch.events import CrossingEvent
from gatewatch.sinks import MemorySink
from gatewatch.vision.pipeline import FrameResult, GatePipeline
from gatewatch.vision.sources import open_source
from tests.conftest import asset
from tests.vision.test_class_vote import ROOT


def config(overlap: bool, schedule: str = "every_frame", threads: int = 1) -> CameraConfig:
    asset("videos/highway_720p_cars.mp4")
    base = load_config(ROOT / "samples" / "highway_720p.yaml")
    return base.model_copy(update={"detect": base.detect.model_copy(update={
        "overlap": overlap, "overlap_threads": threads,
        "schedule": base.detect.schedule.model_copy(update={"mode": schedule})})})


def run(cfg: CameraConfig, detector: Any, max_frames: int) -> tuple[list[list[int]], list[tuple], GatePipeline]:
    source = open_source(cfg.source)
    sink = MemorySink()
    tracks: list[list[int]] = []

    def keep(result: FrameResult) -> None:
        tracks.append([result.frame.index, *result.tracks.tracker_id.tolist()])

    pipeline = GatePipeline(cfg, detector, sink, fps=source.fps)
    pipeline.run(source, max_frames=max_frames, progress_every_s=1e9, on_frame=keep)
    source.close()
    crossings = [(e.lane, e.direction, e.track_id, e.vehicle_class) for e in sink.events if isinstance(e, CrossingEvent)]
    return tracks, crossings, pipeline


@pytest.mark.parametrize("threads", [1, 3])
def test_overlapped_detection_gives_the_same_tracks_and_crossings(vehicle_detector, threads):
    """One thread ahead, or three frames in the model at once (``overlap_threads``): the plain loop's tracks."""
    plain_tracks, plain_crossings, plain = run(config(False), vehicle_detector, 120)
    ahead_tracks, ahead_crossings, ahead = run(config(True, threads=threads), vehicle_detector, 120)
    assert not plain.overlaps and ahead.overlaps
    assert len(plain_tracks) == 120 and [t[0] for t in plain_tracks] == list(range(120))
    assert ahead_tracks == plain_tracks
    assert len(plain_crossings) >= 2 and ahead_crossings == plain_crossings


def test_motion_scheduling_turns_overlap_off(vehicle_detector):
    tracks, _, pipeline = run(config(True, schedule="motion"), vehicle_detector, 10)
    assert not pipeline.overlaps and len(tracks) == 10


@pytest.mark.parametrize("threads", [1, 2])
def test_a_run_cut_short_stops_the_detection_threads(vehicle_detector, threads):
    before = {t.ident for t in threading.enumerate() if t.name.startswith("detect-ahead")}
    tracks, _, pipeline = run(config(True, threads=threads), vehicle_detector, 15)  # the clip has 335 frames
    assert pipeline.overlaps and len(tracks) == 15
    left = [t for t in threading.enumerate() if t.name.startswith("detect-ahead") and t.ident not in before]
    alive = [t.name for t in left if t.is_alive()]
    assert not alive, f"detect-ahead threads outlived their run: {alive}"


class _FailsOnCall:
    """The real detector, raising on its ``fail_on``-th call (a model error in the middle of a clip)."""

    def __init__(self, real: Any, fail_on: int) -> None:
        self.real, self.fail_on, self.calls = real, fail_on, 0
        self._lock = threading.Lock()

    def predict(self, frame: Any) -> Any:
        with self._lock:
            self.calls += 1
            call = self.calls
        if call == self.fail_on:
            raise RuntimeError(f"model failed on call {call} (test)")
        return self.real.predict(frame)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_detector_error_ahead_reaches_the_caller_and_every_thread_ends(vehicle_detector, threads):
    before = {t.ident for t in threading.enumerate() if t.name.startswith("detect-ahead")}
    with pytest.raises(RuntimeError, match="model failed on call 8"):
        run(config(True, threads=threads), _FailsOnCall(vehicle_detector, 8), 40)
    left = [t.name for t in threading.enumerate()
            if t.name.startswith("detect-ahead") and t.ident not in before and t.is_alive()]
    assert not left, f"detect-ahead threads outlived the failed run: {left}"
