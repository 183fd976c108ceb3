"""What each speed change buys on its own: the gatewatch pipeline with one setting changed from the baseline.

Every variant runs the same model file on the same clip, one after another in the same run, each in
its own process (so peak RSS is its own), beside Ultralytics' ObjectCounter on that file. Each row
is the baseline (the shipped defaults: 1 onnxruntime thread, spinning on, sequential, every frame,
full frame, 640x640) with ONE change, so the table says what that change bought, not a combination
(the ``best`` row stacks the changes that helped). FPS: whole clip, decode included, model load
excluded; counts are scored against ``benchmarks/ground_truth/``.

Run::

    python benchmarks/changes.py --quick           # highway_720p, INT8, the main variants (~3 min idle)
    python benchmarks/changes.py                   # highway_720p and highway_cctv, INT8, every variant
    python benchmarks/changes.py --models int8 fp32 --samples highway_cctv --variants baseline threads2

Writes ``benchmarks/results/changes.md`` (``--out``) with the command, date and load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from counting import (  # noqa: E402
    MODELS,
    ROOT,
    SAMPLES,
    cpu_seconds,
    markdown,
    peak_rss_mb,
    run_ultralytics,
    truth,
    write_report,
)

# variant -> (what changed, dotted config overrides on top of the sample's config)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "baseline": ("shipped defaults: 1 intra-op thread, every frame, full frame, 640x640", {}),
    "threads2": (
        "model.threads: 2, spinning on (onnxruntime's default)",
        {"model.threads": 2, "model.spinning": True},
    ),
    "threads2-nospin": (
        "model.threads: 2, model.spinning: false",
        {"model.threads": 2, "model.spinning": False},
    ),
    "threads0": ("model.threads: 0 (onnxruntime decides: one per core)", {"model.threads": 0}),
    "parallel": (
        "model.execution_mode: parallel, inter_op_threads 2",
        {"model.execution_mode": "parallel", "model.inter_op_threads": 2},
    ),
    "opt-basic": ("model.graph_optimization: basic (instead of all)", {"model.graph_optimization": "basic"}),
    "overlap": ("detect.overlap: true (frame t+1 detected while t is tracked)", {"detect.overlap": True}),
    "motion": ("detect.schedule.mode: motion", {"detect.schedule.mode": "motion"}),
    "roi": ("detect.roi: auto (the lines' and zones' rectangle, padded)", {"detect.roi": "auto"}),
    "imgsz": (
        "model.imgsz: 640x640 less its padding (640x384 for 1280x720, 640x480 for 320x240)",
        {"model.imgsz": "native"},
    ),
    "overlap2": (
        "detect.overlap with overlap_threads: 2 (two frames in the model at once, one thread each)",
        {"detect.overlap": True, "detect.overlap_threads": 2},
    ),
    "best": (
        "threads 2, spinning off, overlap, imgsz: the changes that helped on highway_720p, together",
        {"model.threads": 2, "model.spinning": False, "detect.overlap": True, "model.imgsz": "native"},
    ),
    "best2": (
        "overlap_threads 2, imgsz: both cores on frames side by side instead of inside one frame",
        {"model.spinning": False, "detect.overlap": True, "detect.overlap_threads": 2, "model.imgsz": "native"},
    ),
    "best-motion": (
        "threads 2, spinning off, imgsz, motion schedule (the motion schedule turns overlap off)",
        {"model.threads": 2, "model.spinning": False, "model.imgsz": "native", "detect.schedule.mode": "motion"},
    ),
}
QUICK = ["baseline", "threads2", "threads2-nospin", "overlap", "overlap2", "motion", "roi", "imgsz", "best", "best2", "best-motion"]
# Ultralytics on the same file: the 640x640 file, and the resized one beside the ``imgsz`` rows.
REFERENCES = {
    "ultralytics": "Ultralytics ObjectCounter, same 640x640 file",
    "ultralytics-imgsz": "Ultralytics ObjectCounter, the same resized file as `imgsz`",
    "ceiling": "the model alone on the 640x640 file: two one-thread sessions side by side, frames decoded and "
    "letterboxed beforehand, no decoding, tracking or counting (no pipeline detecting every frame with this file "
    "can pass it)",
    "ceiling-imgsz": "the model alone as in `ceiling`, on the same resized file as `imgsz`",
}


def sample_imgsz(sample: str) -> tuple[int, int]:
    from gatewatch.config import load_config
    from gatewatch.models.resize import trimmed_imgsz
    from gatewatch.vision.sources import open_source

    source = open_source(load_config(ROOT / "samples" / f"{sample}.yaml").source)
    try:
        return trimmed_imgsz(*source.size)
    finally:
        source.close()


def model_file(model: str, imgsz: tuple[int, int] | None) -> str:
    """The registry model's file, resized (once, in the cache) when ``imgsz`` is given."""
    from gatewatch.models.registry import resized_model, resolve_model

    path = resolve_model(model)
    return str(resized_model(path, imgsz) if imgsz else path)


