"""Counting benchmark: gatewatch's pipeline vs Ultralytics' ObjectCounter, same model, videos and lines.

Each configuration runs in its own process (so peak RSS is its own) over whole shared videos
and reports frames per second (decode included, model load excluded), per-frame latency
p50/p95, peak RSS, and its counts against the hand-counted truth in
``benchmarks/ground_truth/``. Ultralytics runs on every model file gatewatch runs (fp32 and the
static INT8 QDQ file), so each speed ratio compares the same model. gatewatch runs with
class-agnostic NMS and the per-track class vote (``on``, the default since issue #12) and, for
the before/after of counts, with class-aware NMS and the class of each frame (``off``, before).
Run::

    python benchmarks/counting.py                      # all configurations, writes results/counting.md
    python benchmarks/counting.py --only gatewatch-int8 --samples highway_720p --agnostic-nms off
    python benchmarks/counting.py --only gatewatch-int8 --agnostic-nms on --schedule both --roi both [--alone]

``--schedule`` runs gatewatch with ``detect.schedule.mode`` ``every_frame``, ``motion`` or both, and
``--roi`` with ``detect.roi`` ``full``, ``auto`` or both (every combination of the two); the
``detected`` column is the frames the detector ran on.
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
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from gatewatch.vision.latency import peak_rss_mb  # light: numpy only, so Ultralytics' children stay lean

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {  # sample config -> ground-truth file
    "highway_cctv": "highway_cctv_trucks_320x240",
    "highway_720p": "highway_720p_cars",
    "intel_topdown_lane": "intel_car-detection_topdown_lane",
}
CONFIGS = {
    "gatewatch-fp32": "gatewatch pipeline, fp32 ONNX, 1 inference thread + decode thread",
    "gatewatch-int8": "gatewatch pipeline, static INT8 (QDQ) ONNX, 1 inference thread + decode thread",
    "ultralytics-fp32": "Ultralytics solutions.ObjectCounter + ByteTrack, same fp32 ONNX (onnxruntime, its default threads)",
    "ultralytics-int8": "Ultralytics solutions.ObjectCounter + ByteTrack, same static INT8 QDQ ONNX as gatewatch-int8",
}
MODELS = {"fp32": "yolov8n-fp32", "int8": "yolov8n-int8"}  # config suffix -> registry name
NMS = {"on": "agnostic NMS + class vote", "off": "class-aware NMS, class per frame (before #12)"}
SCHEDULES = ("every_frame", "motion")
ROIS = ("full", "auto")


NOTES = """Notes:
- Same model file per pair: `yolov8n_fp32_from_int8.onnx` for `gatewatch-fp32` and `ultralytics-fp32`; its
  static INT8 build (`yolov8n_int8_qdq.onnx`, `gatewatch models quantize`, calibrated on three other shared
  videos) for `gatewatch-int8` and `ultralytics-int8` (Ultralytics loads the QDQ file through onnxruntime).
  The ratio table divides gatewatch's FPS by Ultralytics' on the same file, in the same run.
- `NMS` column: `on` is gatewatch's default since issue #12 (class-agnostic NMS, each track's class settled by
  a confidence-weighted vote); `off` is the pipeline before it (class-aware NMS, each frame's class), run on
  the same model in the same run for the before/after of counts. Ultralytics runs its own defaults.
- Configurations run one after another, not at the same time; each pair shares whatever load the machine had.
- Threads differ by design: gatewatch runs inference on 1 onnxruntime thread and decodes on another,
  leaving the second core to decoding, plates and delivery; Ultralytics lets onnxruntime use both cores
  and decodes in the main loop. For lanes after the first, the Ultralytics harness reuses the first
  counter's tracks, so the model runs once per frame in both paths.
- The top-down clip shows the COCO model's limit: it labels top-down cars "cell phone"/"suitcase",
  so both paths miss most of them.
"""


def cpu_seconds() -> float:
    """CPU time of this whole process so far (every thread, user + system), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_report(text: str, out: str | Path) -> int:
    """Print a benchmark's markdown report and write it to ``out``; returns the exit code (0)."""
    print(text)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text)
    return 0


