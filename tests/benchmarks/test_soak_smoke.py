"""The soak benchmark, briefly: its looping source keeps stream time going, and a few seconds of a
real run (real models, real ``gatewatch serve``) give a table of the expected shape and figures."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gatewatch.config import SourceConfig
from gatewatch.vision.sources import VideoFileSource
from tests.conftest import asset

ROOT = Path(__file__).resolve().parents[2]
CLIP = "videos/street_parked_and_passing_vehicles_73s.mp4"


def load_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak_benchmark", ROOT / "benchmarks" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def clip_timestamps() -> tuple[list[float], float]:
    """Stream times of one plain pass over the clip (its own, irregular, container timestamps) and its fps."""
    clip = VideoFileSource(SourceConfig(uri=str(asset(CLIP))))
    try:
        return [frame.ts for frame in clip], clip.fps
    finally:
        clip.close()


def test_looping_source_carries_stream_time_and_index_across_loops():
    """Passes of 5 frames for 2 s of stream time: each pass starts one frame step after the last one ended."""
    soak = load_soak()
    ts, fps = clip_timestamps()
    pass_s = ts[4] + 1.0 / fps
    expected = [p * pass_s + t for p in range(10) for t in ts[:5]]
    expected = [t for t in expected if t < 2.0]
    source = soak.LoopingVideoSource(SourceConfig(uri=str(asset(CLIP))), duration_s=2.0, loop_after_frames=5)
    frames = list(source)
    assert len(expected) == 21
    assert [f.ts for f in frames] == pytest.approx(expected, abs=1e-9)
    assert [f.index for f in frames] == list(range(21))
    assert source.loops == 4  # passes 0-3 ran their 5 frames; the fifth ended at the 2 s mark
    assert all(b.ts > a.ts for a, b in zip(frames, frames[1:], strict=False))
    assert all((f.time - source.start_time).total_seconds() == pytest.approx(f.ts, abs=1e-6) for f in frames)


@pytest.mark.slow
def test_soak_run_of_fifteen_stream_seconds_writes_a_full_table(tmp_path):
    """15 s of stream in 6 s windows: 3 rows with frames, FPS and RSS; every event produced reaches the API."""
    ts, _ = clip_timestamps()
    expected_frames = sum(t < 15.0 for t in ts)  # the clip's own timestamps are irregular (0.08-0.12 s apart)
    out = tmp_path / "soak.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--minutes", "0.25", "--window-minutes", "0.1",
         "--sample-s", "0.5", "--drain-s", "60", "--tracemalloc", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, env=os.environ.copy(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    rows = [line for line in text.splitlines() if re.match(r"^\| \d", line)]
    assert [row.split("|")[1].strip() for row in rows] == ["0.0–0.1", "0.1–0.2", "0.2–0.2"]
    frames = 0
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 13
        assert int(cells[2]) > 0 and float(cells[3]) > 0  # frames, FPS
        assert float(cells[6]) > 100 and float(cells[7]) > 100  # peak and end RSS, MB (models loaded)
        assert float(cells[6]) >= float(cells[7])  # a window's peak is at least its last sample
        python_heap, malloc_used, malloc_free = map(float, cells[8:11])
        assert 0 < python_heap < float(cells[7])  # traced Python/numpy memory is part of the resident set
        assert malloc_used > 0 and malloc_free >= 0
        frames += int(cells[2])
    assert frames == expected_frames
    assert re.search(rf"^- Frames {expected_frames} in \d+ s of wall time", text, re.M)
    produced, delivered, stored = map(int, re.search(
        r"Events produced (\d+), delivered (\d+) \(.*?\), stored by the API (\d+); outbox backlog at the end 0 events",
        text).groups())
    assert produced > 0 and produced == delivered == stored
    assert re.search(r"^- RSS slope after a 0\.08\d*-minute warm-up: [+-]\d+\.\d+ ± \d+\.\d+ MB/h", text, re.M)
    assert re.search(r"^- Verdict: \*\*(flat|growing)\*\* \(threshold 2 MB/h", text, re.M)
    assert re.search(r"^- Where the memory is, slopes over the same samples: Python heap \(tracemalloc\) "
                     r"[+-]\d+\.\d+ ± \d+\.\d+ MB/h; glibc malloc in use [+-]\d", text, re.M)
    assert re.search(r"^- Python lines whose traced memory grew most .*: `[^`]+:\d+` [+-]\d", text, re.M)
