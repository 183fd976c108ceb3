"""The ``fused_own`` reader: the ``fused`` reader with gatewatch's own recogniser as a third opinion.

Every crop is read by ``fused`` (which keeps the two reads it fused) and by the own model; the own
read may override characters of the fused read by :func:`~.third_opinion.third_opinion` (only where
one of the two first readers read the same character, and only when the result fits a plate format).

Example::

    >>> reader = FusedOwnReader(FusedOwnReaderConfig(threads=1))
    >>> reader.read(crop).lines                   # crop: BGR uint8 (H, W, 3)
    ('59L2', '14999')
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates.config import FusedOwnReaderConfig, FusedReaderConfig
from gatewatch.vision.plates.fastplate import FusedReader
from gatewatch.vision.plates.fusion import vn_lines
from gatewatch.vision.plates.own import OWN_ONNX, OwnRecognizer, plate_lines
from gatewatch.vision.plates.readers import READERS, PlateReading, _usable
from gatewatch.vision.plates.third_opinion import own_read, read_of, third_opinion


class FusedOwnReader:
    """``fused`` plus the own line model: the own read overrides a fused character only with a second reader's support."""

    def __init__(self, config: FusedOwnReaderConfig | None = None) -> None:
        self.config = config or FusedOwnReaderConfig()
        cfg = self.config
        self.fused = FusedReader(
            FusedReaderConfig(**cfg.model_dump(include=set(FusedReaderConfig.model_fields) - {"type"}))
        )
        self.own = OwnRecognizer(
            OnnxModel(
                cfg.own_model_path or OWN_ONNX, providers=cfg.providers, threads=cfg.threads, warmup=False
            )
        )
        self.overrides = 0

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        if not _usable(crop):
            return None
        cfg = self.config
        reading, sources = self.fused.read_with_sources(crop)
        if len(sources) != 2:
            return reading
        own = own_read(self.own.recognise(plate_lines(crop, cfg.own_frame_inset, cfg.two_line_max_aspect)))
        fused = read_of(reading.lines) if reading is not None else None
        text = third_opinion(fused, [read_of([t]) for t, _ in sources], own, cfg.min_own_prob)
        if text is None:
            return reading
        self.overrides += 1
        two_line = (reading is not None and len(reading.lines) == 2) or len(plate_lines(crop)) == 2
        lines = vn_lines(text) if two_line else (text,)
        if reading is None:
            confidence = float(np.mean(own.probs)) if own.probs else 0.0
            return PlateReading(lines, confidence, (confidence,) * len(lines))
        province_kept = fused is not None and fused.province == (text[:1] if not text[:1].isascii() else "")
        return dataclasses.replace(
            reading,
            lines=lines,
            line_confidences=(reading.confidence,) * len(lines),
            province_probs=reading.province_probs if province_kept else (),
            alternatives=(),
        )


READERS["fused_own"] = FusedOwnReader
