"""Fixtures for plate tests: asset folders and module-scoped model sessions."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewatch.assets import asset_dir


@pytest.fixture(scope="session")
def plates_dir() -> Path:
    root = asset_dir()
    if root is None or not (root / "plates").is_dir():
        pytest.skip("shared plate assets not found (../shared/assets/plates; set GATEWATCH_ASSET_DIR)")
    return root / "plates"
