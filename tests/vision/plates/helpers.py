"""Shared helpers of the plate tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest


def plate_crop(plates_dir: Path, rel: str) -> np.ndarray:
    """A shared plate image (BGR) under ``plates_dir``; the test is skipped, saying so, when it is missing."""
    path = plates_dir / rel
    if not path.is_file():
        pytest.skip(f"asset missing: {path}")
    image = cv2.imread(str(path))
    assert image is not None, path
    return image
