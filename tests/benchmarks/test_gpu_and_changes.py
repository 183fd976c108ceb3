"""The GPU script and the per-change benchmark, on a CPU: what can run here runs.

``benchmarks/gpu.sh`` is valid bash; ``gpu_streams.py`` plans its runs, reads an nvidia-smi log,
and on a machine without CUDA reports each GPU engine as failed with onnxruntime's reason
(the provider fallback path) instead of quietly running on the CPU. ``changes.py``'s overrides
change exactly one setting, and the frame's own input size is a multiple of 32 of its aspect.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import onnxruntime as ort
import pytest

from gatewatch.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_gpu_sh_is_valid_bash():
    subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu.sh")], check=True)


def test_gpu_streams_plan_runs_without_a_gpu():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_streams.py"), "--dry-run", "--streams", "1", "2"],
                         capture_output=True, text=True, check=True).stdout
    assert out.count("cuda-fp16: ") == 2 and "ultralytics: 1 stream(s)" in out


def test_gpu_log_window(tmp_path):
    gpu = load("gpu_streams")
    log = tmp_path / "gpu.csv"
    log.write_text("2026/11/30 01:00:00.000, 40, 900\n2026/11/30 01:00:01.000, 60, 1100\n"
                   "2026/11/30 01:00:09.000, 99, 5000\nnot a row\n")
    start = gpu.datetime(2026, 11, 30, 1, 0, 0, tzinfo=gpu.timezone.utc).timestamp()
    assert gpu.gpu_util(log, start, start + 2) == "50 % (mem 1100 MB)"
    assert gpu.gpu_util(log, start + 20, start + 30) == "-"


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="a CUDA onnxruntime is here")
def test_a_gpu_engine_without_cuda_is_reported_failed(tmp_path):
    out = tmp_path / "gpu.md"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_streams.py"), "--engines", "cuda-fp32",
                    "--streams", "1", "--seconds", "1", "--out", str(out)], capture_output=True, text=True, check=True)
    row = next(line for line in out.read_text().splitlines() if line.startswith("| cuda-fp32"))
    assert "failed" in row and "not available" in row


def test_each_variant_changes_only_its_own_settings():
    changes = load("changes")
    base = load_config(ROOT / "samples" / "highway_720p.yaml")
    threads = changes.with_overrides(base, changes.VARIANTS["threads2-nospin"][1])
    assert (threads.model.threads, threads.model.spinning) == (2, False)
    assert threads.detect == base.detect and threads.lanes == base.lanes
    motion = changes.with_overrides(base, changes.VARIANTS["motion"][1])
    assert motion.detect.schedule.mode == "motion" and motion.detect.schedule.max_interval_frames == 5
    assert motion.model == base.model


def test_the_ceiling_runs_the_model_on_every_frame_across_both_sessions(vehicle_model):
    """``--ceiling``: each of the clip's frames goes through the model once, the sessions taking turns."""
    changes = load("changes")
    result = changes.run_ceiling("highway_cctv", str(vehicle_model.path), sessions=2, max_frames=12, ring=4)
    assert result["frames"] == 12 and all(ms > 0 for ms in result["latencies_ms"])  # every frame went through
    assert sum(result["per_session"]) == 12 and min(result["per_session"]) > 0  # both sessions worked
    assert result["seconds"] > 0 and result["cpu_s"] > 0
