"""Edge input that must not lose or invent frames silently (issue #10, "Edge input").

Real shared videos and images; files cut short in a temp folder; a loopback URL nobody
serves; the ``gatewatch`` command as a real process where exit codes and streams matter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from gatewatch.config import SourceConfig
from gatewatch.errors import SourceError
from gatewatch.vision.sources import ImageFolderSource, StreamSource, VideoFileSource, open_source
from tests.conftest import asset
from tests.vision.camera import MjpegCamera, free_port

STREET = "videos/street_parked_and_passing_vehicles_73s.mp4"
HIGHWAY_720P = "videos/highway_720p_cars.mp4"


def first_frames(path: Path, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = [cap.read()[1] for _ in range(count)]
    cap.release()
    return frames


def cut_file(source: Path, target: Path, fraction: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def gatewatch(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gatewatch.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def write_config(tmp_path: Path, uri: str, extra: str = "", line: str = "[[10, 150], [300, 150]]") -> Path:
    path = tmp_path / "cam.yaml"
    path.write_text(f"gate: g\ncamera: c\nsource:\n  uri: {uri}\n{extra}"
                    f"lanes:\n  - {{id: a, line: {line}, entry_heading: up}}\n")
    return path


def test_video_file_starts_at_its_first_frame_and_reads_to_the_end():
    """Opening a file must not seek: on this clip a rewind to frame 0 lands on frame 40."""
    path = asset(STREET)
    expected = first_frames(path, 2)
    source = VideoFileSource(SourceConfig(uri=str(path)))
    frames = list(source)
    source.close()
    assert np.array_equal(frames[0].image, expected[0]) and np.array_equal(frames[1].image, expected[1])
    assert [f.index for f in frames[:3]] == [0, 1, 2]
    assert len(frames) == source.stats.frames == 734
    assert source.stats.corrupt == 0 and source.stats.corrupt_indices == []
    assert source.stats.ended_early is False


@pytest.mark.parametrize(
    "video",
    ["highway_cctv_trucks_320x240.avi", "india_road_mixed_traffic_trucks_buses_motorbikes.mp4",
     "intel_car-detection_topdown_lane.mp4", "highway_720p_cars.mp4", "bgslibrary_topdown_road.avi"],
)
def test_healthy_files_have_no_corrupt_frames_and_end_on_time(video):
    source = VideoFileSource(SourceConfig(uri=str(asset(f"videos/{video}"))))
    count = sum(1 for _ in source)
    source.close()
    assert count == source.total_frames
    assert source.stats.corrupt == 0 and source.stats.ended_early is False


def test_file_cut_mid_stream_says_it_ended_early(tmp_path, caplog):
    cut = cut_file(asset(HIGHWAY_720P), tmp_path / "cut.mp4", 0.08)
    source = VideoFileSource(SourceConfig(uri=str(cut)))
    with caplog.at_level("WARNING", logger="gatewatch.vision.sources"):
        frames = list(source)
    source.close()
    assert len(frames) == source.stats.frames == 16
    assert source.stats.ended_early is True and source.stats.expected_frames == 335
    # The frames that never came are missing, not "corrupt": only the one damaged frame at the cut is.
    assert source.stats.corrupt == 1
    warnings = [r.getMessage() for r in caplog.records if "ended early" in r.getMessage()]
    assert warnings == ["cut.mp4 ended early: 16 of 335 frames (0.5 of 11.2 s); the file is cut short or damaged"]


@pytest.mark.slow
def test_cli_file_cut_short_summary_and_strict_exit(tmp_path):
    cut = cut_file(asset(HIGHWAY_720P), tmp_path / "cut.mp4", 0.08)
    config = write_config(tmp_path, str(cut), line="[[10, 400], [1200, 400]]")
    relaxed = gatewatch("run", "-c", str(config), "--events", str(tmp_path / "a.jsonl"), cwd=tmp_path)
    strict = gatewatch("run", "-c", str(config), "--events", str(tmp_path / "b.jsonl"), "--strict", cwd=tmp_path)
    assert relaxed.returncode == 0, relaxed.stderr[-2000:]
    assert strict.returncode == 5  # EXIT_INPUT_INCOMPLETE
    for result in (relaxed, strict):
        assert "ended early: 16 of 335 frames" in result.stdout.splitlines()
        assert "frames 16 (detected 16, corrupt skipped 1, dropped 0)" in result.stdout
        assert "cut.mp4 ended early: 16 of 335 frames" in result.stderr


def test_truncated_jpeg_in_a_folder_is_skipped_as_corrupt(tmp_path):
    frames = first_frames(asset("videos/highway_cctv_trucks_320x240.avi"), 5)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"{i:03d}.jpg"), frame)
    whole = (tmp_path / "002.jpg").read_bytes()
    (tmp_path / "002.jpg").write_bytes(whole[: len(whole) * 6 // 10])
    # The defect: OpenCV decodes the cut file without an error, the missing part grey.
    half_grey = cv2.imread(str(tmp_path / "002.jpg"))
    assert half_grey is not None and half_grey.shape == (240, 320, 3)
    source = ImageFolderSource(SourceConfig(uri=str(tmp_path), folder_fps=5))
    got = list(source)
    assert [f.index for f in got] == [0, 1, 3, 4]
    assert source.stats.corrupt == 1 and source.stats.corrupt_indices == [2]
    assert source.stats.frames == 4


def test_stream_down_at_start_follows_the_reconnect_policy():
    port = free_port()  # nobody listens there
    config = SourceConfig(uri=f"http://127.0.0.1:{port}/stream.mjpg",
                          reconnect={"max_attempts": 3, "initial_s": 0.1, "max_s": 0.2})
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        open_source(config)
    elapsed = time.monotonic() - started
    assert str(err.value) == f"cannot open stream: http://127.0.0.1:{port}/stream.mjpg (3 attempt(s) failed)"
    assert elapsed >= 0.2  # two waits of at least initial_s between the three attempts


def test_stream_down_at_start_is_awaited_when_attempts_are_unlimited():
    """``max_attempts: 0`` (forever): a camera that comes up after the edge box is awaited."""
    camera = MjpegCamera(first_frames(asset("videos/highway_cctv_trucks_320x240.avi"), 10), free_port())
    config = SourceConfig(uri=f"http://127.0.0.1:{camera.port}/stream.mjpg",
                          reconnect={"max_attempts": 0, "initial_s": 0.2, "max_s": 0.4})
    timer = threading.Timer(1.5, camera.start)
    timer.start()
    try:
        source = open_source(config)
        assert isinstance(source, StreamSource)
        assert source.stats.open_attempts >= 2 and source.size == (320, 240)
        for frame in source:
            assert frame.image.shape == (240, 320, 3)
            if source.stats.frames == 5:
                source.stop()
        source.close()
        assert source.stats.frames == 5
    finally:
        timer.join()
        camera.stop()


def test_cli_stream_down_exits_with_the_source_code_after_the_attempts(tmp_path):
    port = free_port()
    config = write_config(tmp_path, f"http://127.0.0.1:{port}/cam",
                          "  reconnect: {max_attempts: 2, initial_s: 0.1, max_s: 0.1}\n")
    result = gatewatch("run", "-c", str(config), cwd=tmp_path, timeout=120)
    assert result.returncode == 4
    errors = [line for line in result.stderr.splitlines() if line.startswith("gatewatch: error:")]
    assert errors == [f"gatewatch: error: cannot open stream: http://127.0.0.1:{port}/cam (2 attempt(s) failed)"]
    assert result.stderr.count("attempt 1 to open it failed") == 1


@pytest.mark.slow
def test_cli_events_on_stdout_are_pure_json_lines(tmp_path):
    config = write_config(tmp_path, str(asset("videos/highway_cctv_trucks_320x240.avi")), line="[[112, 150], [262, 150]]")
    result = gatewatch("run", "-c", str(config), "--events", "-", "--max-frames", "150", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    events = [json.loads(line) for line in lines]  # every line is one JSON event
    assert len(events) >= 1 and {e["kind"] for e in events} == {"crossing"}
    assert "Crossings at g/c" in result.stderr and "frames 150 " in result.stderr


NO_DOWNLOAD_PROBE = """
import json, sys
calls = []
NETWORK = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto", "urllib.Request"}
sys.addaudithook(lambda event, args: calls.append(event) if event in NETWORK else None)
from gatewatch.cli import main
code = main(["run", "-c", sys.argv[1], "--model", "yolov99-nosuch"])
print(json.dumps({"code": code, "network_calls": sorted(set(calls)),
                  "ultralytics": sorted(m for m in sys.modules if m.startswith("ultralytics"))}))
"""


def test_unknown_model_fails_fast_offline(tmp_path):
    config = write_config(tmp_path, str(asset("videos/highway_cctv_trucks_320x240.avi")))
    result = subprocess.run([sys.executable, "-c", NO_DOWNLOAD_PROBE, str(config)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"code": 3, "network_calls": [], "ultralytics": []}
    errors = [line for line in result.stderr.splitlines() if line.startswith("gatewatch: error:")]
    assert len(errors) == 1
    assert errors[0].startswith("gatewatch: error: model 'yolov99-nosuch' not found in ")
    assert errors[0].endswith("(or allow a download: model.download: true / --download-model)")
