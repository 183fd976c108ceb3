"""The ``fused_own`` and ``auto_own`` readers: ``fused`` / ``auto`` with gatewatch's own recogniser as a third opinion.

Every crop is read by ``fused`` (which keeps the two reads it fused) and by the own model; the own
read may override characters of the fused read by :func:`~.third_opinion.third_opinion` (only where
one of the two first readers read the same character, and only when the result fits a plate format).
``auto_own`` does the same on ``auto`` (RapidOCR + LPRNet on Chinese crops; no AGPL asset), where only
Chinese crops have two first reads.

Example::

    >>> reader = FusedOwnReader(FusedOwnReaderConfig(threads=1))
    >>> reader.read(crop).lines                   # crop: BGR uint8 (H, W, 3)
    ('59L2', '14999')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates.config import (
    AutoOwnReaderConfig,
    AutoReaderConfig,
    FusedOwnReaderConfig,
    FusedReaderConfig,
)
from gatewatch.vision.plates.fastplate import FusedReader
from gatewatch.vision.plates.fusion import SlotRead, vn_lines
from gatewatch.vision.plates.own import OWN_ONNX, OwnRecognizer, plate_lines
from gatewatch.vision.plates.readers import READERS, AutoReader, PlateReading, _usable
from gatewatch.vision.plates.third_opinion import own_read, read_of, third_opinion


class _Sourced(Protocol):
    """A reader that tells which two reads it fused (``FusedReader``, ``AutoReader``)."""

    def read_with_sources(self, crop: np.ndarray) -> tuple[PlateReading | None, list[tuple[str, np.ndarray]]]: ...


class FusedOwnReader:
    """``fused`` plus the own line model: the own read overrides a fused character only with a second reader's support."""

    def __init__(self, config: FusedOwnReaderConfig | None = None) -> None:
        self.config: FusedOwnReaderConfig | AutoOwnReaderConfig = config or FusedOwnReaderConfig()
        self.fused: _Sourced = self._first_readers()
        cfg = self.config
        self.own = OwnRecognizer(
            OnnxModel(
                cfg.own_model_path or OWN_ONNX, providers=cfg.providers, threads=cfg.threads, warmup=False
            )
        )
        self.overrides = 0

    def _first_readers(self) -> _Sourced:
        return FusedReader(
            FusedReaderConfig(**self.config.model_dump(include=set(FusedReaderConfig.model_fields) - {"type"}))
        )

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        return self.read_with_own(crop)

    def read_with_own(
        self, crop: np.ndarray, own_lines: Sequence[tuple[str, np.ndarray]] | None = None,
        slot: SlotRead | None = None,
    ) -> PlateReading | None:
        """As :meth:`read`; ``own_lines``: the own model's read of this crop when the caller has it already
        (text and probabilities per line, from ``plate_lines(crop, own_frame_inset, two_line_max_aspect)``);
        ``slot``: likewise the fast-plate-ocr model's read (``fused_own`` only)."""
        if not _usable(crop):
            return None
        cfg = self.config
        if slot is not None and isinstance(self.fused, FusedReader):
            reading, sources = self.fused.read_with_sources(crop, slot)
        else:
            reading, sources = self.fused.read_with_sources(crop)
        if len(sources) != 2:
            return reading
        if own_lines is None:
            own_lines = self.own.recognise(plate_lines(crop, cfg.own_frame_inset, cfg.two_line_max_aspect))
        own = own_read(own_lines)
        fused = read_of(reading.lines) if reading is not None else None
        text = third_opinion(fused, [read_of([t]) for t, _ in sources], own, cfg.min_own_prob, cfg.own_other_lengths)
        if text is None:
            return reading
        self.overrides += 1
        two_line = (reading is not None and len(reading.lines) == 2) or len(own_lines) == 2
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


class AutoOwnReader(FusedOwnReader):
    """``auto`` plus the own line model as a third opinion on Chinese crops (RapidOCR + LPRNet + own).

    Needs no AGPL asset. On Vietnamese crops ``auto`` reads with RapidOCR alone, so there is no second
    reader to back an own character and the read is ``auto``'s.
    """

    def __init__(self, config: AutoOwnReaderConfig | None = None) -> None:
        self.config = config or AutoOwnReaderConfig()
        super().__init__(self.config)  # type: ignore[arg-type]  # the same own-opinion fields

    def _first_readers(self) -> _Sourced:
        return AutoReader(AutoReaderConfig(**self.config.model_dump(include=set(AutoReaderConfig.model_fields) - {"type"})))


READERS["fused_own"] = FusedOwnReader
READERS["auto_own"] = AutoOwnReader
