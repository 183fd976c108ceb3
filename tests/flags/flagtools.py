"""Helpers shared by the flag tests (imported as ``flagtools``): frames and tracks from plain lists."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import supervision as sv

from gatewatch.vision.sources import Frame

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def make_tracks(rows: list[tuple[int, tuple[float, float, float, float], str]]) -> sv.Detections:
    """``[(track_id, (x1, y1, x2, y2), class_name), ...]`` -> tracked Detections."""
    if not rows:
        empty = sv.Detections.empty()
        empty.tracker_id = np.array([], dtype=int)
        empty.data["class_name"] = np.array([], dtype=str)
        return empty
    return sv.Detections(
        xyxy=np.array([r[1] for r in rows], dtype=np.float32),
        confidence=np.full(len(rows), 0.9, dtype=np.float32),
        class_id=np.zeros(len(rows), dtype=int),
        tracker_id=np.array([r[0] for r in rows], dtype=int),
        data={"class_name": np.array([r[2] for r in rows])},
    )


def make_frame(index: int, fps: float, image: np.ndarray | None = None, size: tuple[int, int] = (640, 360)) -> Frame:
    ts = index / fps
    if image is None:
        image = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    return Frame(image=image, index=index, ts=ts, time=T0 + timedelta(seconds=ts))
