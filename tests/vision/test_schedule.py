"""Detection scheduling (``detect.schedule``) and the detector's region (``detect.roi``).

The replayed-box cases draw vehicles as bright boxes on a dark road, frame by frame; the
detector finds them in the image itself (connected components), so it sees exactly what is on
the frame it is given and nothing on the frames the scheduler skips. Each case runs the whole
pipeline twice, ``every_frame`` and ``motion``, and checks that the crossings are the same and
that every frame from the one before a vehicle's anchor reaches the line to the frame its
crossing is counted was detected.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

from gatewatch.config import load_config, parse_config
from gatewatch.errors import ConfigError
from gatewatch.events import CrossingEvent
from gatewatch.sinks import MemorySink
from gatewatch.vision.pipeline import FrameResult, GatePipeline
from gatewatch.vision.schedule import anchor_distance, detection_roi, gate_region, segment_box_distance
from gatewatch.vision.sources import open_source
from tests.conftest import asset
from tests.vision.helpers import make_frame

FPS = 25.0
SIZE = (640, 360)
LINE_Y = 180

CAMERA = {
    "gate": "huu-nghi",
    "camera": "import-cam",
    "source": {"uri": "replayed"},
    "lanes": [{"id": "import-1", "line": [[100, LINE_Y], [540, LINE_Y]], "entry_heading": "down"}],
}


def camera_config(mode: str, **detect: object):
    data = copy.deepcopy(CAMERA)
    data["detect"] = {"schedule": {"mode": mode}, **detect}
    return parse_config(data)


class BoxFinder:
    """A detector that finds the bright boxes drawn on the frame (one ``car`` per box)."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, frame: np.ndarray) -> sv.Detections:
        self.calls += 1
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        count, _, stats, _ = cv2.connectedComponentsWithStats((grey > 100).astype(np.uint8))
        boxes = [(x, y, x + w, y + h) for x, y, w, h, area in stats[1:count].tolist() if area >= 50]
        n = len(boxes)
        return sv.Detections(
            xyxy=np.array(boxes, dtype=np.float32).reshape(-1, 4),
            confidence=np.full(n, 0.9, dtype=np.float32),
            class_id=np.full(n, 2, dtype=int),
            data={"class_name": np.array(["car"] * n)},
        )


@dataclass
class Vehicle:
    """A 60x40 box whose top-left corner is at ``(x + across * t, y0 + speed * t)``, ``t = i - start``, on
    frames ``start..end``; ``wobble`` moves it up and down that many pixels on alternate frames (a box the
    detector finds a little off each time: its motion never looks steady)."""

    x: float
    y0: float
    speed: float
    start: int = 0
    end: int = 10_000
    across: float = 0.0
    wobble: float = 0.0

    def box(self, i: int) -> tuple[int, int, int, int] | None:
        if not self.start <= i <= self.end:
            return None
        t = i - self.start
        x, y = self.x + self.across * t, self.y0 + self.speed * t + self.wobble * (-1) ** t
        return (round(x), round(y), round(x) + 60, round(y) + 40)


@dataclass
class Scene:
    vehicles: list[Vehicle]
    frames: int
    noise: list[int] = field(default_factory=list)

    def image(self, i: int) -> np.ndarray:
        image = np.full((SIZE[1], SIZE[0], 3), 40, dtype=np.uint8)
        for v in self.vehicles:
            box = v.box(i)
            if box is not None:
                cv2.rectangle(image, box[:2], box[2:], (210, 210, 210), -1)
        return image

    def reaches_line(self, v: Vehicle) -> int:
        """The first frame on which the vehicle's box centre is on or past the line."""
        return next(i for i in range(self.frames) if (b := v.box(i)) is not None and (b[1] + b[3]) / 2 >= LINE_Y)


def run(scene: Scene, mode: str) -> tuple[list[CrossingEvent], list[FrameResult], GatePipeline, BoxFinder]:
    detector = BoxFinder()
    sink = MemorySink()
    pipeline = GatePipeline(camera_config(mode), detector, sink, fps=FPS)
    results = [pipeline.process(make_frame(i, FPS, scene.image(i), SIZE)) for i in range(scene.frames)]
    pipeline.finish(results[-1].frame)
    crossings = [e for e in sink.events if isinstance(e, CrossingEvent)]
    return crossings, results, pipeline, detector


