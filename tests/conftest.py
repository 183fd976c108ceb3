"""Fixtures for every test folder: the shared assets (skipped cleanly when absent) and model sessions."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewatch.assets import asset_dir

ASSETS = asset_dir()


def asset(rel: str) -> Path:
    """Path of a shared asset; skips the test (saying which) when it is missing."""
    if ASSETS is None:
        pytest.skip("shared assets not found: set GATEWATCH_ASSET_DIR or place them at ../shared/assets")
    path = ASSETS / rel
    if not path.exists():
        pytest.skip(f"shared asset missing: {path}")
    return path


@pytest.fixture(scope="session")
def vehicle_model():
    """The fp32 COCO YOLOv8n session (one per test run)."""
    from gatewatch.errors import ModelError
    from gatewatch.models import OnnxModel, resolve_model

    try:
        path = resolve_model("yolov8n", download=False)
    except ModelError as exc:
        pytest.skip(f"vehicle model missing: {exc}")
    return OnnxModel(path, threads=1)


@pytest.fixture(scope="session")
def vehicle_detector(vehicle_model):
    from gatewatch.vision.detector import YoloDetector

    return YoloDetector(vehicle_model, classes=["car", "truck", "bus", "motorcycle"])


@pytest.fixture(scope="session")
def plates_dir() -> Path:
    """The shared plate crops and photos (plate tests and the plate benchmark's split tests)."""
    if ASSETS is None or not (ASSETS / "plates").is_dir():
        pytest.skip("shared plate assets not found (../shared/assets/plates; set GATEWATCH_ASSET_DIR)")
    return ASSETS / "plates"