def with_overrides(config: Any, overrides: dict[str, Any]) -> Any:
    """``config`` with each ``section.field`` (or ``section.sub.field``) replaced."""
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        chain = [config]
        for part in parts[:-1]:
            chain.append(getattr(chain[-1], part))
        new = value
        for obj, part in zip(reversed(chain), reversed(parts), strict=True):
            new = obj.model_copy(update={part: new})
        config = new
    return config


def run_ceiling(
    sample: str, path: str, sessions: int = 2, max_frames: int | None = None, ring: int = 64
) -> dict[str, Any]:
    """The model file alone: ``sessions`` one-thread sessions, each on its own thread, over the clip's frames.

    The clip is decoded and letterboxed before the clock starts (a ring of ``ring`` inputs, reused: the model's
    cost does not depend on what a frame shows), each thread takes the next frame when it is free (as
    ``DetectAhead`` hands them out), and nothing follows the model call (no box decoding, tracking or counting).
    So its FPS bounds any pipeline that detects every frame with this file on this machine: two whole frames in
    the model at once is how ``overlap_threads: 2`` uses both cores, and it beats two intra-op threads inside
    one frame (``threads2`` rows).
    """
    import itertools
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import cv2

    from gatewatch.config import load_config
    from gatewatch.models.onnx import OnnxModel, SessionTuning
    from gatewatch.models.preprocess import letterbox

    config = load_config(ROOT / "samples" / f"{sample}.yaml")
    models = [OnnxModel(path, threads=1, tuning=SessionTuning(spinning=False)) for _ in range(sessions)]
    cap = cv2.VideoCapture(config.source.uri)
    inputs: list[np.ndarray] = []
    frames = 0
    while max_frames is None or frames < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        if len(inputs) < ring:
            inputs.append(letterbox(frame, models[0].imgsz)[0])
        frames += 1
    cap.release()
    if not frames:
        raise SystemExit(f"{config.source.uri}: no frame decoded")
    latencies = [0.0] * frames
    per_session = [0] * sessions
    next_frame = itertools.count()
    lock = threading.Lock()

    def work(index: int) -> None:
        model = models[index]
        while True:
            with lock:
                i = next(next_frame)
            if i >= frames:
                return
            t0 = time.perf_counter()
            model.run(inputs[i % len(inputs)])
            latencies[i] = (time.perf_counter() - t0) * 1000
            per_session[index] += 1

    cpu_start, start = cpu_seconds(), time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        list(pool.map(work, range(sessions)))  # re-raises a session's error
    seconds, cpu_s = time.perf_counter() - start, cpu_seconds() - cpu_start
    return {"frames": frames, "detected": frames, "seconds": seconds, "cpu_s": cpu_s,
            "latencies_ms": latencies, "counts": None, "per_session": per_session}


def run_variant(sample: str, model: str, variant: str) -> dict[str, Any]:
    from gatewatch.config import load_config
    from gatewatch.events import CrossingEvent
    from gatewatch.sinks import MemorySink
    from gatewatch.vision.pipeline import GatePipeline
    from gatewatch.vision.runner import build_detector
    from gatewatch.vision.sources import open_source

    config = load_config(ROOT / "samples" / f"{sample}.yaml")
    overrides = {"model.name": model, **VARIANTS[variant][1]}
    if overrides.get("model.imgsz") == "native":
        overrides["model.imgsz"] = sample_imgsz(sample)
    config = with_overrides(config, overrides)
    detector = build_detector(config)  # model load and warm-up: outside the timing
    source = open_source(config.source)
    sink = MemorySink()
    latencies: list[float] = []
    cpu_start = cpu_seconds()
    summary = GatePipeline(config, detector, sink, fps=source.fps).run(
        source, progress_every_s=1e9, on_frame=lambda result: latencies.append(result.latency_ms)
    )
    counts: dict[str, dict[str, int]] = {lane.id: {"entry": 0, "exit": 0} for lane in config.lanes}
    for event in sink.events:
        if isinstance(event, CrossingEvent):
            counts[event.lane][event.direction] += 1
    return {
        "frames": summary.frames,
        "detected": summary.detected_frames,
        "seconds": summary.seconds,
        "cpu_s": cpu_seconds() - cpu_start,
        "latencies_ms": latencies,
        "counts": counts,
    }