CASES = {
    # a fast car: 24 px a frame, 8 frames from the top of the region to the line
    "fast": Scene([Vehicle(x=200, y0=0, speed=24)], frames=16),
    # a slow car creeping over the line: 1.5 px a frame
    "slow": Scene([Vehicle(x=300, y0=90, speed=1.5)], frames=90),
    # an empty road for a second (the scheduler coasts), then a car enters at the region's border
    "entering": Scene([Vehicle(x=420, y0=40, speed=10, start=30)], frames=55),
    # a stationary queue: two held vehicles standing all along while one car passes the line
    "stationary queue": Scene(
        [Vehicle(x=110, y0=95, speed=0), Vehicle(x=190, y0=95, speed=0), Vehicle(x=400, y0=60, speed=6, start=40)],
        frames=90,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_scheduler_never_skips_a_crossing_frame(case):
    scene = CASES[case]
    every, _, _, every_detector = run(scene, "every_frame")
    gated, results, pipeline, detector = run(scene, "motion")
    assert every_detector.calls == scene.frames
    moving = [v for v in scene.vehicles if v.speed]
    assert len(every) == len(moving) == 1  # the scene is what the case says
    assert [(c.lane, c.direction, c.track_id, c.stream_ts) for c in gated] == [
        (c.lane, c.direction, c.track_id, c.stream_ts) for c in every
    ]
    counted = round(gated[0].stream_ts * FPS)
    for i in range(scene.reaches_line(moving[0]) - 1, counted + 1):
        assert results[i].detected, f"frame {i} (crossing counted on {counted}) was not detected"
    assert detector.calls == sum(r.detected for r in results)
    scheduler = pipeline.scheduler
    assert scheduler is not None
    assert max(_runs_of_skips(results)) < scheduler.max_interval


BUSY_CASES = {  # scene, and the most frames the detector may run on (None: crossings keep it busy)
    # one car crosses while another, 80 px past the line, drives along it with a wobbling box: that far
    # track never settles, and it must not keep the detector busy (it did on all 40 frames before)
    "far track settling": (
        Scene([Vehicle(x=400, y0=40, speed=8), Vehicle(x=100, y0=260, speed=0, across=3, wobble=2)], frames=40),
        30,
    ),
    # two cars cross one after the other while a third enters the region far from the line
    "busy road": (
        Scene(
            [Vehicle(x=120, y0=60, speed=10), Vehicle(x=330, y0=30, speed=7, start=8),
             Vehicle(x=520, y0=300, speed=-2, start=20)],
            frames=45,
        ),
        None,
    ),
}


@pytest.mark.parametrize("case", list(BUSY_CASES))
def test_busy_road_detects_each_crossing_and_lets_far_tracks_coast(case):
    """Every crossing of a busy road keeps its frames detected; the tracks far from the line coast."""
    scene, most = BUSY_CASES[case]
    every, _, _, _ = run(scene, "every_frame")
    gated, results, pipeline, detector = run(scene, "motion")
    crossing = [v for v in scene.vehicles if any((b := v.box(i)) and (b[1] + b[3]) / 2 >= LINE_Y
                                                 for i in range(v.start, scene.frames)) and v.y0 < LINE_Y]
    assert len(every) == len(crossing) >= 1  # the scene is what the case says
    assert [(c.lane, c.direction, c.track_id, c.stream_ts) for c in gated] == [
        (c.lane, c.direction, c.track_id, c.stream_ts) for c in every
    ]
    for vehicle, event in zip(sorted(crossing, key=scene.reaches_line), gated, strict=True):
        counted = round(event.stream_ts * FPS)
        for i in range(scene.reaches_line(vehicle) - 1, counted + 1):
            assert results[i].detected, f"frame {i} (crossing counted on {counted}) was not detected"
    assert detector.calls == sum(r.detected for r in results)
    assert pipeline.scheduler is not None
    assert max(_runs_of_skips(results)) < pipeline.scheduler.max_interval
    if most is not None:
        assert detector.calls <= most, "far tracks kept the detector busy"


def test_a_moving_track_in_a_dwell_zone_stays_detected():
    """A dwell zone is a target like a line: an unsteady track there is detected on every frame (it could
    take a held vehicle's track); the same track far from any line or zone coasts."""
    scene, _ = BUSY_CASES["far track settling"]
    far = Scene([scene.vehicles[1]], frames=scene.frames)  # the wobbling track alone, 80 px past the line
    data = copy.deepcopy(CAMERA)
    data["detect"] = {"schedule": {"mode": "motion"}}
    data["flags"] = {"held": {"zones": [{"id": "kerb", "polygon": [[60, 250], [600, 250], [600, 320], [60, 320]]}]}}
    calls = {}
    for name, config in (("zone", parse_config(data)), ("none", camera_config("motion"))):
        detector = BoxFinder()
        pipeline = GatePipeline(config, detector, MemorySink(), fps=FPS)
        for i in range(far.frames):
            pipeline.process(make_frame(i, FPS, far.image(i), SIZE))
        calls[name] = detector.calls
    assert calls["zone"] == far.frames
    assert calls["none"] <= far.frames // 2


def test_stationary_queue_coasts_with_the_same_tracks():
    """Held vehicles keep one track each all along (their dwell starts at frame 0) while the detector rests."""
    scene = CASES["stationary queue"]
    _, every, _, _ = run(scene, "every_frame")
    _, gated, pipeline, detector = run(scene, "motion")
    assert detector.calls < scene.frames * 0.6  # the queue alone does not keep the detector busy

    def held_ids(results: list[FrameResult]) -> set[int]:
        ids = set()
        for r in results[2:]:  # a track gets its id on its second detection
            for tid, box in zip(r.tracks.tracker_id.tolist(), r.tracks.xyxy, strict=True):
                if box[0] < 260:
                    ids.add(tid)
        return ids

    assert held_ids(gated) == held_ids(every) and len(held_ids(gated)) == 2
    for r in gated[2:]:
        held = [box for box in r.tracks.xyxy if box[0] < 260]
        assert len(held) == 2, f"frame {r.frame.index}: a held vehicle lost its track"
        assert all(abs(float(b[1]) - 95) < 3 for b in held)  # coasted boxes stay where the vehicles stand
    coasted = [r for r in gated if not r.detected]
    assert coasted and all(bool(r.tracks.data["coasted"].all()) for r in coasted)


def _runs_of_skips(results: list[FrameResult]) -> list[int]:
    runs, run_ = [0], 0
    for r in results:
        run_ = 0 if r.detected else run_ + 1
        runs.append(run_)
    return runs


def test_real_clip_counts_the_same_with_motion_scheduling(vehicle_detector):
    """The first 60 frames (2.4 s) of the motorway CCTV clip: the same crossings, at the same frames, with fewer detections."""
    uri = str(asset("videos/highway_cctv_trucks_320x240.avi"))
    base = load_config(Path(__file__).parents[2] / "samples" / "highway_cctv.yaml")
    out = {}
    for mode in ("every_frame", "motion"):
        config = base.model_copy(update={
            "source": base.source.model_copy(update={"uri": uri}),
            "detect": base.detect.model_copy(update={"schedule": base.detect.schedule.model_copy(update={"mode": mode})}),
        })
        source = open_source(config.source)
        sink = MemorySink()
        summary = GatePipeline(config, vehicle_detector, sink, fps=source.fps).run(source, max_frames=60,
                                                                                 progress_every_s=1e9)
        crossings = [(e.lane, e.direction, e.track_id, e.stream_ts) for e in sink.events if isinstance(e, CrossingEvent)]
        out[mode] = (crossings, summary)
    assert out["every_frame"][0], "no crossing in the first 60 frames: the test would prove nothing"
    assert out["motion"][0] == out["every_frame"][0]
    assert out["every_frame"][1].detected_frames == 60
    assert out["motion"][1].detected_frames <= 60


def test_auto_roi_covers_lines_and_zones_padded():
    config = camera_config("every_frame", roi="auto", region_pad_px=50)
    assert gate_region(config, SIZE) == (50, 130, 590, 230)
    assert detection_roi(config, SIZE) == (50, 130, 590, 230)
    assert detection_roi(camera_config("every_frame"), SIZE) is None  # 'full' by default
    assert detection_roi(camera_config("every_frame", roi=[0, 0, 640, 360]), SIZE) == (0, 0, 640, 360)
    data = copy.deepcopy(CAMERA)
    data["flags"] = {"held": {"zones": [{"id": "kerb", "polygon": [[10, 300], [80, 300], [80, 350]]}]}}
    data["detect"] = {"roi": "auto", "region_pad_px": 20}
    assert gate_region(parse_config(data), SIZE) == (0, 160, 560, 360)


def test_roi_boxes_come_back_in_frame_pixels():
    """The detector sees the ROI only; the pipeline's boxes are where the vehicles are on the frame."""
    scene = Scene([Vehicle(x=200, y0=150, speed=0), Vehicle(x=20, y0=10, speed=0)], frames=3)  # 2nd outside the ROI
    detector = BoxFinder()
    pipeline = GatePipeline(camera_config("every_frame", roi=[96, 84, 544, 276]), detector, MemorySink(), fps=FPS)
    results = [pipeline.process(make_frame(i, FPS, scene.image(i), SIZE)) for i in range(3)]
    assert pipeline.roi == (96, 84, 544, 276)
    np.testing.assert_allclose(results[-1].tracks.xyxy, [[200, 150, 261, 191]], atol=1)


@pytest.mark.parametrize(
    ("anchor", "box", "expected"),
    [
        ("center", [200, 100, 260, 140], 60.0),  # centre (230, 120), line at y 180
        ("bottom_center", [200, 100, 260, 140], 40.0),
        ("corners", [200, 100, 260, 140], 40.0),
        ("corners", [200, 170, 260, 190], 0.0),  # on the line
        ("center", [0, 160, 20, 200], 90.0),  # beside the segment's end (100, 180)
    ],
)
def test_distance_to_the_line(anchor, box, expected):
    line = ((100.0, 180.0), (540.0, 180.0))
    assert anchor_distance(line, anchor, np.array(box, dtype=np.float32)) == pytest.approx(expected, abs=1e-6)


def test_segment_box_distance_diagonal():
    assert segment_box_distance(((0, 0), (100, 100)), np.array([60, 0, 90, 20])) == pytest.approx(40 / 2**0.5)
    assert segment_box_distance(((0, 0), (100, 100)), np.array([40, 30, 60, 70])) == 0.0


GOOD_DETECT = [
    {},
    {"schedule": {"mode": "motion"}},
    {"schedule": {"mode": "motion", "max_interval_frames": 10, "line_margin_px": 0, "motion_width": 320}},
    {"schedule": {"mode": "motion", "lead_frames": 6, "max_speed_box_per_s": 4.5}},
    {"roi": "auto", "region_pad_px": 0},
    {"roi": [0, 0, 640, 360]},
    {"overlap": True, "overlap_threads": 2},
]

BAD_DETECT = [
    ({"schedule": {"mode": "sometimes"}}, ["detect.schedule.mode", "'every_frame' or 'motion'"]),
    ({"schedule": {"mode": "motion", "every": 3}}, ["detect.schedule.every: unknown field"]),
    ({"schedule": {"max_interval_frames": 0}}, ["detect.schedule.max_interval_frames", "greater than or equal to 1"]),
    ({"schedule": {"max_interval_frames": 500}}, ["detect.schedule.max_interval_frames", "less than or equal to 50"]),
    ({"schedule": {"line_margin_px": -1}}, ["detect.schedule.line_margin_px"]),
    ({"schedule": {"lead_frames": 0}}, ["detect.schedule.lead_frames", "greater than or equal to 1"]),
    ({"schedule": {"max_speed_box_per_s": 0}}, ["detect.schedule.max_speed_box_per_s", "greater than 0"]),
    ({"schedule": {"motion_threshold": 0}}, ["detect.schedule.motion_threshold"]),
    ({"schedule": {"background_alpha": 0}}, ["detect.schedule.background_alpha"]),
    ({"schedule": "motion"}, ["detect.schedule"]),
    ({"roi": "half"}, ["detect.roi"]),
    ({"roi": [10, 10, 20, 300]}, ["detect.roi", "at least 32 pixels"]),
    ({"roi": [-5, 0, 100, 100]}, ["detect.roi", "must not be negative"]),
    ({"roi": [0, 0, 100]}, ["detect.roi"]),
    ({"region_pad_px": -1}, ["detect.region_pad_px"]),
    ({"overlap_threads": 2}, ["detect", "only with overlap: true"]),
    ({"overlap": True, "overlap_threads": 0}, ["detect.overlap_threads"]),
]


@pytest.mark.parametrize("detect", GOOD_DETECT, ids=[repr(d) for d in GOOD_DETECT])
def test_schedule_and_roi_config_accepted(detect):
    data = copy.deepcopy(CAMERA)
    data["detect"] = detect
    assert parse_config(data).detect.schedule.mode in ("every_frame", "motion")


@pytest.mark.parametrize(("detect", "words"), BAD_DETECT, ids=[repr(d) for d, _ in BAD_DETECT])
def test_schedule_and_roi_config_refused(detect, words):
    data = copy.deepcopy(CAMERA)
    data["detect"] = detect
    with pytest.raises(ConfigError) as err:
        parse_config(data, "cam.yaml")
    message = str(err.value)
    assert message.startswith("cam.yaml: ")
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("roi", "words"),
    [([200, 0, 640, 360], ["detect.roi", "leaves out lanes.import-1.line"]), ([0, 0, 700, 360], ["outside the 640x360"])],
)
def test_roi_must_hold_the_lines_and_lie_in_the_frame(roi, words):
    from gatewatch.vision.runner import check_lanes

    class Source:
        size = SIZE

    config = camera_config("every_frame", roi=roi)
    with pytest.raises(ConfigError) as err:
        check_lanes(config, Source())  # type: ignore[arg-type]
    for word in words:
        assert word in str(err.value)
