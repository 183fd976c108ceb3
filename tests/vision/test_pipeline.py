"""The whole edge pipeline on real video, scored against the hand-counted truth."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import pytest

from gatewatch.config import load_config
from gatewatch.events import CrossingEvent, parse_event
from gatewatch.sinks import MemorySink
from gatewatch.vision.pipeline import GatePipeline
from gatewatch.vision.sources import open_source
from tests.conftest import asset

ROOT = Path(__file__).parents[2]
TRUTH = ROOT / "benchmarks" / "ground_truth"


def truth_counts(video_stem: str, max_frame: int | None = None) -> Counter:
    """(lane, direction) -> vehicles that really cross, from the committed annotation."""
    data = json.loads((TRUTH / f"{video_stem}.json").read_text())
    counts: Counter = Counter()
    for lane in data["lanes"]:
        for vehicle in lane["vehicles"]:
            if max_frame is None or vehicle["frame"] < max_frame:
                counts[(lane["id"], vehicle["direction"])] += 1
    return counts


def run_sample(sample: str, detector, max_frames: int | None = None, **output):
    config = load_config(ROOT / "samples" / sample)
    asset(config.source.uri.split("shared/assets/")[-1])
    if output:
        config = config.model_copy(update={"output": config.output.model_copy(update=output)})
    source = open_source(config.source)
    sink = MemorySink()
    summary = GatePipeline(config, detector, sink, fps=source.fps).run(
        source, max_frames=max_frames, annotate=config.output.annotate
    )
    source.close()
    return summary, sink.events


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sample", "video", "max_frames", "tolerance"),
    [
        ("highway_720p.yaml", "highway_720p_cars", None, 1),
        ("highway_cctv.yaml", "highway_cctv_trucks_320x240", 300, 2),
    ],
)
def test_counts_close_to_truth(sample, video, max_frames, tolerance, vehicle_detector, tmp_path):
    summary, events = run_sample(sample, vehicle_detector, max_frames, crops_dir=str(tmp_path / "crops"))
    truth = truth_counts(video, max_frames)
    got = Counter((e.lane, e.direction) for e in events)
    assert sum(truth.values()) >= 5  # the clip really has traffic to count
    for key in set(truth) | set(got):
        assert abs(got[key] - truth[key]) <= tolerance, (key, got[key], truth[key])
    # Each event is complete, each track counted once per lane, crops on disk.
    assert len({(e.lane, e.track_id) for e in events}) == len(events)
    for event in events:
        assert isinstance(event, CrossingEvent) and event.vehicle_class in {"car", "truck", "bus", "motorcycle"}
        assert Path(event.crop_path).is_file()
        assert parse_event(event.model_dump_json()) == event
    assert summary.crossings == len(events) and summary.corrupt_frames == 0
    assert summary.frames == (max_frames or 335)


def test_event_times_come_from_the_stream(vehicle_detector):
    summary, events = run_sample("highway_cctv.yaml", vehicle_detector, max_frames=120)
    assert events, "the first 120 frames hold crossings"
    config = load_config(ROOT / "samples" / "highway_cctv.yaml")
    for event in events:
        assert event.stream_ts == pytest.approx(event.frame_index / 25.0, abs=1e-3)
        assert (event.frame_time - config.source.start_time).total_seconds() == pytest.approx(event.stream_ts)


def gatewatch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gatewatch.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def write_config(tmp_path: Path, **source) -> Path:
    path = tmp_path / "cam.yaml"
    lines = ["gate: g", "camera: c", "source:"] + [f"  {k}: {v}" for k, v in source.items()]
    lines += ["lanes:", "  - {id: a, line: [[10, 150], [300, 150]], entry_heading: up}"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("setup", "code", "words"),
    [
        (lambda d: write_config(d, uri=str(d / "missing.mp4")), 4, "video not found"),
        (lambda d: write_config(d, uri="clip.mp4", colour="red"), 2, "source.colour: unknown field"),
        (lambda d: d / "no-config.yaml", 2, "config file not found"),
    ],
    ids=["missing-video", "wrong-field", "missing-config"],
)
def test_cli_bad_input_one_line_and_exit_code(tmp_path, setup, code, words):
    result = gatewatch("run", "--config", str(setup(tmp_path)), cwd=tmp_path)
    assert result.returncode == code
    errors = [line for line in result.stderr.splitlines() if line.startswith("gatewatch: error:")]
    assert len(errors) == 1 and words in errors[0]


def test_cli_model_that_is_not_a_model(tmp_path):
    video = asset("videos/highway_cctv_trucks_320x240.avi")
    bad_model = tmp_path / "model.onnx"
    bad_model.write_bytes(b"\x00" * 1000)
    result = gatewatch("run", "--config", str(write_config(tmp_path, uri=str(video))), "--model", str(bad_model),
                       cwd=tmp_path)
    assert result.returncode == 3
    assert "not a loadable ONNX model" in result.stderr


def test_cli_line_outside_frame(tmp_path):
    video = asset("videos/highway_cctv_trucks_320x240.avi")
    path = write_config(tmp_path, uri=str(video))
    path.write_text(path.read_text().replace("[300, 150]", "[900, 150]"))
    result = gatewatch("config", "check", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "outside the 320x240 frame" in result.stderr


@pytest.mark.slow
def test_cli_run_writes_events_annotation_and_summary(tmp_path):
    asset("videos/highway_cctv_trucks_320x240.avi")
    out = tmp_path / "events.jsonl"
    result = gatewatch("run", "-c", str(ROOT / "samples" / "highway_cctv.yaml"), "--events", str(out),
                       "--annotate", str(tmp_path / "annotated.mp4"), "--max-frames", "150", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    events = [parse_event(line) for line in out.read_text().splitlines()]
    assert events
    assert "Crossings at demo-gate/highway-cctv" in result.stdout
    assert "frames 150 " in result.stdout
    total_line = next(line for line in result.stdout.splitlines() if line.startswith("all "))
    assert total_line.split()[-1] == str(len(events))
    cap = cv2.VideoCapture(str(tmp_path / "annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 150


def test_sigterm_finishes_cleanly(tmp_path):
    """SIGTERM mid-run: exit 0, the summary printed, every event written and readable."""
    import signal
    import time

    video = asset("videos/highway_cctv_trucks_320x240.avi")
    config = tmp_path / "cam.yaml"
    config.write_text(
        (ROOT / "samples" / "highway_cctv.yaml").read_text()
        .replace("asset://videos/highway_cctv_trucks_320x240.avi", str(video))
        .replace("  start_time:", "  realtime: true\n  start_time:")
    )
    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "gatewatch.cli", "run", "-c", str(config), "--events", str(out)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out.exists() and out.stat().st_size):
        time.sleep(0.2)  # wait until the run has produced at least one event
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "received SIGTERM" in stderr
    frames = int(next(line for line in stdout.splitlines() if line.startswith("frames ")).split()[1])
    assert 0 < frames < 750  # stopped early, at a frame boundary
    events = [parse_event(line) for line in out.read_text().splitlines()]
    total_line = next(line for line in stdout.splitlines() if line.startswith("all "))
    assert len(events) >= 1 and total_line.split()[-1] == str(len(events))


def test_empty_plates_section_enables_plate_reading():
    """``plates: {}`` means "on, with defaults", not "off"."""
    from gatewatch.config import parse_config
    from gatewatch.errors import ModelError
    from gatewatch.vision.plates.detector import plate_model_path
    from gatewatch.vision.plates.lprnet import lprnet_model_path
    from gatewatch.vision.runner import build_plate_stage

    asset("weights/plate_detector/fastanpr_yolov8n_license_plate.pt")
    try:  # a fresh cache holds neither ONNX yet: build them once, as `gatewatch models export` would
        plate_model_path(export_if_missing=True)
        lprnet_model_path(export_if_missing=True)
    except ModelError as exc:
        pytest.skip(f"plate models unavailable: {exc}")
    config = parse_config({
        "gate": "g", "camera": "c", "source": {"uri": "x.mp4"}, "plates": {},
        "lanes": [{"id": "a", "line": [[0, 1], [9, 1]], "entry_heading": "down"}],
    })
    stage, wait_s = build_plate_stage(config)
    assert hasattr(stage, "plate_for") and wait_s > 0
    assert build_plate_stage(config.model_copy(update={"plates": None})) is None
