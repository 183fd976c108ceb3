"""Several cameras in one process (``gatewatch.vision.site``): the same events as single-camera runs,
isolation of a failing or stalled camera, and the site file's validation.

Real model and real shared clips, short pieces (``max_frames``). Events are compared line by line as
JSON; the only text rewritten before comparing is each run's own output folder (flag evidence paths),
since the two runs write to different temporary folders. Nothing else differs: event ids, frame times
and stream times come from the files, not the clock.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gatewatch.config import BatchConfig, CameraConfig, load_config, load_site
from gatewatch.errors import ConfigError, SourceError
from gatewatch.vision.runner import run_camera
from gatewatch.vision.site import SiteRunner, run_site
from gatewatch.vision.sources import Frame, FrameSource, open_source
from tests.conftest import asset

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def sample(name: str, out: Path, model: str | None = None) -> CameraConfig:
    """A sample camera config writing its events (and flag evidence) under ``out``."""
    asset("videos")
    config = load_config(SAMPLES / f"{name}.yaml")
    out.mkdir(parents=True, exist_ok=True)
    updates: dict[str, object] = {
        "output": config.output.model_copy(update={"events": str(out / f"{name}.jsonl")})
    }
    if config.flags is not None:
        updates["flags"] = config.flags.model_copy(update={"evidence_dir": str(out / "evidence")})
    if model:
        updates["model"] = config.model.model_copy(update={"name": model})
    return config.model_copy(update=updates)


def events(config: CameraConfig, out: Path) -> list[dict[str, object]]:
    text = Path(config.output.events).read_text(encoding="utf-8").replace(str(out), "<run>")
    return [json.loads(line) for line in text.splitlines()]


def single_runs(names: list[str], out: Path, frames: int) -> dict[str, list[dict[str, object]]]:
    """Each camera alone, as ``gatewatch run -c`` runs it."""
    result = {}
    for name in names:
        config = sample(name, out / name)
        run_camera(config, max_frames=frames, progress_every_s=60)
        result[name] = events(config, out / name)
    return result


def test_three_cameras_give_each_camera_its_single_camera_events(tmp_path):
    names = ["highway_720p", "highway_cctv", "street_parked_held"]
    alone = single_runs(names, tmp_path / "alone", frames=60)
    configs = [sample(name, tmp_path / "site" / name) for name in names]
    summary = run_site(configs, max_frames=60, progress_every_s=60)
    assert [c.state for c in summary.cameras] == ["finished"] * 3
    assert sum(map(len, alone.values())) > 0, (
        "the clip pieces must hold events, or the comparison says nothing"
    )
    for name, config in zip(names, configs, strict=True):
        assert events(config, tmp_path / "site" / name) == alone[name], name
    assert [c.summary.frames for c in summary.cameras] == [60, 60, 60]
    assert len(summary.models) == 1, "cameras naming the same model share one session"
    assert summary.frames == 180 and summary.peak_rss_mb > 0


def test_two_workers_give_each_camera_its_single_camera_events(tmp_path):
    """Cameras dealt over two loops on threads (each with its own session): the same JSON lines as alone."""
    names = ["highway_720p", "highway_cctv", "street_parked_held"]
    alone = single_runs(names, tmp_path / "alone", frames=45)
    configs = [sample(name, tmp_path / "site" / name) for name in names]
    summary = run_site(configs, max_frames=45, progress_every_s=60, workers=2)
    assert summary.workers == 2 and "2 workers" in summary.format_table()
    assert [c.config for c in summary.cameras] == configs, "the summary keeps the cameras' order"
    assert [c.state for c in summary.cameras] == ["finished"] * 3
    assert sum(map(len, alone.values())) > 0
    for name, config in zip(names, configs, strict=True):
        assert events(config, tmp_path / "site" / name) == alone[name], name
    assert len(summary.models) == 2, "one session per loop"
    assert summary.frames == 135


class _FailingDetector:
    """Stands in for one camera's detector: raises on every frame (a broken model or provider)."""

    def __init__(self, real: object) -> None:
        self.model = real.model  # type: ignore[attr-defined]

    def predict(self, image: object) -> object:
        raise RuntimeError("the detector broke")


