"""Evidence images on the edge box: crossing crops and flag snapshots, written whole or not at all.

Only the event builder (``gatewatch.vision.publish``) writes them; stages never touch files.
A write that fails (full disk, I/O error) leaves no truncated file behind and the event goes
out without the path.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)
Box = tuple[float, float, float, float]


def clip_box(b: Box | np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer box clipped to the frame."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in b)
    return max(0, x1), max(0, y1), min(width, x2), min(height, y2)


def write_jpeg(path: Path, image: np.ndarray, params: list[int], what: str = "crop") -> bool:
    """Write a JPEG whole or not at all (a full disk leaves no truncated file behind); False on failure."""
    ok, data = cv2.imencode(".jpg", image, params)
    try:
        if not ok:
            raise OSError("JPEG encoding failed")
        path.write_bytes(data.tobytes())
        return True
    except OSError as exc:
        path.unlink(missing_ok=True)
        log.warning("could not write %s %s: %s; the event is reported without it", what, path, exc)
        return False


class CrossingCrops:
    """Writes the crop of a crossing vehicle as ``<event id>.jpg`` (off without a folder)."""

    def __init__(self, folder: str | Path | None, jpeg_quality: int = 90) -> None:
        self.folder = Path(folder) if folder else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self._params = [int(cv2.IMWRITE_JPEG_QUALITY), jpeg_quality]

    def save(self, image: np.ndarray, box: Box, event_id: uuid.UUID) -> str | None:
        """Path of the written crop, or ``None`` (off, empty box or the write failed)."""
        if self.folder is None:
            return None
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        crop = image[max(y1, 0) : y2, max(x1, 0) : x2]
        if not crop.size:
            return None
        path = self.folder / f"{event_id}.jpg"
        return str(path) if write_jpeg(path, crop, self._params) else None


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
        ok = write_jpeg(snap_path, snapshot, self._params, "snapshot")
        crop = image[y1:y2, x1:x2]
        ok_crop = crop.size > 0 and write_jpeg(crop_path, crop, self._params)
        if not ok or not ok_crop:  # degrade softly: the flag still goes out
            self.failures += 1
            log.warning("could not write evidence for flag %s in %s", flag_id, self.folder)
        return (str(snap_path) if ok else None), (str(crop_path) if ok_crop else None)
