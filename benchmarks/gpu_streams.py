"""Streams x FPS on a GPU: N cameras at once (one gatewatch process each), per engine, beside Ultralytics.

Each engine runs 1, 2, 4 ... concurrent streams of the same clip (every frame detected, the clip
replayed until ``--seconds`` have passed); the table gives the streams' summed FPS, the slowest
stream's FPS, GPU utilisation (from the ``nvidia-smi`` log ``benchmarks/gpu.sh`` writes) and CPU
utilisation (``/proc/stat``) over the same window. Engines:

- ``cuda-fp32``: CUDA execution provider, the fp32 file, I/O binding;
- ``cuda-fp16``: CUDA, an fp16 copy of the same file (``model.fp16``), I/O binding;
- ``trt-fp16``: TensorRT execution provider, fp16 engines, engine cache in the model cache;
- ``ultralytics``: Ultralytics' ObjectCounter on the same fp32 file, ``device=0``.

Run by ``benchmarks/gpu.sh`` (which installs the GPU packages); by hand::

    python benchmarks/gpu_streams.py --streams 1 4 8 --engines cuda-fp32 ultralytics --seconds 20
    python benchmarks/gpu_streams.py --dry-run      # print the plan; runs on a CPU-only machine
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from changes import with_overrides  # noqa: E402
from counting import ROOT, markdown, write_report  # noqa: E402

# engine -> config overrides for gatewatch (None: Ultralytics)
ENGINES: dict[str, dict[str, Any] | None] = {
    "cuda-fp32": {"model.providers": ["cuda"], "model.io_binding": True},
    "cuda-fp16": {"model.providers": ["cuda"], "model.io_binding": True, "model.fp16": True},
    "trt-fp16": {"model.providers": ["tensorrt", "cuda"], "model.fp16": True},
    "ultralytics": None,
}
MODEL = "yolov8n-fp32"


def stream(engine: str, sample: str, seconds: float) -> dict[str, Any]:
    """One camera: replay the clip until ``seconds`` have passed; frames and time, load excluded."""
    overrides = ENGINES[engine]
    frames, start = 0, None
    if overrides is None:
        from counting import run_ultralytics

        while start is None or time.perf_counter() - start < seconds:
            result = run_ultralytics(sample, MODEL, device=0)
            start = start if start is not None else time.perf_counter() - result["seconds"]
            frames += result["frames"]
        return {"frames": frames, "seconds": time.perf_counter() - start}
    from gatewatch.config import load_config
    from gatewatch.sinks import MemorySink
    from gatewatch.vision.pipeline import GatePipeline
    from gatewatch.vision.runner import build_detector
    from gatewatch.vision.sources import open_source

    config = with_overrides(
        load_config(ROOT / "samples" / f"{sample}.yaml"), {"model.name": MODEL, **overrides}
    )
    detector = build_detector(config)
    providers = detector.model.providers
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        source = open_source(config.source)
        summary = GatePipeline(config, detector, MemorySink(), fps=source.fps).run(
            source, progress_every_s=1e9
        )
        source.close()
        frames += summary.frames
    return {"frames": frames, "seconds": time.perf_counter() - t0, "providers": providers}


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [float(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def gpu_util(log: Path, since: float, until: float) -> str:
    """Mean GPU utilisation % and peak memory MB from the nvidia-smi CSV log over a window."""
    if not log.is_file():
        return "-"
    util, mem = [], []
    with log.open() as fh:
        for row in csv.reader(fh):
            try:
                ts = (
                    datetime.strptime(row[0].strip(), "%Y/%m/%d %H:%M:%S.%f")
                    .replace(tzinfo=timezone.utc)
                    .timestamp()
                )
                if since <= ts <= until:
                    util.append(float(row[1]))
                    mem.append(float(row[2]))
            except (ValueError, IndexError):
                continue
    return f"{sum(util) / len(util):.0f} % (mem {max(mem):.0f} MB)" if util else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    parser.add_argument("--streams", nargs="+", type=int, default=[1, 4, 8])
    parser.add_argument("--sample", default="highway_720p")
    parser.add_argument("--seconds", type=float, default=20.0, help="each stream replays its clip this long")
    parser.add_argument(
        "--gpu-log", default="", help="nvidia-smi --query-gpu CSV log (timestamp, util, memory)"
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gpu.md"))
    parser.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "SAMPLE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(stream(args.child[0], args.child[1], args.seconds)), flush=True)
        return 0
    plan = [(engine, n) for engine in args.engines for n in args.streams]
    if args.dry_run:
        for engine, n in plan:
            print(
                f"{engine}: {n} stream(s) of {args.sample}, {args.seconds:g} s, overrides {ENGINES[engine]}"
            )
        return 0
    import onnxruntime as ort

    rows = []
    for engine, n in plan:
        print(f"running {engine} x {n} ...", file=sys.stderr, flush=True)
        cpu0, wall0 = cpu_busy(), time.time()
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--child", engine, args.sample, "--seconds", str(args.seconds)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(n)
        ]
        results, errors = [], []
        for proc in procs:
            out, err = proc.communicate()
            line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
            if proc.returncode or line is None:
                errors.append(err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}")
            else:
                results.append(json.loads(line[7:]))
        cpu1, wall1 = cpu_busy(), time.time()
        if not results:
            rows.append([engine, str(n), "failed: " + "; ".join(errors[:1]), "-", "-", "-", "-"])
            continue
        fps = [r["frames"] / r["seconds"] for r in results]
        cpu = 100 * (cpu1[0] - cpu0[0]) / max(cpu1[1] - cpu0[1], 1)
        rows.append(
            [
                engine,
                f"{len(results)}/{n}",
                f"{sum(fps):.0f}",
                f"{min(fps):.0f}",
                gpu_util(Path(args.gpu_log), wall0, wall1) if args.gpu_log else "-",
                f"{cpu:.0f} % of {os.cpu_count()} cores",
                ", ".join(results[0].get("providers", ["ultralytics"])[:1]),
            ]
        )
    header = [
        "engine",
        "streams (ran/asked)",
        "summed FPS",
        "slowest stream FPS",
        "GPU util",
        "CPU util",
        "provider",
    ]
    text = (
        "## GPU: streams x FPS, gatewatch per execution provider, Ultralytics beside it (same fp32 file)\n\n"
        f"Command: `python benchmarks/gpu_streams.py {' '.join(sys.argv[1:])}` (from `benchmarks/gpu.sh`)\n"
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; onnxruntime {ort.__version__}, providers "
        f"{ort.get_available_providers()}; clip {args.sample}, every frame detected, {args.seconds:g} s per stream, "
        "one process per stream.\n\n" + "\n".join(markdown(header, rows)) + "\n"
    )
    return write_report(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
