"""What every flag stage shares: open-flag bookkeeping and box geometry.

A flag stage reports ``FlagChange`` values (``OpenFlag.change``); the event builder
(``gatewatch.vision.publish``) names them, dates them and writes their evidence
(``EvidenceWriter``, re-exported here from ``gatewatch.vision.evidence``).
"""

from __future__ import annotations

import numpy as np

from gatewatch.vision.evidence import EvidenceWriter, clip_box
from gatewatch.vision.stages import Box, EvidenceShot, FlagChange, OpenFlag, time_at


def box_iou(a: Box | np.ndarray, b: Box | np.ndarray) -> float:
    """IoU of two ``(x1, y1, x2, y2)`` boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def box_center(b: Box | np.ndarray) -> tuple[float, float]:
    return (float(b[0] + b[2]) / 2, float(b[1] + b[3]) / 2)


def box_diag(b: Box | np.ndarray) -> float:
    return float(np.hypot(b[2] - b[0], b[3] - b[1]))


__all__ = [
    "Box", "EvidenceShot", "EvidenceWriter", "FlagChange", "OpenFlag", "box_center", "box_diag", "box_iou",
    "clip_box", "time_at",
]
