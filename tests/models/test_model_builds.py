"""Derived models pass one gate: a build over its tolerance is refused and never lands where it is used;
``gatewatch.models`` never imports ``gatewatch.vision``."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gatewatch.errors import ModelError
from gatewatch.models import BuildResult, BuildUnavailable, build_checked
from gatewatch.models.cache import cached_build, derived_path
from tests.conftest import asset

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def test_importing_every_models_module_leaves_vision_out() -> None:
    code = (
        "import importlib, pkgutil, sys, gatewatch.models as m\n"
        "names = [f'gatewatch.models.{i.name}' for i in pkgutil.iter_modules(m.__path__)]\n"
        "assert len(names) >= 8, names\n"
        "[importlib.import_module(n) for n in names]\n"
        "bad = sorted(n for n in sys.modules if n.startswith('gatewatch.vision'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("source", sorted(MODELS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_models_module_imports_vision_even_lazily(source: Path) -> None:
    """Imports inside functions count too (``models/export.py`` imported ``vision.detector.letterbox`` there)."""
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        assert not any(n == "gatewatch.vision" or n.startswith("gatewatch.vision.") for n in names), (
            f"{source.name}:{node.lineno} imports {names}"
        )


def test_letterbox_has_one_home() -> None:
    from gatewatch.models.preprocess import letterbox
    from gatewatch.vision.detector import letterbox as from_detector

    assert from_detector is letterbox


def _result(error: float, tolerance: float = 0.1) -> BuildResult:
    return BuildResult(Path("/cache/m_int8.onnx"), Path("/weights/m.onnx"), error, tolerance, "score change", 4, 1.0)


def test_result_check() -> None:
    assert _result(0.05).ok and _result(0.05).check() == _result(0.05)
    assert _result(0.1).ok  # the limit itself is accepted
    with pytest.raises(ModelError, match=r"m_int8.onnx \(from m.onnx\): score change 0.25 is over the tolerance 0.1"):
        _result(0.25).check()
    assert not _result(math.nan).ok


@dataclass
class FakeBuild:
    """Writes ``payload`` and reports ``error``; counts its runs."""

    error: float
    tolerance: float = 0.1
    payload: bytes = b"new model"
    fail: Exception | None = None
    runs: int = 0

    def build(self, source: Path, out: Path) -> BuildResult:
        self.runs += 1
        out.write_bytes(self.payload)
        if self.fail is not None:
            raise self.fail
        return BuildResult(out, source, self.error, self.tolerance, "fake error", 1, 0.0)


def test_gate_keeps_a_build_within_tolerance(tmp_path: Path) -> None:
    result = build_checked(FakeBuild(0.05), tmp_path / "src.onnx", tmp_path / "out.onnx")
    assert result.ok and result.path == tmp_path / "out.onnx" and result.path.read_bytes() == b"new model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.onnx"]


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (FakeBuild(0.5), r"fake error 0.5 is over the tolerance 0.1"),
        (FakeBuild(0.0, fail=BuildUnavailable("needs the 'onnx' package")), "needs the 'onnx' package"),
    ],
    ids=["over-tolerance", "cannot-build"],
)
def test_gate_refuses_and_leaves_the_earlier_file(tmp_path: Path, build: FakeBuild, error: str) -> None:
    (tmp_path / "out.onnx").write_bytes(b"earlier model")
    with pytest.raises(ModelError, match=error):
        build_checked(build, tmp_path / "src.onnx", tmp_path / "out.onnx")
    assert build.runs == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.onnx"]  # no temporary file left
    assert (tmp_path / "out.onnx").read_bytes() == b"earlier model"


def test_cached_build_names_by_recipe_and_builds_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "rec.onnx"
    source.write_bytes(b"\0" * 64)
    build = FakeBuild(0.01)
    first = cached_build(build, source, "int8", "recipe-a")
    assert first == derived_path(source, "int8", "recipe-a") and first.name.startswith("rec_int8_")
    assert cached_build(build, source, "int8", "recipe-a") == first and build.runs == 1
    assert cached_build(build, source, "int8", "recipe-b") != first and build.runs == 2
    with pytest.raises(ModelError, match="over the tolerance"):
        cached_build(FakeBuild(1.0), source, "int8", "recipe-c")
    assert not derived_path(source, "int8", "recipe-c").exists()


def test_detector_int8_over_a_tiny_tolerance_is_not_written(tmp_path: Path, vehicle_model) -> None:
    from gatewatch.models.quantize import DETECTOR_INT8_MEASURE, quantize_static_int8

    video = asset("videos/bgslibrary_topdown_road.avi")
    with pytest.raises(ModelError, match=rf"{DETECTOR_INT8_MEASURE} [0-9.e-]+ is over the tolerance 1e-06"):
        quantize_static_int8(vehicle_model.path, tmp_path / "int8.onnx", [video], per_video=2, tolerance=1e-6)
    assert list(tmp_path.iterdir()) == []


def test_registry_build_is_gated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``resolve_model('yolov8n-int8')`` builds through the gate: over tolerance, an error and no cached file."""
    from gatewatch.models import quantize, registry

    asset("weights/coco/yolov8n_fp32_from_int8.onnx")
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(registry, "CALIBRATION_VIDEOS", ("bgslibrary_topdown_road.avi",))
    real = quantize.quantize_static_int8
    monkeypatch.setattr(quantize, "quantize_static_int8", lambda s, o, v: real(s, o, v, per_video=2, tolerance=1e-6))
    with pytest.raises(ModelError, match="over the tolerance"):
        registry.resolve_model("yolov8n-int8")
    assert list(tmp_path.iterdir()) == []
