"""Plate detector: the fastanpr YOLOv8n plate model on a vehicle crop.

The checkpoint ``<assets>/weights/plate_detector/fastanpr_yolov8n_license_plate.pt`` is
exported once with ``gatewatch models export`` (``export_checkpoint``) to
``<cache>/fastanpr_yolov8n_license_plate.onnx``, where ``resolve_model("plate-yolov8n")``
finds it.

Example::

    >>> detector = PlateDetector(OnnxModel(plate_model_path()))
    >>> box = detector.best(vehicle_crop)      # vehicle_crop: BGR uint8 (H, W, 3)
    >>> box.xyxy, box.confidence
    (array([ 95.1, 210.3, 190.8, 240.2], dtype=float32), 0.83)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import supervision as sv

from gatewatch.assets import cache_dir
from gatewatch.errors import ModelError
from gatewatch.models.onnx import OnnxModel
from gatewatch.models.registry import find_source_checkpoint, resolve_model
from gatewatch.vision.detector import YoloDetector

PLATE_MODEL = "plate-yolov8n"
PLATE_ONNX = "fastanpr_yolov8n_license_plate.onnx"


def plate_model_path(export_if_missing: bool = False) -> Path:
    """Path of the plate detector ONNX; with ``export_if_missing`` build it from the checkpoint.

    Raises ``ModelError`` (naming the export command) when it is missing and not exported.
    """
    try:
        return resolve_model(PLATE_MODEL, download=False)
    except ModelError:
        checkpoint = find_source_checkpoint(PLATE_MODEL)
        if not export_if_missing or checkpoint is None:
            raise
    from gatewatch.models.export import export_checkpoint

    return export_checkpoint(checkpoint, out=cache_dir() / PLATE_ONNX).path


@dataclass(frozen=True)
class PlateBox:
    """One plate in a crop: ``xyxy`` (4,) float32 in crop pixels, detector confidence."""

    xyxy: np.ndarray
    confidence: float


class PlateDetector:
    """License plate detector (one class) on an ``OnnxModel``; works on vehicle crops."""

    def __init__(self, model: OnnxModel, confidence: float = 0.3, iou: float = 0.5) -> None:
        self.yolo = YoloDetector(model, confidence=confidence, iou=iou)
        self.model = model

    def predict(self, crop: np.ndarray) -> sv.Detections:
        """All plates in a BGR image ``(H, W, 3)``; boxes in its pixels."""
        return self.yolo.predict(crop)

    def best(self, crop: np.ndarray) -> PlateBox | None:
        """The most confident plate in ``crop``, or ``None``."""
        if crop.size == 0:
            return None
        detections = self.predict(crop)
        if len(detections) == 0:
            return None
        confidence = detections.confidence
        assert confidence is not None  # YoloDetector scores every box
        i = int(np.argmax(confidence))
        return PlateBox(detections.xyxy[i].astype(np.float32), float(confidence[i]))


def crop_box(image: np.ndarray, xyxy: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Crop ``image`` ``(H, W, C)`` to ``xyxy`` grown by ``margin`` (fraction of box size) per side."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    x1, y1 = max(0, int(round(x1 - mx))), max(0, int(round(y1 - my)))
    x2, y2 = min(w, int(round(x2 + mx))), min(h, int(round(y2 + my)))
    return image[y1:y2, x1:x2]