def test_a_camera_whose_detector_fails_is_left_behind_and_the_others_go_on(tmp_path):
    from gatewatch.vision.site import SiteRunner

    good = sample("highway_cctv", tmp_path / "good")
    bad = sample("highway_cctv", tmp_path / "bad").model_copy(update={"camera": "cam-bad"})
    runner = SiteRunner([good, bad], max_frames=30, progress_every_s=60)
    opened = runner._open

    def open_with_a_broken_detector(camera):  # the second camera's detector fails once it runs
        opened(camera)
        if camera.config.camera == "cam-bad":
            camera.detector = _FailingDetector(camera.detector)

    runner._open = open_with_a_broken_detector  # type: ignore[method-assign]
    summary = runner.run()
    states = {c.config.camera: (c.state, c.reason) for c in summary.cameras}
    assert states["highway-cctv"] == ("finished", "")
    assert states["cam-bad"][0] == "failed" and "detector error" in states["cam-bad"][1]
    assert {c.config.camera: c.summary.frames for c in summary.cameras} == {"highway-cctv": 30, "cam-bad": 0}


def test_batched_inference_and_motion_schedule_give_the_single_camera_events(tmp_path):
    """A batch-dynamic model: frames of two cameras go through one call; one camera skips frames (motion)."""
    names = [
        "highway_720p",
        "intel_topdown_lane",
    ]  # the top-down lane is empty between cars: motion skips frames
    alone: dict[str, list[dict[str, object]]] = {}
    configs = []
    for name in names:
        for where in ("alone", "site"):
            config = sample(name, tmp_path / where / name, model="yolov8n-batch")
            if name == "intel_topdown_lane":
                detect = config.detect.model_copy(
                    update={"schedule": config.detect.schedule.model_copy(update={"mode": "motion"})}
                )
                config = config.model_copy(update={"detect": detect})
            if where == "alone":
                run_camera(config, max_frames=60, progress_every_s=60)
                alone[name] = events(config, tmp_path / where / name)
            else:
                configs.append(config)
    summary = run_site(configs, batch=BatchConfig(max_size=4, wait_ms=50), max_frames=60, progress_every_s=60)
    assert summary.models[0]["batch_dynamic"] is True
    assert summary.mean_batch > 1.0, "two cameras' frames should share inference calls"
    lane = summary.cameras[1].summary
    assert lane.detected_frames < lane.frames, "the motion schedule should skip some frames"
    assert sum(map(len, alone.values())) > 0
    for name, config in zip(names, configs, strict=True):
        assert events(config, tmp_path / "site" / name) == alone[name], name


class _Breaks(FrameSource):
    """A real clip that raises after ``after`` frames (``stall``: stops delivering instead, without ending)."""

    def __init__(self, inner: FrameSource, after: int, stall: bool = False) -> None:
        super().__init__()
        self.inner, self.after, self.stall = inner, after, stall
        self.fps, self.size, self.total_frames, self.identity = (
            inner.fps,
            inner.size,
            inner.total_frames,
            inner.identity,
        )

    def stop(self) -> None:
        super().stop()
        self.inner.stop()

    def __iter__(self) -> Iterator[Frame]:
        for k, frame in enumerate(self.inner):
            if k == self.after:
                if self.stall:
                    self._stop.wait()  # hung: no frame and no end, until asked to stop
                    return
                raise SourceError("camera dropped mid-stream (test)")
            self.stats.frames += 1
            yield frame

    def close(self) -> None:
        self.inner.close()