def run_gatewatch(sample: str, model: str, agnostic: bool, schedule: str = "every_frame", roi: str = "full") -> dict:
    from gatewatch.config import load_config
    from gatewatch.events import CrossingEvent
    from gatewatch.sinks import MemorySink
    from gatewatch.vision.pipeline import GatePipeline
    from gatewatch.vision.runner import build_detector
    from gatewatch.vision.sources import open_source

    config = load_config(ROOT / "samples" / f"{sample}.yaml")
    config = config.model_copy(update={
        "model": config.model.model_copy(update={"name": model}),
        "detect": config.detect.model_copy(update={
            "agnostic_nms": agnostic, "roi": roi,
            "schedule": config.detect.schedule.model_copy(update={"mode": schedule})}),
        "tracker": config.tracker.model_copy(update={"class_vote": agnostic}),
    })
    detector = build_detector(config)  # model load and warm-up: outside the timing
    source = open_source(config.source)
    sink = MemorySink()
    latencies: list[float] = []  # every frame's, for exact percentiles beside Ultralytics' (a short run)
    summary = GatePipeline(config, detector, sink, fps=source.fps).run(
        source, progress_every_s=1e9, on_frame=lambda result: latencies.append(result.latency_ms))
    counts: dict[str, dict[str, int]] = {lane.id: {"entry": 0, "exit": 0} for lane in config.lanes}
    classes: dict[str, int] = {}
    for event in sink.events:
        if isinstance(event, CrossingEvent):
            counts[event.lane][event.direction] += 1
            classes[event.vehicle_class] = classes.get(event.vehicle_class, 0) + 1
    return {
        "frames": summary.frames, "seconds": summary.seconds, "latencies_ms": latencies,
        "counts": counts, "classes": classes, "model": detector.model.path.name, "detected": summary.detected_frames,
    }


def ultralytics_counters(sample: str, model_name: str, **counter_args: Any) -> tuple[Any, list[Any], str]:
    """The sample's config, one ``ObjectCounter`` per lane on the same ONNX file, and that file's path.

    Lanes after the first reuse the first counter's tracks (one model run per frame). Also used by
    ``benchmarks/streams.py`` (one Ultralytics process per camera).
    """
    from ultralytics import solutions

    from gatewatch.config import load_config
    from gatewatch.models.registry import resolve_model

    config = load_config(ROOT / "samples" / f"{sample}.yaml")
    model = str(resolve_model(model_name))
    classes = [2, 3, 5, 7]
    counters: list[solutions.ObjectCounter] = []
    for i, lane in enumerate(config.lanes):
        counter = solutions.ObjectCounter(model=model, region=[tuple(p) for p in lane.line], classes=classes,
                                          show=False, verbose=False, tracker="bytetrack.yaml", **counter_args)
        if i:  # further lanes reuse the first counter's tracks: one model run per frame, as in gatewatch
            counter.extract_tracks = _shared_tracks(counters[0], counter)  # type: ignore[method-assign]
        counters.append(counter)
    return config, counters, model


def ultralytics_counts(config: Any, counters: list[Any]) -> dict[str, dict[str, int]]:
    """Entry/exit per lane from the counters (ObjectCounter: IN = moving down across a wide line, right across a tall one)."""
    counts = {}
    for lane, counter in zip(config.lanes, counters, strict=True):
        entry_is_in = lane.entry_heading in ("down", "right")
        entry, exit_ = (counter.in_count, counter.out_count) if entry_is_in else (counter.out_count, counter.in_count)
        counts[lane.id] = {"entry": entry, "exit": exit_}
    return counts


def run_ultralytics(sample: str, model_name: str, **counter_args: Any) -> dict:
    import cv2

    config, counters, model = ultralytics_counters(sample, model_name, **counter_args)
    cap = cv2.VideoCapture(config.source.uri)
    ok, frame = cap.read()
    counters[0].model.predict(frame, verbose=False)  # load + warm up outside the timing
    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
    latencies, frames = [], 0
    cpu_start, start = cpu_seconds(), time.perf_counter()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        t0 = time.perf_counter()
        for counter in counters:
            counter.process(frame)
        latencies.append((time.perf_counter() - t0) * 1000)
        frames += 1
    seconds, cpu_s = time.perf_counter() - start, cpu_seconds() - cpu_start
    counts = ultralytics_counts(config, counters)
    per_class: dict[str, int] = {}
    for counter in counters:
        for name, inout in counter.classwise_count.items():
            per_class[name] = per_class.get(name, 0) + inout["IN"] + inout["OUT"]
    return {"frames": frames, "detected": frames, "seconds": seconds, "cpu_s": cpu_s, "latencies_ms": latencies,
            "counts": counts,
            "classes": {k: v for k, v in per_class.items() if v}, "model": Path(model).name}


