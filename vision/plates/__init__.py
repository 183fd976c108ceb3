"""Plate reading for Vietnamese and Chinese plates: detect on the vehicle crop, read, vote.

Import as ``gatewatch.vision.plates``; see ``README.md`` in this folder. The config models
(``.config``) load at once; the stages and readers pull in OpenCV and onnxruntime, so they load
on first use: the camera config (``gatewatch config check``) validates ``plates:`` without them.
"""

from __future__ import annotations

from typing import Any

from gatewatch.vision.plates.config import (
    AutoReaderConfig,
    EasyOcrReaderConfig,
    LprnetReaderConfig,
    PlatesConfig,
    RapidOcrReaderConfig,
)

_LAZY = {
    "PlateBox": "detector", "PlateDetector": "detector", "plate_model_path": "detector",
    "PlateText": "formats", "is_valid": "formats", "normalise": "formats",
    "AutoReader": "readers", "EasyOcrReader": "readers", "LprnetReader": "readers", "PlateReader": "readers",
    "PlateReading": "readers", "RapidOcrReader": "readers", "build_reader": "readers",
    "PlateStage": "stage",
    "Candidate": "voting", "PlateVote": "voting", "VoteResult": "voting",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AutoReader", "AutoReaderConfig", "Candidate", "EasyOcrReader", "EasyOcrReaderConfig", "LprnetReader",
    "LprnetReaderConfig", "PlateBox", "PlateDetector", "PlateReader",
    "PlateReading", "PlateStage", "PlateText", "PlateVote", "PlatesConfig", "RapidOcrReader",
    "RapidOcrReaderConfig", "VoteResult", "build_reader", "is_valid", "normalise", "plate_model_path",
]
