"""Plate detector: the fastanpr YOLOv8n plate model on a vehicle crop.

The checkpoint ``<assets>/weights/plate_detector/fastanpr_yolov8n_license_plate.pt`` is
exported once with ``gatewatch models export`` (``export_checkpoint``) to
``<cache>/fastanpr_yolov8n_license_plate.onnx`` (640 px, where ``resolve_model("plate-yolov8n")``
finds it) or, at another input size ``plates.detector_input_size`` (default 480),
``<cache>/fastanpr_yolov8n_license_plate_<size>.onnx``.

Example::

    >>> detector = PlateDetector(OnnxModel(plate_model_path()))   # the default 480 px export
    >>> box = detector.best(vehicle_crop)      # vehicle_crop: BGR uint8 (H, W, 3)
    >>> box.xyxy, box.confidence
    (array([ 95.1, 210.3, 190.8, 240.2], dtype=float32), 0.83)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import supervision as sv

from gatewatch.assets import cache_dir, model_dirs
from gatewatch.errors import ModelError
from gatewatch.models.onnx import OnnxModel
from gatewatch.models.registry import find_source_checkpoint, resolve_model
from gatewatch.vision.detector import YoloDetector
from gatewatch.vision.plates.config import DEFAULT_PLATE_INPUT_SIZE

PLATE_MODEL = "plate-yolov8n"
PLATE_ONNX = "fastanpr_yolov8n_license_plate.onnx"
NATIVE_INPUT_SIZE = 640  # the size the checkpoint was trained and first exported at


def plate_onnx_name(input_size: int = NATIVE_INPUT_SIZE) -> str:
    """File name of the plate detector exported at ``input_size`` (the native 640 keeps its old name)."""
    if input_size == NATIVE_INPUT_SIZE:
        return PLATE_ONNX
    return PLATE_ONNX.replace(".onnx", f"_{input_size}.onnx")


def plate_model_path(export_if_missing: bool = False, input_size: int | None = None) -> Path:
    """Path of the plate detector ONNX at ``input_size`` px square; with ``export_if_missing`` build it.

    ``input_size`` ``None``: the default of ``plates.detector_input_size`` (``DEFAULT_PLATE_INPUT_SIZE``).
    The export reads the shared checkpoint (no download) and writes ``<cache>/<plate_onnx_name>``.
    Raises ``ModelError`` (naming the export command) when it is missing and not exported.
    """
    input_size = DEFAULT_PLATE_INPUT_SIZE if input_size is None else input_size
    checkpoint = find_source_checkpoint(PLATE_MODEL)
    if input_size == NATIVE_INPUT_SIZE:
        try:
            return resolve_model(PLATE_MODEL, download=False)
        except ModelError:
            if not export_if_missing or checkpoint is None:
                raise
    else:
        name = plate_onnx_name(input_size)
        for folder in model_dirs():
            for rel in (f"plate_detector/{name}", name):
                if (folder / rel).is_file():
                    return folder / rel
        if not export_if_missing or checkpoint is None:
            raise ModelError(
                f"plate detector at {input_size} px ({name}) not found in the model folders; "
                f"run: gatewatch models export {checkpoint or PLATE_MODEL + '.pt'} --imgsz {input_size} "
                f"--out {cache_dir() / name} (or set plates.export_if_missing: true)"
            )
    from gatewatch.models.export import export_checkpoint

    return export_checkpoint(checkpoint, out=cache_dir() / plate_onnx_name(input_size), imgsz=input_size).path


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

    def boxes(self, crop: np.ndarray, max_plates: int = 2) -> list[PlateBox]:
        """Up to ``max_plates`` plates in ``crop``, most confident first (NMS already applied)."""
        if crop.size == 0:
            return []
        detections = self.predict(crop)
        confidence = detections.confidence
        if len(detections) == 0 or confidence is None:
            return []
        order = np.argsort(-confidence)[:max_plates]
        return [PlateBox(detections.xyxy[i].astype(np.float32), float(confidence[i])) for i in order]

    def best(self, crop: np.ndarray) -> PlateBox | None:
        """The most confident plate in ``crop``, or ``None``."""
        found = self.boxes(crop, max_plates=1)
        return found[0] if found else None


def crop_box(image: np.ndarray, xyxy: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Crop ``image`` ``(H, W, C)`` to ``xyxy`` grown by ``margin`` (fraction of box size) per side."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    x1, y1 = max(0, int(round(x1 - mx))), max(0, int(round(y1 - my)))
    x2, y2 = min(w, int(round(x2 + mx))), min(h, int(round(y2 + my)))
    return image[y1:y2, x1:x2]
