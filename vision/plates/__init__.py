"""Plate reading for Vietnamese and Chinese plates: detect on the vehicle crop, read, vote.

Import as ``gatewatch.vision.plates``; see ``README.md`` in this folder.
"""

from __future__ import annotations

from .detector import PlateBox, PlateDetector, plate_model_path
from .formats import PlateText, is_valid, normalise
from .readers import (
    AutoReader,
    AutoReaderConfig,
    EasyOcrReader,
    EasyOcrReaderConfig,
    LprnetReader,
    LprnetReaderConfig,
    PlateReader,
    PlateReading,
    RapidOcrReader,
    RapidOcrReaderConfig,
    build_reader,
)
from .stage import PlatesConfig, PlateStage
from .voting import Candidate, PlateVote, VoteResult

__all__ = [
    "AutoReader", "AutoReaderConfig", "Candidate", "EasyOcrReader", "EasyOcrReaderConfig", "LprnetReader",
    "LprnetReaderConfig", "PlateBox", "PlateDetector", "PlateReader",
    "PlateReading", "PlateStage", "PlateText", "PlateVote", "PlatesConfig", "RapidOcrReader",
    "RapidOcrReaderConfig", "VoteResult", "build_reader", "is_valid", "normalise", "plate_model_path",
]