def test_a_failing_or_stalled_camera_does_not_stop_the_others(tmp_path):
    good = sample("highway_cctv", tmp_path / "good")
    broken = sample("highway_cctv", tmp_path / "broken").model_copy(update={"camera": "cam-broken"})
    stalled = sample("highway_cctv", tmp_path / "stalled").model_copy(update={"camera": "cam-stalled"})
    missing = good.model_copy(
        update={
            "camera": "cam-missing",
            "source": good.source.model_copy(update={"uri": str(tmp_path / "nosuch.avi")}),
            "output": good.output.model_copy(update={"events": str(tmp_path / "missing.jsonl")}),
        }
    )

    def opener(config: CameraConfig) -> FrameSource:
        source = open_source(config.source)
        if config.camera == "cam-broken":
            return _Breaks(source, after=5)
        if config.camera == "cam-stalled":
            return _Breaks(source, after=5, stall=True)
        return source

    summary = run_site(
        [good, broken, stalled, missing],
        stall_s=1.0,
        max_frames=40,
        progress_every_s=60,
        source_opener=opener,
    )
    states = {c.config.camera: (c.state, c.reason) for c in summary.cameras}
    assert states["highway-cctv"] == ("finished", "")
    assert states["cam-broken"][0] == "failed" and "dropped mid-stream" in states["cam-broken"][1]
    assert states["cam-stalled"][0] == "stalled" and "no frame" in states["cam-stalled"][1]
    assert states["cam-missing"][0] == "failed" and "video not found" in states["cam-missing"][1]
    frames = {c.config.camera: c.summary.frames for c in summary.cameras}
    assert frames == {"highway-cctv": 40, "cam-broken": 5, "cam-stalled": 5, "cam-missing": 0}
    assert len(summary.failed) == 3
    table = summary.format_table()
    assert "camera stalled: no frame" in table and "camera failed: could not start" in table
    for config in (broken, stalled):  # sinks flushed and closed: the files exist and hold whole lines
        path = Path(config.output.events)
        assert path.is_file() and all(json.loads(line) for line in path.read_text().splitlines())


class _Hangs(FrameSource):
    """A real clip whose decoder hangs after ``after`` frames and does not hear ``stop`` (a dead RTSP camera)."""

    def __init__(self, inner: FrameSource, after: int, release: threading.Event) -> None:
        super().__init__()
        self.inner, self.after, self.release = inner, after, release
        self.fps, self.size, self.total_frames, self.identity = inner.fps, inner.size, inner.total_frames, inner.identity

    def __iter__(self) -> Iterator[Frame]:
        for k, frame in enumerate(self.inner):
            if k == self.after:
                self.release.wait()  # stuck until the test ends
                return
            self.stats.frames += 1
            yield frame

    def close(self) -> None:
        self.inner.close()


def test_hung_cameras_share_one_close_grace_at_shutdown(tmp_path):
    """Two cameras hung in their decoders: the shutdown waits one grace in all, not one per camera."""
    release = threading.Event()
    cameras = [sample("highway_cctv", tmp_path / name).model_copy(update={"camera": name}) for name in ("cam-a", "cam-b")]
    runner = SiteRunner(cameras, stall_s=60.0, progress_every_s=60,
                        source_opener=lambda config: _Hangs(open_source(config.source), after=3, release=release))
    runner.close_grace_s = 1.5
    stopped_at: list[float] = []

    def stop_when_hung() -> None:
        while sum(c.summary.frames for c in runner.summary.cameras) < 6:
            time.sleep(0.05)
        stopped_at.append(time.monotonic())
        runner.stop()

    stopper = threading.Thread(target=stop_when_hung, daemon=True)
    stopper.start()
    try:
        summary = runner.run()
        ended = time.monotonic() - stopped_at[0]
    finally:
        release.set()
    assert [c.summary.frames for c in summary.cameras] == [3, 3]
    assert [c.state for c in summary.cameras] == ["finished", "finished"]
    # one shared grace (1.5 s); a grace per camera would take 3 s or more
    assert 1.4 <= ended < 2.6, f"shutdown took {ended:.2f} s"


