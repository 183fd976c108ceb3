"""What every flag stage shares: evidence images, open-flag bookkeeping, box geometry."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gatewatch.events import FlagEvent, FlagKind, FlagPhase, PlateRead
from gatewatch.vision.ids import flag_event_id, flag_id
from gatewatch.vision.sources import Frame

log = logging.getLogger(__name__)
Box = tuple[float, float, float, float]


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


def clip_box(b: Box | np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer box clipped to the frame."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in b)
    return max(0, x1), max(0, y1), min(width, x2), min(height, y2)


def time_at(frame: Frame, ts: float) -> datetime:
    """Wall-clock time of stream time ``ts``, derived from the frame's own time (replays exactly)."""
    return frame.time - timedelta(seconds=frame.ts - ts)


class EvidenceWriter:
    """Writes a flag's snapshot (whole frame, vehicle boxed) and crop as JPEGs named by flag id."""

    def __init__(self, folder: str | Path | None, jpeg_quality: int = 90) -> None:
        self.folder = Path(folder) if folder else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self._params = [int(cv2.IMWRITE_JPEG_QUALITY), jpeg_quality]
        self.failures = 0

    def save(self, image: np.ndarray, box: Box, flag_id: uuid.UUID, label: str = "") -> tuple[str | None, str | None]:
        """Return ``(snapshot_path, crop_path)``; ``(None, None)`` when off or the write failed."""
        if self.folder is None:
            return None, None
        h, w = image.shape[:2]
        x1, y1, x2, y2 = clip_box(box, w, h)
        snapshot = image.copy()
        cv2.rectangle(snapshot, (x1, y1), (x2, y2), (0, 0, 255), max(1, round(h / 240)))
        if label:
            cv2.putText(snapshot, label, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, max(0.4, h / 900),
                        (0, 0, 255), 1, cv2.LINE_AA)
        snap_path = self.folder / f"{flag_id}_snapshot.jpg"
        crop_path = self.folder / f"{flag_id}_crop.jpg"
        ok = cv2.imwrite(str(snap_path), snapshot, self._params)
        crop = image[y1:y2, x1:x2]
        ok_crop = crop.size > 0 and cv2.imwrite(str(crop_path), crop, self._params)
        if not ok or not ok_crop:  # degrade softly: the flag still goes out
            self.failures += 1
            log.warning("could not write evidence for flag %s in %s", flag_id, self.folder)
        return (str(snap_path) if ok else None), (str(crop_path) if ok_crop else None)


@dataclass
class OpenFlag:
    """An open flag: what its start said, and when it was last updated.

    Build it with ``OpenFlag.raise_on(...)`` so its id is deterministic (see ``gatewatch.vision.ids``).
    """

    kind: FlagKind
    started_ts: float
    started_at: datetime
    flag_id: uuid.UUID = field(default_factory=uuid.uuid4)
    last_emit_ts: float = 0.0
    snapshot_path: str | None = None
    crop_path: str | None = None

    @classmethod
    def raise_on(
        cls, kind: FlagKind, frame: Frame, gate: str, camera: str, subject: str, started_ts: float | None = None
    ) -> OpenFlag:
        """A flag raised on ``frame`` for ``subject`` (track, zone/track, plate/track); may have started earlier."""
        started_ts = frame.ts if started_ts is None else started_ts
        return cls(kind, started_ts, time_at(frame, started_ts),
                   flag_id=flag_id(gate, camera, FlagKind(kind).value, frame.key, subject))

    def event(
        self,
        phase: FlagPhase,
        frame: Frame,
        ts: float,
        gate: str,
        camera: str,
        *,
        zone: str | None = None,
        track_id: int | None = None,
        vehicle_class: str | None = None,
        box: Box | None = None,
        plate: PlateRead | None = None,
        details: dict[str, Any] | None = None,
    ) -> FlagEvent:
        """One event of this flag at stream time ``ts`` (an end may be dated before ``frame``)."""
        self.last_emit_ts = ts
        return FlagEvent(
            event_id=flag_event_id(self.flag_id, FlagPhase(phase).value, frame.key),
            flag_id=self.flag_id,
            flag_kind=self.kind,
            phase=phase,
            gate=gate,
            camera=camera,
            zone=zone,
            track_id=track_id,
            vehicle_class=vehicle_class,
            started_at=self.started_at,
            frame_time=time_at(frame, ts),
            stream_ts=max(0.0, ts),
            duration_s=max(0.0, ts - self.started_ts),
            box=tuple(float(v) for v in box) if box is not None else None,  # type: ignore[arg-type]
            plate=plate,
            snapshot_path=self.snapshot_path,
            crop_path=self.crop_path,
            details=details or {},
        )
