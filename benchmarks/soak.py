"""Soak benchmark: one camera's full pipeline on a looped clip for (by default) 30 minutes of stream time.

The pipeline is assembled as ``gatewatch run`` assembles it (``gatewatch.vision.runner``: detector,
tracker, gate lines, plate stage, flag stages, outbox + JSON-lines sinks); the outbox delivers to a
real gate API (``gatewatch serve`` under uvicorn on 127.0.0.1, temporary SQLite database, an edge key
made with ``gatewatch keys create``). The clip is looped faster than real time with stream timestamps
that keep increasing across loops, so dwell times and event times stay right. (The loop wraps the
public ``VideoFileSource`` here; a ``loop`` option on file sources and a ``source`` argument to
``run_camera`` would let ``gatewatch run`` itself do this.)

Memory: this process's resident set is sampled every ``--sample-s`` seconds of wall time
(``VmRSS``); the peak of each stream-time window is ``VmHWM``, reset at each window start by
writing ``5`` to ``/proc/self/clear_refs`` (Linux 4.0+; where that write is refused, the max of
the ``VmRSS`` samples is used and the table says so). The least-squares slope of ``VmRSS`` over
stream time after the warm-up says whether memory is flat. Run::

    python benchmarks/soak.py                                   # 30 stream minutes, results/soak.md
    python benchmarks/soak.py --minutes 3 --out /tmp/soak.md    # quick check
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import logging
import os
import platform
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gatewatch.assets import asset_dir
from gatewatch.config import CameraConfig, SourceConfig, parse_config
from gatewatch.sinks import Event, EventSink, FanoutSink
from gatewatch.vision.pipeline import FrameResult, GatePipeline
from gatewatch.vision.runner import (
    build_detector,
    build_flag_stages,
    build_plate_stage,
    build_sinks,
    check_lanes,
    stop_on_signals,
)
from gatewatch.vision.sources import Frame, FrameSource, VideoFileSource

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import free_port, wait_healthy  # noqa: E402  (a sibling script, not a package)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "soak.md"
DEFAULT_CLIP = "street_parked_and_passing_vehicles_73s.mp4"
SAMPLE_CONFIG = ROOT / "samples" / "street_parked_held.yaml"  # lanes and held-vehicle zones of that clip
FLAT_MB_PER_H = 2.0
FLAT_WHY = (
    "2 MB/h adds ~1.4 GB over a 30-day run between restarts, more than the whole pipeline's resident size; "
    "steeper growth is a leak to find"
)
log = logging.getLogger("soak")


# -- looping source ------------------------------------------------------------------------------


class LoopingVideoSource(FrameSource):
    """A video file played again and again until ``duration_s`` of stream time.

    Wraps ``VideoFileSource`` (one per pass); each pass continues the previous one's frame index
    and timestamps (a pass lasts its last frame's time plus one frame), so stream time keeps
    increasing across loops. ``loop_after_frames`` cuts each pass short (tests).
    """

    def __init__(self, config: SourceConfig, duration_s: float, loop_after_frames: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.duration_s = duration_s
        self.loop_after_frames = loop_after_frames
        probe = VideoFileSource(config)
        self.fps, self.size, self.start_time = probe.fps, probe.size, probe.start_time
        probe.close()
        self.total_frames = round(duration_s * self.fps)
        self.loops = 0

    def __iter__(self) -> Iterator[Frame]:
        offset_ts, offset_index = 0.0, 0
        while not self._stop.is_set():
            clip = VideoFileSource(self.config)
            last_ts, last_index = -1.0 / self.fps, -1
            try:
                for n, frame in enumerate(clip):
                    if self._stop.is_set() or (self.loop_after_frames is not None and n >= self.loop_after_frames):
                        break
                    ts = offset_ts + frame.ts
                    if ts >= self.duration_s:
                        return
                    last_ts, last_index = frame.ts, frame.index
                    self.stats.frames += 1
                    yield Frame(frame.image, offset_index + frame.index, ts, self.start_time + timedelta(seconds=ts))
            finally:
                self.stats.corrupt += clip.stats.corrupt
                clip.close()
            if last_index < 0:
                return  # an empty pass: the clip cannot be read any more
            offset_ts += last_ts + 1.0 / self.fps
            offset_index += last_index + 1
            self.loops += 1


# -- gate API ------------------------------------------------------------------------------------


def gatewatch_cli(*args: str, env: dict[str, str]) -> str:
    """Run ``gatewatch ARGS`` in a subprocess; its stdout."""
    proc = subprocess.run([sys.executable, "-m", "gatewatch.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)
    if proc.returncode:
        raise RuntimeError(f"gatewatch {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return proc.stdout


class GateApi:
    """``gatewatch serve`` on 127.0.0.1 with a temporary SQLite database, and an edge key for ``gate``."""

    def __init__(self, workdir: Path, gate: str) -> None:
        self.db_path = workdir / "gate-api.sqlite"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"GATEWATCH_DATABASE_URL": f"sqlite:///{self.db_path}",
                    "GATEWATCH_EVIDENCE_DIR": str(workdir / "api-evidence"),
                    "GATEWATCH_JWT_SECRET": secrets.token_urlsafe(32)}
        self.key = gatewatch_cli("keys", "create", "--gate", gate, "--name", "soak", env=self.env).strip()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gatewatch.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"], env={**os.environ, **self.env})
        try:
            wait_healthy(self.url, self.proc, timeout_s=120, what="gatewatch serve")
        except RuntimeError:
            self.stop()
            raise

    def stored_events(self) -> int:
        """Rows in the API's ``events`` table (every event received, once per event id)."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def rss_mb(self) -> float:
        return proc_status_mb("VmRSS", self.proc.pid) or 0.0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- memory --------------------------------------------------------------------------------------


def proc_status_mb(field_name: str, pid: int | str = "self") -> float | None:
    """``VmRSS`` / ``VmHWM`` of a process in MB (``None`` where ``/proc`` has no such field)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS; ``False`` where the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _mallinfo2() -> Any:
    """glibc's ``mallinfo2`` (2.33+), or ``None`` off glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    return fn


MALLINFO2 = _mallinfo2()


def malloc_mb() -> tuple[float, float]:
    """glibc heap of this process in MB: (in use, including mmapped blocks; free but kept in the arenas).

    ``(nan, nan)`` off glibc. The two together say whether RSS growth is live data (in use grows) or
    memory the allocator keeps after it was freed (free grows: fragmentation, not a leak).
    """
    if MALLINFO2 is None:
        return float("nan"), float("nan")
    info = MALLINFO2()
    return (info.uordblks + info.hblkhd) / 2**20, info.fordblks / 2**20


def python_heap_mb() -> float:
    """Memory traced by ``tracemalloc`` (Python objects and numpy buffers), MB; nan when not tracing."""
    return tracemalloc.get_traced_memory()[0] / 2**20 if tracemalloc.is_tracing() else float("nan")


class CountingSink:
    """Passes events on and counts them: the events the pipeline produced."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.produced = 0

    def emit(self, event: Event) -> None:
        self.sink.emit(event)
        self.produced += 1

    def close(self) -> None:
        self.sink.close()


@dataclass
class Window:
    """Figures of one stream-time window."""

    start_min: float
    end_min: float = 0.0
    wall_s: float = 0.0
    frames: int = 0
    seconds: float = 0.0
    crossings: int = 0
    flags: int = 0
    peak_rss_mb: float = 0.0
    end_rss_mb: float = 0.0
    end_python_mb: float = float("nan")
    end_malloc_used_mb: float = float("nan")
    end_malloc_free_mb: float = float("nan")
    backlog: int = 0
    delivered: int = 0


@dataclass
class Soak:
    """Samples memory and tallies windows from the pipeline's ``on_frame`` callback."""

    window_s: float
    sample_s: float
    progress_s: float
    outbox: Any
    counting: CountingSink
    started: float = field(default_factory=time.perf_counter)
    hwm_reset_works: bool = False
    warmup_s: float = 0.0
    samples: list[tuple[float, float, float]] = field(default_factory=list)  # (stream s, wall s, VmRSS MB)
    # (stream s, Python heap MB, glibc in use MB, glibc free MB), taken with each RSS sample
    heap_samples: list[tuple[float, float, float, float]] = field(default_factory=list)
    warm_snapshot: Any = None  # tracemalloc snapshot at the end of the warm-up
    windows: list[Window] = field(default_factory=list)
    _window_start_wall: float = 0.0
    _window_max_rss: float = 0.0
    _last_sample: float = -1e9
    _last_progress: float = 0.0
    crossings: int = 0
    flags: int = 0
    frames: int = 0
    last_ts: float = 0.0

    def __post_init__(self) -> None:
        self._open_window(0.0)

    def _open_window(self, stream_s: float) -> None:
        self.hwm_reset_works = reset_peak_rss()
        self._window_start_wall = time.perf_counter()
        self._window_max_rss = proc_status_mb("VmRSS") or 0.0
        self.windows.append(Window(start_min=stream_s / 60))

    def _sample(self, stream_s: float, now: float) -> float:
        rss = proc_status_mb("VmRSS") or 0.0
        self.samples.append((stream_s, now - self.started, rss))
        self.heap_samples.append((stream_s, python_heap_mb(), *malloc_mb()))
        if self.warm_snapshot is None and stream_s >= self.warmup_s and tracemalloc.is_tracing():
            self.warm_snapshot = tracemalloc.take_snapshot()
        self._window_max_rss = max(self._window_max_rss, rss)
        self._last_sample = now
        return rss

    def close_window(self, stream_s: float) -> None:
        """Record the current window's figures up to ``stream_s``."""
        now = time.perf_counter()
        rss = self._sample(stream_s, now)
        w = self.windows[-1]
        hwm = proc_status_mb("VmHWM") if self.hwm_reset_works else None
        stats = self.outbox.stats()
        w.end_min, w.wall_s, w.seconds = stream_s / 60, now - self.started, now - self._window_start_wall
        w.peak_rss_mb = hwm if hwm is not None else self._window_max_rss
        w.end_rss_mb, w.backlog, w.delivered = rss, stats.pending_events, stats.delivered_total
        _, w.end_python_mb, w.end_malloc_used_mb, w.end_malloc_free_mb = self.heap_samples[-1]

    def on_frame(self, result: FrameResult) -> None:
        ts = self.last_ts = result.frame.ts
        w = self.windows[-1]
        if ts >= (len(self.windows)) * self.window_s:
            self.close_window(ts)
            self._open_window(ts)
            w = self.windows[-1]
        w.frames += 1
        w.crossings += len(result.crossings)
        w.flags += len(result.flags)
        self.frames += 1
        self.crossings += len(result.crossings)
        self.flags += len(result.flags)
        now = time.perf_counter()
        if now - self._last_sample >= self.sample_s:
            rss = self._sample(ts, now)
            if now - self._last_progress >= self.progress_s:
                self._last_progress = now
                elapsed = now - self.started
                log.info("stream %.1f min, wall %.0f s, frames %d (%.1f FPS), RSS %.0f MB, crossings %d, flags %d, "
                         "produced %d, backlog %d", ts / 60, elapsed, self.frames, self.frames / elapsed, rss,
                         self.crossings, self.flags, self.counting.produced, self.outbox.stats().pending_events)


def rss_slope(samples: list[tuple[float, float, float]], warmup_s: float) -> tuple[float, float, int]:
    """Least-squares slope of VmRSS over stream time after ``warmup_s``: MB/h, its standard error, samples."""
    return slope_of([(s, r) for s, _, r in samples], warmup_s)


def slope_of(points: list[tuple[float, float]], warmup_s: float) -> tuple[float, float, int]:
    """Least-squares slope of (stream s, MB) points after ``warmup_s``: MB/h, its standard error, points."""
    pts = np.array([(s, v) for s, v in points if s >= warmup_s and np.isfinite(v)])
    if len(pts) < 3:
        return float("nan"), float("nan"), len(pts)
    x, y = pts[:, 0] / 3600, pts[:, 1]
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (slope * x + intercept)
    spread = float(((x - x.mean()) ** 2).sum())
    stderr = float(np.sqrt((residuals**2).sum() / (len(x) - 2) / spread)) if spread > 0 else float("nan")
    return float(slope), stderr, len(pts)


# -- the run -------------------------------------------------------------------------------------


def camera_config(clip: Path, workdir: Path, api_url: str, api_key: str, model: str | None) -> CameraConfig:
    """The held-vehicle sample config on ``clip``, with plates on and the outbox delivering to ``api_url``."""
    raw = yaml.safe_load(SAMPLE_CONFIG.read_text())
    raw["source"]["uri"] = str(clip)
    raw["output"] = {"events": str(workdir / "events.jsonl")}
    raw["flags"]["evidence_dir"] = str(workdir / "evidence")
    raw["plates"] = {"export_if_missing": True}
    raw["delivery"] = {"api_url": api_url, "api_key": api_key, "outbox_path": str(workdir / "outbox.sqlite"),
                       "close_grace_s": 60, "retry": {"initial_s": 0.5, "max_s": 5, "jitter_s": 0.5}}
    if model:
        raw["model"] = {"name": model}
    return parse_config(raw, base=ROOT)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    clip = Path(args.clip)
    if not clip.is_file():
        assets = asset_dir()
        clip = assets / "videos" / args.clip if assets else clip
    if not clip.is_file():
        raise SystemExit(f"clip not found: {args.clip} (give a path or a file name under <assets>/videos)")
    gate = yaml.safe_load(SAMPLE_CONFIG.read_text())["gate"]
    api = GateApi(workdir, gate)
    try:
        config = camera_config(clip, workdir, api.url, api.key, args.model)
        source = LoopingVideoSource(config.source, args.minutes * 60, loop_after_frames=args.loop_after_frames)
        check_lanes(config, source)
        detector = build_detector(config)
        plate = build_plate_stage(config)
        flag_stages = build_flag_stages(config, source.fps, source.size, reads_plates=plate is not None)
        sinks = build_sinks(config)
        outbox = next(s for s in sinks if hasattr(s, "wait_idle"))
        counting = CountingSink(FanoutSink(sinks))
        pipeline = GatePipeline(config, detector, counting, fps=source.fps, plates=plate[0] if plate else None,
                                plate_wait_s=plate[1] if plate else 2.0, flag_stages=flag_stages)
        soak = Soak(window_s=args.window_minutes * 60, sample_s=args.sample_s, progress_s=args.progress_s,
                    outbox=outbox, counting=counting, warmup_s=warmup_seconds(args, args.minutes * 60))
        try:
            with stop_on_signals(source):  # SIGTERM/SIGINT: stop at a frame, drain, still write the table
                summary = pipeline.run(source, progress_every_s=1e9, on_frame=soak.on_frame)
            soak.close_window(soak.last_ts)
            growth = heap_growth(soak.warm_snapshot)
            drained = outbox.wait_idle(args.drain_s)
            stats = outbox.stats()
        finally:
            counting.close()
        return {
            "summary": summary, "soak": soak, "stats": stats, "drained": drained, "produced": counting.produced,
            "stored": api.stored_events(), "api_rss_mb": api.rss_mb(), "loops": source.loops, "fps": source.fps,
            "clip": clip, "model": detector.model.describe(), "growth": growth,
        }
    finally:
        api.stop()


def warmup_seconds(args: argparse.Namespace, stream_s: float) -> float:
    """Stream seconds left out of the slopes: ``--warmup-minutes``, capped at a third of the run."""
    return min(args.warmup_minutes * 60, stream_s / 3)


def heap_growth(warm: Any, top: int = 8) -> list[str]:
    """The Python source lines whose traced memory grew most since the warm-up snapshot (tracemalloc)."""
    if warm is None or not tracemalloc.is_tracing():
        return []
    skip = (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            tracemalloc.Filter(False, "<unknown>"))
    now = tracemalloc.take_snapshot().filter_traces(skip)
    stats = now.compare_to(warm.filter_traces(skip), "lineno")
    lines = []
    for stat in sorted(stats, key=lambda st: st.size_diff, reverse=True)[:top]:
        frame = stat.traceback[0]
        where = frame.filename
        for marker in ("site-packages/", "/gatewatch/", "/work/"):
            if marker in where:
                where = where.split(marker, 1)[1]
                break
        lines.append(f"`{where}:{frame.lineno}` {stat.size_diff / 1024:+.1f} KiB ({stat.count_diff:+d} blocks, "
                     f"{stat.size / 1024:.1f} KiB now)")
    return lines


def git_commit() -> str:
    """Short hash of the checkout's HEAD, marked when tracked files have local changes."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return commit + (" (with local changes)" if dirty else "")


def render(args: argparse.Namespace, r: dict[str, Any], load_start: tuple[float, ...], load_end: tuple[float, ...],
           warmup_s: float, commit: str) -> str:
    soak: Soak = r["soak"]
    summary = r["summary"]
    stats = r["stats"]
    slope, stderr, n = rss_slope(soak.samples, warmup_s)
    heap_slopes = [slope_of([(h[0], h[i]) for h in soak.heap_samples], warmup_s) for i in (1, 2, 3)]
    verdict = "flat" if slope < FLAT_MB_PER_H else "growing"
    peak_how = ("VmHWM, reset at each window start with `echo 5 > /proc/self/clear_refs`" if soak.hwm_reset_works
                else "max of the VmRSS samples (the kernel refused /proc/self/clear_refs)")
    header = ["stream min", "wall s (end)", "frames", "FPS", "crossings", "flag events", "peak RSS MB",
              "RSS at end MB", "Python heap MB", "malloc in use MB", "malloc free MB", "outbox backlog",
              "delivered (total)"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    for w in soak.windows:
        fps = w.frames / w.seconds if w.seconds > 0 else 0.0
        rows.append(f"| {w.start_min:.1f}–{w.end_min:.1f} | {w.wall_s:.0f} | {w.frames} | {fps:.1f} | {w.crossings} | "
                    f"{w.flags} | {w.peak_rss_mb:.0f} | {w.end_rss_mb:.0f} | {_mb(w.end_python_mb)} | "
                    f"{_mb(w.end_malloc_used_mb)} | {_mb(w.end_malloc_free_mb)} | {w.backlog} | {w.delivered} |")
    command = "python benchmarks/soak.py " + " ".join(sys.argv[1:])
    flags = ", ".join(f"{k} {p} {n}" for (k, p), n in sorted(summary.flags.items())) or "none"
    ran_min = (soak.last_ts + 1 / r["fps"]) / 60
    stopped = f" (stopped by a signal at {ran_min:.1f} of {args.minutes:g})" if ran_min < args.minutes - 0.01 else ""
    lines = [
        f"# Soak: {min(ran_min, args.minutes):.1f} minutes of stream time{stopped} through the whole edge pipeline",
        "",
        f"Command: `{command.strip()}`  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; commit {commit} (at the start); "
        f"{platform.machine()}, {os.cpu_count()} cores, CPU only, Python {sys.version.split()[0]}.  ",
        f"Load average (1/5/15 min): {'/'.join(f'{v:.2f}' for v in load_start)} at the start, "
        f"{'/'.join(f'{v:.2f}' for v in load_end)} at the end (the soak's own work counts in these).  ",
    ]
    if args.load_note:
        lines.append(f"Load note: {args.load_note}  ")
    lines += [
        "",
        f"Clip `{r['clip'].name}` ({r['fps']:g} fps) looped {r['loops']} times with stream time carried across loops; "
        f"pipeline as `gatewatch run` builds it from `samples/street_parked_held.yaml` (model `{Path(r['model'].get('path', '?')).name}`, "
        f"ByteTrack, gate line, plate stage with the default reader, held-vehicle flags) plus an outbox delivering to "
        f"`gatewatch serve` (uvicorn, SQLite) on 127.0.0.1. RSS: this process (pipeline, outbox sender; not the API "
        f"server), sampled every {args.sample_s:g} s of wall time ({len(soak.samples)} samples). Peak per window: "
        f"{peak_how}. Flag events: start/update/end events of held-vehicle flags.",
        "",
        *rows,
        "",
        f"- Frames {summary.frames} in {summary.seconds:.0f} s of wall time: {summary.fps:.1f} FPS "
        f"({summary.frames / r['fps'] / summary.seconds:.1f}x real time); latency p50 {summary.latency(50):.0f} ms, "
        f"p95 {summary.latency(95):.0f} ms.",
        f"- Crossings {summary.crossings} ({summary.crossings_with_plate} with a plate); flags: {flags}.",
        f"- Events produced {r['produced']}, delivered {stats.delivered_total} (accepted {stats.accepted_total}, "
        f"duplicates {stats.duplicates_total}, rejected {stats.rejected_total}), stored by the API {r['stored']}; "
        f"outbox backlog at the end {stats.pending_events} events, {stats.pending_evidence} images "
        f"(drained within {args.drain_s:g} s: {'yes' if r['drained'] else 'no'}); evidence images sent "
        f"{stats.evidence_sent_total}.",
        f"- Gate API server RSS at the end: {r['api_rss_mb']:.0f} MB.",
        f"- RSS slope after a {warmup_s / 60:g}-minute warm-up: {slope:+.2f} ± {stderr:.2f} MB/h (least squares "
        f"over {n} samples, ± one standard error).",
        f"- Verdict: **{verdict}** (threshold {FLAT_MB_PER_H:g} MB/h: {FLAT_WHY}).",
        "- Where the memory is, slopes over the same samples: "
        + "; ".join(f"{name} {sl:+.2f} ± {se:.2f} MB/h" for name, (sl, se, _) in
                    zip(("Python heap (tracemalloc)", "glibc malloc in use", "glibc malloc free (kept by the "
                         "allocator)"), heap_slopes, strict=True) if np.isfinite(sl))
        + ("" if args.tracemalloc else " (run with `--tracemalloc` for the Python heap)") + ".",
    ]
    if r["growth"]:
        lines += ["- Python lines whose traced memory grew most from the end of the warm-up to the end of the run: "
                  + "; ".join(r["growth"]) + "."]
    return "\n".join(lines) + "\n"


def _mb(value: float) -> str:
    return f"{value:.1f}" if np.isfinite(value) else "–"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="stream minutes to run (default 30)")
    parser.add_argument("--clip", default=DEFAULT_CLIP, help="video path, or file name under <assets>/videos")
    parser.add_argument("--out", default=str(RESULTS), help="markdown table written here")
    parser.add_argument("--load-note", default="", help="a line about other load on the machine during the run")
    parser.add_argument("--model", help="detector model name or path (default: the sample config's)")
    parser.add_argument("--window-minutes", type=float, default=5.0, help="stream minutes per table row")
    parser.add_argument("--warmup-minutes", type=float, default=5.0,
                        help="stream minutes left out of the slope (capped at a third of the run)")
    parser.add_argument("--sample-s", type=float, default=2.0, help="wall seconds between RSS samples")
    parser.add_argument("--progress-s", type=float, default=30.0, help="wall seconds between progress lines")
    parser.add_argument("--drain-s", type=float, default=120.0, help="wait this long for the outbox to empty")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="trace Python allocations: the Python heap per window and the lines that grew most "
                             "(slower)")
    parser.add_argument("--loop-after-frames", type=int, help=argparse.SUPPRESS)  # tests: short passes
    args = parser.parse_args(argv)
    if args.tracemalloc:
        tracemalloc.start()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    load_start = os.getloadavg()
    commit = git_commit()
    log.info("soak: %g stream minutes of %s; load average %s", args.minutes, args.clip,
             " ".join(f"{v:.2f}" for v in load_start))
    with tempfile.TemporaryDirectory(prefix="gw-soak-") as tmp:
        result = run(args, Path(tmp))
    load_end = os.getloadavg()
    warmup_s = warmup_seconds(args, result["soak"].last_ts)
    log.info("soak done; load average %s", " ".join(f"{v:.2f}" for v in load_end))
    text = render(args, result, load_start, load_end, warmup_s, commit)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