def child(sample: str, model_key: str, variant: str) -> None:
    model = MODELS[model_key]
    if variant in REFERENCES:
        path = model_file(model, sample_imgsz(sample) if variant.endswith("imgsz") else None)
        result = run_ceiling(sample, path) if variant.startswith("ceiling") else run_ultralytics(sample, path)
    else:
        result = run_variant(sample, model, variant)
    lat = np.array(result.pop("latencies_ms"))
    result.update(
        fps=result["frames"] / result["seconds"],
        p50=float(np.percentile(lat, 50)),
        p95=float(np.percentile(lat, 95)),
        peak_rss_mb=peak_rss_mb(),
    )
    print("RESULT " + json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="highway_720p, INT8, the main variants")
    parser.add_argument(
        "--samples", nargs="+", choices=list(SAMPLES), default=["highway_720p", "highway_cctv"]
    )
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=["int8"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--no-ultralytics", action="store_true", help="skip the ObjectCounter reference row")
    parser.add_argument(
        "--ceiling", action="store_true", help="add the model-alone rows (the most FPS any pipeline detecting every frame gets)"
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "changes.md"))
    parser.add_argument("--child", nargs=3, metavar=("SAMPLE", "MODEL", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if args.quick:
        args.samples, args.models = ["highway_720p"], ["int8"]
        if args.variants == list(VARIANTS):
            args.variants = QUICK
    if "int8" in args.models:  # build the INT8 model once, before any timing
        from gatewatch.models.registry import resolve_model

        resolve_model(MODELS["int8"])
    refs = (
        []
        if args.no_ultralytics
        else ["ultralytics"] + (["ultralytics-imgsz"] if "imgsz" in args.variants else [])
    )
    if args.ceiling:
        refs += ["ceiling", "ceiling-imgsz"]
    variants = list(args.variants) + refs
    started = datetime.now(timezone.utc)
    load_start = os.getloadavg()[0]
    rows: list[list[str]] = []
    for sample in args.samples:
        expected = truth(sample)
        for model_key in args.models:
            base_fps = None
            for variant in variants:
                print(f"running {variant} ({model_key}) on {sample} ...", file=sys.stderr, flush=True)
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", sample, model_key, variant],
                    capture_output=True,
                    text=True,
                )
                line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
                if proc.returncode or line is None:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    raise SystemExit(f"{variant} on {sample} failed")
                r = json.loads(line[7:])
                base_fps = base_fps or (r["fps"] if variant == "baseline" else None)
                total = sum(n for dirs in expected.values() for n in dirs.values())
                error = (
                    "-"
                    if r["counts"] is None
                    else sum(
                        abs(r["counts"].get(lane, {}).get(d, 0) - n)
                        for lane, dirs in expected.items()
                        for d, n in dirs.items()
                    )
                )
                what = REFERENCES[variant] if variant in REFERENCES else VARIANTS[variant][0]
                rows.append(
                    [
                        sample,
                        model_key,
                        f"`{variant}`",
                        what,
                        f"{r['detected']}/{r['frames']}",
                        f"{r['fps']:.1f}",
                        f"{r['fps'] / base_fps:.2f}x" if base_fps else "-",
                        f"{1000 * r['cpu_s'] / r['frames']:.1f}",
                        f"{r['p50']:.1f}",
                        f"{r['p95']:.1f}",
                        f"{r['peak_rss_mb']:.0f}",
                        f"{error}/{total}",
                    ]
                )
    load_end = os.getloadavg()[0]
    header = [
        "video",
        "model",
        "variant",
        "what changed",
        "detected/frames",
        "FPS",
        "vs baseline",
        "CPU ms/frame",
        "p50 ms",
        "p95 ms",
        "peak RSS MB",
        "abs count error/true",
    ]
    loaded = max(load_start, load_end) > 2.0
    text = (
        "## What each speed change buys, each on its own (same model file, same run)\n\n"
        f"Command: `python benchmarks/changes.py {' '.join(sys.argv[1:])}`".rstrip()
        + "\n"
        f"Date: {started:%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, {os.cpu_count()} cores, CPU only; "
        f"1-minute load average {load_start:.2f} at the start, {load_end:.2f} at the end"
        + (
            " (other jobs shared the cores: FPS is under that load, not an idle figure).\n"
            if loaded
            else " (about idle).\n"
        )
        + "FPS: whole clip, decode included, model load excluded. p50/p95: per frame, detection to published "
        "events (with `overlap`, the frame's detection time plus the rest). `vs baseline`: FPS / the baseline "
        "row's FPS in this run. CPU ms/frame: the process's CPU time (all threads: decode, inference, stages) per "
        "frame, the work a change saves whatever the load; it rises where threads spin."
        + (
            " `ceiling` rows: the model call alone (no decode, no stages), p50/p95 of that call; their peak RSS "
            "is the decoded inputs held in memory.\n\n"
            if args.ceiling
            else "\n\n"
        )
        + "\n".join(markdown(header, rows))
        + "\n"
    )
    return write_report(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
