"""Helpers shared by the vision and flag tests: frames and tracks from plain lists,
and a flag stage with the event builder behind it (the events a camera would send)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import supervision as sv

from gatewatch.events import FlagEvent, PlateRead
from gatewatch.vision.publish import EventBuilder
from gatewatch.vision.sources import Frame
from gatewatch.vision.stages import PlateBook, PlateUpdate

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def make_tracks(rows: list[tuple[int, tuple[float, float, float, float], str]],
                plates: Mapping[int, PlateRead] | None = None) -> sv.Detections:
    """``[(track_id, (x1, y1, x2, y2), class_name), ...]`` -> tracked Detections.

    ``plates``: the plate stage's reads by track id, set as the ``plate`` column the pipeline gives.
    """
    if not rows:
        tracks = sv.Detections.empty()
        tracks.tracker_id = np.array([], dtype=int)
        tracks.data["class_name"] = np.array([], dtype=str)
    else:
        tracks = sv.Detections(
            xyxy=np.array([r[1] for r in rows], dtype=np.float32),
            confidence=np.full(len(rows), 0.9, dtype=np.float32),
            class_id=np.zeros(len(rows), dtype=int),
            tracker_id=np.array([r[0] for r in rows], dtype=int),
            data={"class_name": np.array([r[2] for r in rows])},
        )
    if plates is not None:
        book = PlateBook()
        book.apply(PlateUpdate(tid, plate) for tid, plate in plates.items())
        book.annotate(tracks)
    return tracks


def make_frame(index: int, fps: float, image: np.ndarray | None = None, size: tuple[int, int] = (640, 360)) -> Frame:
    ts = index / fps
    if image is None:
        image = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    return Frame(image=image, index=index, ts=ts, time=T0 + timedelta(seconds=ts))


class WithEvents:
    """A flag stage whose changes come out as the ``FlagEvent`` s camera ``gate/camera`` sends.

    Other attributes (``trucks_checked``, ``zones`` ...) are the stage's.
    """

    def __init__(self, stage: Any, gate: str = "g", camera: str = "c", evidence: Any = None) -> None:
        self.stage = stage
        self.builder = EventBuilder(gate, camera, evidence=evidence)

    def update(self, frame: Frame, tracks: sv.Detections) -> list[FlagEvent]:
        return self.builder.flags(self.stage.update(frame, tracks))

    def forget(self, frame: Frame, track_ids: list[int]) -> list[FlagEvent]:
        return self.builder.flags(self.stage.forget(frame, track_ids))

    def finish(self, frame: Frame | None) -> list[FlagEvent]:
        return self.builder.flags(self.stage.finish(frame))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stage, name)
