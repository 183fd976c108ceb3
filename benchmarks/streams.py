"""Streams benchmark: how many 720p cameras one box sustains at 15 FPS each, gatewatch vs Ultralytics.

Every camera is the shared 720p clip (``samples/highway_720p.yaml``: its lines, its clip) looped and
paced like a live camera: every frame is decoded on the camera's own reader thread and released on a
15 FPS clock; a reader that finds the pipeline's queue full drops the oldest frame, as for a live
stream. Per N cameras:

- gatewatch: one process, the site runner (``gatewatch.vision.site``): one shared detector session,
  frames of the cameras batched per round, each camera its own tracker and lines.
- Ultralytics: one process per camera, ``solutions.ObjectCounter`` + ByteTrack on the same ONNX file
  (the harness of ``benchmarks/counting.py``, imported), started together after every process has
  loaded its model.

A camera is sustained when it processed frames at >= 14.5 FPS, dropped none, its lag (processing
time minus release time) stayed under 1 s, and it counted the crossings of a single-camera run of the
same frames without pacing (no crossing lost; each engine against its own single run).

Run: ``python benchmarks/streams.py`` (full: 1-6 cameras, 30 s each) or ``--quick`` (1-2 cameras, 6 s).
Writes ``benchmarks/results/streams.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from changes import with_overrides  # noqa: E402
from counting import MODELS, peak_rss_mb, ultralytics_counters, ultralytics_counts  # noqa: E402

from gatewatch.vision.sources import Frame, FrameSource  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = "highway_720p"
FPS = 15.0
MIN_FPS = 14.5
MAX_LAG_S = 1.0
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
MODEL_NAMES = {**MODELS, "fp32-batch": "yolov8n-batch"}  # --model -> registry name


class PacedLoop(FrameSource):
    """A clip looped to ``frames`` frames; with ``paced`` each is decoded, then released at ``k / fps`` (a live camera)."""

    def __init__(self, path: str, frames: int, fps: float = FPS, paced: bool = True) -> None:
        super().__init__()
        self.path, self.frames, self.fps, self.paced = path, frames, fps, paced
        self.live = paced  # a live camera: the reader drops the oldest frame when the pipeline is behind
        cap = cv2.VideoCapture(path)
        ok, first = cap.read()
        cap.release()
        if not ok:
            raise RuntimeError(f"cannot read {path}")
        self.size = (first.shape[1], first.shape[0])
        self.total_frames = frames
        self.t0 = 0.0  # time.monotonic() of frame 0's release

    def __iter__(self):  # type: ignore[no-untyped-def]
        cap = cv2.VideoCapture(self.path)
        self.t0 = time.monotonic()
        try:
            for k in range(self.frames):
                if self._stop.is_set():
                    break
                ok, image = cap.read()
                if not ok:  # the end of the clip: loop
                    cap.release()
                    cap = cv2.VideoCapture(self.path)
                    ok, image = cap.read()
                if self.paced:
                    delay = self.t0 + k / self.fps - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                self.stats.frames += 1
                yield Frame(image, k, k / self.fps, T0 + timedelta(seconds=k / self.fps))
        finally:
            cap.release()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def camera_result(
    frames: int, dropped: int, lags: list[float], last_done: float, t0: float, crossings: int
) -> dict:
    span = last_done - t0 + 1 / FPS
    lag = np.array(lags) if lags else np.zeros(1)
    return {
        "frames": frames,
        "dropped": dropped,
        "fps": frames / span if span > 0 else 0.0,
        "lag_p95": float(np.percentile(lag, 95)),
        "lag_max": float(lag.max()),
        "crossings": crossings,
    }


# -- children ---------------------------------------------------------------------------------------


def child_gatewatch(
    streams: int, frames: int, model: str, schedule: str, paced: bool, overrides: dict[str, Any] | None = None,
    workers: int = 1,
) -> dict:
    """N cameras in one site runner process; ``overrides``: camera-config fields (``model.threads``: 2)."""
    from gatewatch.config import BatchConfig, load_config
    from gatewatch.vision.site import CameraRun, run_site

    base = load_config(ROOT / "samples" / f"{SAMPLE}.yaml")
    configs = [
        base.model_copy(
            update={
                "camera": f"cam-{k}",
                "output": base.output.model_copy(update={"events": ""}),
                "model": base.model.model_copy(update={"name": MODEL_NAMES[model]}),
                "detect": base.detect.model_copy(
                    update={"schedule": base.detect.schedule.model_copy(update={"mode": schedule})}
                ),
            }
        )
        for k in range(streams)
    ]
    configs = [with_overrides(c, overrides or {}) for c in configs]
    sources: dict[str, PacedLoop] = {}
    lags: dict[str, list[float]] = {c.camera: [] for c in configs}
    done: dict[str, float] = {}
    cpu_start: list[float] = []

    def opener(config: Any) -> FrameSource:
        sources[config.camera] = PacedLoop(config.source.uri, frames, paced=paced)
        return sources[config.camera]

    def on_frame(camera: CameraRun, result: Any) -> None:
        now = time.monotonic()
        if not cpu_start:
            cpu_start.extend((cpu_seconds(), now))
        source = sources[camera.config.camera]
        lags[camera.config.camera].append(now - (source.t0 + result.frame.ts))
        done[camera.config.camera] = now

    summary = run_site(
        configs,
        batch=BatchConfig(max_size=8),
        stall_s=30,
        progress_every_s=1e9,
        source_opener=opener,
        workers=workers,
        on_frame=on_frame,
    )
    cpu = cpu_seconds() - cpu_start[0] if cpu_start else 0.0
    wall = (max(done.values()) - cpu_start[1]) if cpu_start else 0.0
    cameras = [
        camera_result(
            c.summary.frames,
            c.summary.dropped_frames,
            lags[c.config.camera],
            done.get(c.config.camera, 0.0),
            sources[c.config.camera].t0,
            c.summary.crossings,
        )
        for c in summary.cameras
    ]
    return {
        "cameras": cameras,
        "cpu_pct": 100 * cpu / wall if wall > 0 else 0.0,
        "rss_mb": [peak_rss_mb()],
        "mean_batch": summary.mean_batch,
        "states": [c.state for c in summary.cameras],
    }


def child_ultralytics(frames: int, model: str, paced: bool, wait_go: bool) -> dict:
    """One camera: ObjectCounter per lane on a paced loop of the clip, frames decoded on a reader thread."""
    from gatewatch.vision.sources import Prefetcher

    config, counters, _ = ultralytics_counters(SAMPLE, MODELS[model if model in MODELS else "fp32"])
    cap = cv2.VideoCapture(config.source.uri)
    ok, image = cap.read()
    cap.release()
    counters[0].model.predict(image, verbose=False)  # load and warm up before the start
    if wait_go:
        print("READY", flush=True)
        sys.stdin.readline()
    source = PacedLoop(config.source.uri, frames, paced=paced)
    reader = Prefetcher(source)
    lags: list[float] = []
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    last_done = wall0
    count = 0
    for frame in reader:
        for counter in counters:
            counter.process(frame.image)
        last_done = time.monotonic()
        lags.append(last_done - (source.t0 + frame.ts))
        count += 1
    cpu, wall = cpu_seconds() - cpu0, time.monotonic() - wall0
    crossings = sum(v["entry"] + v["exit"] for v in ultralytics_counts(config, counters).values())
    return {
        "cameras": [camera_result(count, reader.dropped, lags, last_done, source.t0, crossings)],
        "cpu_pct": 100 * cpu / wall if wall > 0 else 0.0,
        "rss_mb": [peak_rss_mb()],
    }


# -- parent -----------------------------------------------------------------------------------------


def _child_cmd(args: argparse.Namespace, engine: str, streams: int, paced: bool) -> list[str]:
    return [
        sys.executable,
        __file__,
        "--child",
        engine,
        "--child-streams",
        str(streams),
        "--frames",
        str(args.frames),
        "--model",
        args.model,
        "--schedule",
        args.schedule,
        *([] if paced else ["--unpaced"]),
        *[f"--set={item}" for item in args.set],
        "--workers",
        str(args.workers),
    ]


def _result(output: str) -> dict:
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"child gave no result:\n{output[-3000:]}")
    return json.loads(lines[-1][7:])


def run_gatewatch(args: argparse.Namespace, streams: int, paced: bool = True) -> dict:
    run = subprocess.run(_child_cmd(args, "gatewatch", streams, paced), capture_output=True, text=True)
    return _result(run.stdout + run.stderr)


def run_ultralytics(args: argparse.Namespace, streams: int, paced: bool = True) -> dict:
    """N processes, released together once all have loaded the model."""
    procs = [
        subprocess.Popen(
            [*_child_cmd(args, "ultralytics", 1, paced), "--wait-go"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(streams)
    ]
    for proc in procs:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("READY"):
                break
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("GO\n")
        proc.stdin.flush()
    results = [_result(proc.communicate()[0]) for proc in procs]
    return {
        "cameras": [c for r in results for c in r["cameras"]],
        "cpu_pct": sum(r["cpu_pct"] for r in results),
        "rss_mb": [m for r in results for m in r["rss_mb"]],
    }


def batch_timing(repeats: int = 5) -> str:
    """ms per frame of the batch-dynamic fp32 model at batch 1, 2, 4 (1 onnxruntime thread, as gatewatch runs it)."""
    from gatewatch.models.onnx import OnnxModel
    from gatewatch.models.registry import resolve_model

    model = OnnxModel(resolve_model("yolov8n-batch"), threads=1)
    rng = np.random.default_rng(0)
    cells = []
    for size in (1, 2, 4):
        batch = rng.random((size, 3, *model.imgsz), dtype=np.float32)
        model.run(batch)
        start = time.perf_counter()
        for _ in range(repeats):
            model.run(batch)
        cells.append(f"batch {size}: {(time.perf_counter() - start) / repeats / size * 1000:.1f} ms/frame")
    return ", ".join(cells)


def sustained(result: dict, reference: int) -> bool:
    return all(
        c["fps"] >= MIN_FPS and c["dropped"] == 0 and c["lag_max"] < MAX_LAG_S and c["crossings"] == reference
        for c in result["cameras"]
    )


def row(engine: str, n: int, result: dict, reference: int, rss_one: float | None) -> list[str]:
    cams = result["cameras"]
    fps = [c["fps"] for c in cams]
    total_rss = sum(result["rss_mb"])
    per_added = f"{(total_rss - rss_one) / (n - 1):.0f}" if rss_one is not None and n > 1 else "-"
    crossings = sorted({c["crossings"] for c in cams})
    return [
        engine,
        str(n),
        "yes" if sustained(result, reference) else "no",
        f"{min(fps):.1f} / {np.mean(fps):.1f}",
        str(sum(c["dropped"] for c in cams)),
        f"{max(c['lag_p95'] for c in cams):.2f} / {max(c['lag_max'] for c in cams):.2f}",
        f"{'/'.join(map(str, crossings))} of {reference}",
        f"{result['cpu_pct']:.0f}",
        f"{total_rss:.0f}",
        per_added,
        f"{result['mean_batch']:.2f}" if "mean_batch" in result else "-",
    ]


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["model.threads=2"]`` -> ``{"model.threads": 2}`` (values read as YAML)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set {item!r}: expected FIELD=VALUE")
        out[key.strip()] = yaml.safe_load(value)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="1,2,3,4,5,6", help="camera counts to try, e.g. 1,2,4")
    parser.add_argument("--seconds", type=float, default=30.0, help="paced seconds per camera")
    parser.add_argument(
        "--model",
        choices=sorted(MODEL_NAMES),
        default="fp32",
        help="fp32, int8 (static QDQ), or fp32-batch (gatewatch only: batch-dynamic copy; Ultralytics gets fp32)",
    )
    parser.add_argument(
        "--schedule",
        choices=["every_frame", "motion"],
        default="every_frame",
        help="gatewatch's detect.schedule (Ultralytics detects every frame)",
    )
    parser.add_argument("--engines", default="gatewatch,ultralytics")
    parser.add_argument("--workers", type=int, default=1, help="gatewatch: site runner loops (threads), each with its own sessions")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="gatewatch camera-config override, repeatable: model.threads=2, model.spinning=false, "
                             "model.imgsz=[384,640] (YAML values)")
    parser.add_argument("--quick", action="store_true", help="1 and 2 cameras, 6 s each")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "streams.md"))
    parser.add_argument("--child", choices=["gatewatch", "ultralytics"], help=argparse.SUPPRESS)
    parser.add_argument("--child-streams", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--unpaced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--wait-go", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "gatewatch":
            result = child_gatewatch(
                args.child_streams, args.frames, args.model, args.schedule, not args.unpaced, parse_overrides(args.set),
                args.workers,
            )
        else:
            result = child_ultralytics(args.frames, args.model, not args.unpaced, args.wait_go)
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    if args.quick:
        args.streams, args.seconds = "1,2", 6.0
    args.frames = round(args.seconds * FPS)
    counts = [int(n) for n in args.streams.split(",")]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    command = "python benchmarks/streams.py " + " ".join(sys.argv[1:])
    load_start = Path("/proc/loadavg").read_text().split()[0]
    started = datetime.now(timezone.utc)
    rows: list[list[str]] = []
    best: dict[str, int] = {}
    references: dict[str, int] = {}
    for engine in engines:
        runner = run_gatewatch if engine == "gatewatch" else run_ultralytics
        single = runner(args, 1, paced=False)
        references[engine] = single["cameras"][0]["crossings"]
        rss_one: float | None = None
        for n in counts:
            result = runner(args, n)
            if n == 1:
                rss_one = sum(result["rss_mb"])
            rows.append(row(engine, n, result, references[engine], rss_one))
            if sustained(result, references[engine]):
                best[engine] = max(best.get(engine, 0), n)
            print(" | ".join(rows[-1]), flush=True)
    batching = batch_timing()
    load_end = Path("/proc/loadavg").read_text().split()[0]
    header = [
        "engine",
        "cameras",
        "sustained",
        "FPS per camera min / mean",
        "dropped",
        "lag s p95 / max",
        "crossings per camera (single run)",
        "CPU % (of one core)",
        "peak RSS MB total",
        "MB per added camera",
        "mean batch",
    ]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(r) + " |" for r in rows
    ]
    text = (
        "## Streams: 720p cameras at 15 FPS each on one box\n\n"
        f"Command: `{command}`  \n"
        f"Date: {started:%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); "
        f"1-minute load average {load_start} at start, {load_end} at end.  \n"
        f"Each camera: `{SAMPLE}` clip looped, {args.frames} frames released at {FPS:g} FPS (every frame decoded); "
        f"model `{MODEL_NAMES[args.model]}`, gatewatch schedule `{args.schedule}`"
        f"{', gatewatch settings ' + ', '.join(f'`{s}`' for s in args.set) if args.set else ''}"
        f"{f', gatewatch workers {args.workers}' if args.workers > 1 else ''}.  \n"
        f"Sustained: every camera >= {MIN_FPS} FPS, no frame dropped, lag < {MAX_LAG_S:g} s, and its crossings equal "
        "its engine's single-camera run of the same frames without pacing. A load average above ~2 on a 2-core box "
        "means other jobs shared the CPU: the counts sustained are then not the idle capacity.\n\n"
        + "\n".join(table)
        + "\n\n"
        + "Most cameras sustained: "
        + ", ".join(f"{e} {best.get(e, 0)} (of {','.join(map(str, counts))} tried)" for e in engines)
        + ".\n\n"
        + f"Does batching help on this CPU? `yolov8n-batch`, 1 thread: {batching}.\n"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
