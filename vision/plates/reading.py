"""What a plate reader returns for one plate crop, and the interface every reader backend meets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class PlateReading:
    """What a reader saw on one plate crop.

    Attributes:
        lines: raw text per line, top to bottom (separators as read), e.g. ``('59-L2', '149.99')``.
        confidence: mean character probability over all lines, 0..1.
        line_confidences: the same per line.
        province_probs: for a Chinese read, the recogniser's probability of each province character at
            the step where it read the province (``(("皖", 0.91), ("宁", 0.05), ...)``); empty when the
            reader gives none. :func:`gatewatch.vision.plates.province.apply_province_prior` uses it.
        alternatives: per character of the joined lines, the recogniser's most likely letters and digits
            at that character (``(("1", 0.6), ("L", 0.3), ...)``), or empty; format fitting
            (``normalise(..., alternatives=)``) uses them to choose between look-alikes.
    """

    lines: tuple[str, ...]
    confidence: float
    line_confidences: tuple[float, ...] = ()
    province_probs: tuple[tuple[str, float], ...] = ()
    alternatives: tuple[tuple[tuple[str, float], ...], ...] = ()

    @property
    def text_raw(self) -> str:
        """Lines joined by a space, as stored in ``PlateRead.text_raw``."""
        return " ".join(self.lines)


class PlateReader(Protocol):
    """Anything that reads the text of a plate crop; ``None`` when nothing readable is there."""

    def read(self, crop: np.ndarray) -> PlateReading | None: ...