def _shared_tracks(primary, counter):
    def extract_tracks(im0):
        counter.tracks, counter.track_data = primary.tracks, primary.track_data
        counter.boxes, counter.clss, counter.track_ids, counter.confs = (
            primary.boxes, primary.clss, primary.track_ids, primary.confs)
    return extract_tracks


def child(config: str, sample: str, nms: str, schedule: str, roi: str) -> None:
    model = MODELS[config.rsplit("-", 1)[1]]
    if config.startswith("ultralytics"):
        result = run_ultralytics(sample, model)
    else:
        result = run_gatewatch(sample, model, agnostic=nms == "on", schedule=schedule, roi=roi)
    lat = np.array(result.pop("latencies_ms"))
    result.update(
        fps=result["frames"] / result["seconds"], p50=float(np.percentile(lat, 50)), p95=float(np.percentile(lat, 95)),
        peak_rss_mb=peak_rss_mb(),
    )
    print("RESULT " + json.dumps(result))


def truth(sample: str) -> dict[str, dict[str, int]]:
    data = json.loads((ROOT / "benchmarks" / "ground_truth" / f"{SAMPLES[sample]}.json").read_text())
    return {lane["id"]: {d: lane["truth"][d]["total"] for d in ("entry", "exit")} for lane in data["lanes"]}


def truth_classes(sample: str) -> dict[str, int]:
    """Crossings per vehicle class over every lane and direction, from the hand count."""
    data = json.loads((ROOT / "benchmarks" / "ground_truth" / f"{SAMPLES[sample]}.json").read_text())
    out: dict[str, int] = {}
    for lane in data["lanes"]:
        for direction in ("entry", "exit"):
            for name, n in lane["truth"][direction].items():
                if name != "total":
                    out[name] = out.get(name, 0) + n
    return out


def class_cell(got: dict[str, int], want: dict[str, int]) -> str:
    """``car 40/41, truck 3/2``: counted/true per class, classes that occur in either."""
    names = sorted(n for n in set(got) | set(want) if got.get(n, 0) or want.get(n, 0))
    return ", ".join(f"{n} {got.get(n, 0)}/{want.get(n, 0)}" for n in names)


def markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", nargs="+", default=list(SAMPLES), choices=list(SAMPLES))
    parser.add_argument("--only", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--agnostic-nms", choices=["on", "off", "both"], default="both",
                        help="gatewatch with class-agnostic NMS + class vote (on), as before #12 (off), or both")
    parser.add_argument("--schedule", choices=[*SCHEDULES, "both"], default="every_frame",
                        help="gatewatch's detect.schedule.mode: every_frame, motion (motion-gated), or both")
    parser.add_argument("--roi", choices=[*ROIS, "both"], default="full",
                        help="gatewatch's detect.roi: full frame, auto (lanes and zones, padded), or both")
    parser.add_argument("--alone", action="store_true",
                        help="with --schedule both / --roi both: each change on its own beside the baseline, "
                        "not their combination")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "counting.md"))
    parser.add_argument("--child", nargs=5, metavar=("CONFIG", "SAMPLE", "NMS", "SCHEDULE", "ROI"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    # Build the INT8 model (once, cached) before any timing.
    if any(c.endswith("int8") for c in args.only):
        from gatewatch.models.registry import resolve_model

        resolve_model("yolov8n-int8")
    settings = ["on", "off"] if args.agnostic_nms == "both" else [args.agnostic_nms]
    schedules = list(SCHEDULES) if args.schedule == "both" else [args.schedule]
    rois = list(ROIS) if args.roi == "both" else [args.roi]
    variants = [(n, sc, ro) for n in settings for sc in schedules for ro in rois
                if not (args.alone and sc != SCHEDULES[0] and ro != ROIS[0])]
    load_start = os.getloadavg()[0]
    rows, fps = [], {}
    for sample in args.samples:
        expected, expected_classes = truth(sample), truth_classes(sample)
        for config in args.only:
            for nms, schedule, roi in variants if config.startswith("gatewatch") else [("-", "-", "-")]:
                print(f"running {config} (NMS {nms}, schedule {schedule}, ROI {roi}) on {sample} ...",
                      file=sys.stderr, flush=True)
                proc = subprocess.run([sys.executable, __file__, "--child", config, sample, nms, schedule, roi],
                                      capture_output=True, text=True)
                line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
                if proc.returncode or line is None:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    raise SystemExit(f"{config} on {sample} failed")
                r = json.loads(line[7:])
                fps[(sample, config, (nms, schedule, roi))] = r["fps"]
                cells, error, total = [], 0, 0
                for lane, dirs in expected.items():
                    for direction, n in dirs.items():
                        got = r["counts"].get(lane, {}).get(direction, 0)
                        error += abs(got - n)
                        total += n
                        if n or got:
                            cells.append(f"{lane} {direction} {got}/{n}")
                rows.append([sample, config, nms, schedule, roi, str(r["frames"]), str(r["detected"]),
                             f"{r['fps']:.1f}", f"{r['p50']:.1f}",
                             f"{r['p95']:.1f}", f"{r['peak_rss_mb']:.0f}", "; ".join(cells), f"{error}/{total}",
                             class_cell(r["classes"], expected_classes)])
    load_end = os.getloadavg()[0]
    header = ["video", "configuration", "NMS", "schedule", "ROI", "frames", "detected", "FPS", "p50 ms", "p95 ms",
              "peak RSS MB",
              "counted/true per lane and direction", "abs error/true", "counted/true per class"]
    table = markdown(header, rows)
    ratios = []
    for sample in args.samples:
        for suffix in MODELS:
            ours, theirs = fps.get((sample, f"gatewatch-{suffix}", variants[0])), fps.get(
                (sample, f"ultralytics-{suffix}", ("-", "-", "-")))
            if ours and theirs:
                ratios.append([sample, suffix, f"{ours:.1f}", f"{theirs:.1f}", f"{ours / theirs:.2f}x"])
    ratio_table = markdown(["video", "model (same file both sides)",
                            f"gatewatch FPS (NMS {variants[0][0]}, {variants[0][1]}, ROI {variants[0][2]})",
                            "ObjectCounter FPS", "same-model ratio"], ratios) if ratios else []
    legend = "\n".join(f"- `{k}`: {v}" for k, v in CONFIGS.items() if k in args.only)
    legend += "\n" + "\n".join(f"- NMS `{k}`: {v}" for k, v in NMS.items() if k in settings)
    legend += ("\n- schedule: `detect.schedule.mode` (`every_frame`: the detector on every frame; `motion`: only when "
               "motion, a gate line, a new or settling track or the interval asks, tracks coasting in between); "
               "ROI: `detect.roi` (`full` frame, or `auto`: the lines' and zones' rectangle, padded); `detected`: "
               "frames the detector ran on")
    text = (
        f"## Counting: gatewatch vs Ultralytics ObjectCounter, same model\n\n"
        f"Command: `python benchmarks/counting.py {' '.join(sys.argv[1:])}`".rstrip() + f"\n"
        f"Date: {date.today()}; machine: {platform.machine()}, {os.cpu_count()} cores, CPU only; 1-minute load "
        f"average {load_start:.2f} at the start, {load_end:.2f} at the end (a run keeps 1-2 cores busy "
        f"itself; more means other jobs shared the CPU). "
        + ("Other jobs shared the cores during this run: FPS is under that load, not an idle figure.\n"
           if max(load_start, load_end) > 2.0 else "The machine was otherwise about idle.\n")
        + "FPS: whole video, decode included, model load excluded. Latency: per frame, from a decoded frame to its "
        "counts. Peak RSS: whole process (VmHWM).\n\n"
        + ("Same-model speed ratio, gatewatch / ObjectCounter:\n\n" + "\n".join(ratio_table) + "\n\n"
           if ratio_table else "")
        + "\n".join(table) + "\n\n" + legend + "\n\n" + NOTES
    )
    return write_report(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