# -- site file -------------------------------------------------------------------------------------


def _camera(folder: Path, name: str, gate: str = "demo-gate", events: str | None = None, annotate: str | None = None) -> Path:
    asset("videos/highway_cctv_trucks_320x240.avi")
    data = yaml.safe_load((SAMPLES / "highway_cctv.yaml").read_text())
    data.update(gate=gate, camera=name, output={"events": events or f"out/{name}.jsonl", "annotate": annotate})
    path = folder / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def _site(folder: Path, **fields: object) -> Path:
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump({"gate": "demo-gate", **fields}))
    return path


def test_site_file_paths_are_relative_to_the_site_file(tmp_path, monkeypatch):
    _camera(tmp_path / "cams", "cam-a")
    _camera(tmp_path / "cams", "cam-b")
    site_path = _site(
        tmp_path,
        cameras=["cams/cam-a.yaml", "cams/cam-b.yaml"],
        model={"name": "yolov8n-fp32"},
        batch={"max_size": 2},
        stall_s=2,
    )
    monkeypatch.chdir(tmp_path / "cams")  # not the site file's folder
    site = load_site(site_path)
    assert [c.camera for c in site.cameras] == ["cam-a", "cam-b"]
    assert {c.model.name for c in site.cameras} == {
        "yolov8n-fp32"
    }  # the site's model overrides each camera's
    assert site.config.batch.max_size == 2 and site.config.stall_s == 2


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no site file", "site file not found"),
        ("camera file missing", "cameras.1: camera config not found"),
        ("duplicate camera ids", "camera ids must be unique, repeated: ['demo-gate/cam-a']"),
        ("same events file", "two cameras write the same events file"),
        ("same events file spelled otherwise", "two cameras write the same events file"),
        ("same annotated video", "two cameras write the same annotated video"),
        ("bad workers", "workers: Input should be greater than or equal to 1"),
        ("other gate", "is at gate 'other-gate', the site is 'demo-gate'"),
        ("no cameras", "cameras: List should have at least 1 item"),
        ("unknown field", "site.yaml: batching: unknown field"),
        ("bad stall_s", "stall_s: Input should be greater than 0"),
    ],
)
def test_site_file_validation(tmp_path, case, message):
    cams = tmp_path / "cams"
    a = _camera(cams, "cam-a")
    fields: dict[str, object] = {"cameras": ["cams/cam-a.yaml", "cams/cam-b.yaml"]}
    _camera(cams, "cam-b")
    if case == "camera file missing":
        fields["cameras"] = ["cams/cam-a.yaml", "cams/nosuch.yaml"]
    elif case == "duplicate camera ids":
        (cams / "copy").mkdir()
        (cams / "copy" / "cam-a.yaml").write_text(a.read_text().replace("out/cam-a", "out/copy"))
        fields["cameras"] = ["cams/cam-a.yaml", "cams/copy/cam-a.yaml"]
    elif case == "same events file":
        _camera(cams, "cam-c", events="out/cam-a.jsonl")
        fields["cameras"] = ["cams/cam-a.yaml", "cams/cam-c.yaml"]
    elif case == "same events file spelled otherwise":
        _camera(cams, "cam-c", events="./out/../out/cam-a.jsonl")
        fields["cameras"] = ["cams/cam-a.yaml", "cams/cam-c.yaml"]
    elif case == "same annotated video":
        _camera(cams, "cam-e", annotate="out/gate.mp4")
        _camera(cams, "cam-f", annotate="out/gate.mp4")
        fields["cameras"] = ["cams/cam-e.yaml", "cams/cam-f.yaml"]
    elif case == "bad workers":
        fields["workers"] = 0
    elif case == "other gate":
        _camera(cams, "cam-d", gate="other-gate")
        fields["cameras"] = ["cams/cam-a.yaml", "cams/cam-d.yaml"]
    elif case == "no cameras":
        fields["cameras"] = []
    elif case == "unknown field":
        fields["batching"] = {"max_size": 2}
    elif case == "bad stall_s":
        fields["stall_s"] = 0
    path = _site(tmp_path, **fields) if case != "no site file" else tmp_path / "nosuch.yaml"
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert message in str(err.value)


def _two_camera_site(tmp_path: Path) -> Path:
    """A site file of two copies of the CCTV sample camera (``cam-a``, ``cam-b``)."""
    _camera(tmp_path / "cams", "cam-a")
    _camera(tmp_path / "cams", "cam-b")
    return _site(tmp_path, cameras=["cams/cam-a.yaml", "cams/cam-b.yaml"])


def test_cli_site_run_prints_each_camera_and_the_site_line(tmp_path):
    site_path = _two_camera_site(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "gatewatch.cli", "run", "--site", str(site_path), "--max-frames", "10"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "Crossings at demo-gate/cam-a" in run.stdout and "Crossings at demo-gate/cam-b" in run.stdout
    assert "site: 2 cameras (0 failed or stalled), frames 20" in run.stdout
    assert (tmp_path / "out" / "cam-a.jsonl").is_file() and (tmp_path / "out" / "cam-b.jsonl").is_file()
    both = subprocess.run(
        [
            sys.executable,
            "-m",
            "gatewatch.cli",
            "run",
            "-c",
            str(tmp_path / "cams" / "cam-a.yaml"),
            "-c",
            str(tmp_path / "cams" / "cam-a.yaml"),
            "--max-frames",
            "5",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert both.returncode == 2 and "camera ids must be unique" in both.stderr


def test_workers_with_one_camera_is_refused_not_ignored(tmp_path):
    camera = _camera(tmp_path / "cams", "cam-a")
    run = subprocess.run(
        [sys.executable, "-m", "gatewatch.cli", "run", "-c", str(camera), "--workers", "2", "--max-frames", "5"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2 and "--workers 2: for several cameras" in run.stderr
    assert not list(tmp_path.rglob("*.jsonl"))  # refused before anything ran


def test_sigterm_stops_every_camera_cleanly(tmp_path):
    site_path = _two_camera_site(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatewatch.cli", "run", "--site", str(site_path), "--progress", "0.5"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # the first progress line: both cameras are running
        if "site:" in line:
            break
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert "site: 2 cameras (0 failed or stalled)" in out
    frames = [int(line.split()[1]) for line in out.splitlines() if line.startswith("frames ")]
    assert len(frames) == 2 and all(0 < n < 750 for n in frames), (
        "both stopped early, neither ran to the clip's end"
    )
    for name in ("cam-a", "cam-b"):  # sinks closed: whole JSON lines only
        lines = (tmp_path / "out" / f"{name}.jsonl").read_text().splitlines()
        assert all(json.loads(line) for line in lines)


def test_cameras_share_a_session_only_when_the_file_and_settings_match(tmp_path, monkeypatch):
    """``model.imgsz: auto`` picks a file per frame size: a 720p and a 320x240 camera get different sessions."""
    from gatewatch.vision.site import model_key

    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    config = load_config(SAMPLES / "highway_720p.yaml")
    auto = config.model_copy(update={"model": config.model.model_copy(update={"imgsz": "auto"})})
    wide, cctv = model_key(auto, (1280, 720)), model_key(auto, (320, 240))
    assert wide != cctv and "_384x640_" in Path(wide[0]).name and "_480x640_" in Path(cctv[0]).name
    assert model_key(auto, (1920, 1080)) == wide  # same trimmed size: one shared session
    two_threads = config.model_copy(update={"model": config.model.model_copy(update={"threads": 2})})
    assert model_key(config, (1280, 720)) != model_key(two_threads, (1280, 720))
