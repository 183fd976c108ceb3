"""YOLO detector on ONNX Runtime: letterbox, decode, NMS, class filter.

NMS is class-agnostic by default (``detect.agnostic_nms``): one vehicle on the gate camera is one
box, even where the model scores it as both a truck and a bus; the box with the higher score stays.
The track's class is then settled by a vote over its life (``gatewatch.vision.class_vote``).

Returns ``supervision.Detections`` (the one currency between stages) with
``data["class_name"]`` filled from the model's own metadata.

Example::

    >>> detector = YoloDetector(OnnxModel(resolve_model("yolov8n")), classes=["car", "truck"])
    >>> detections = detector.predict(frame)      # frame: BGR uint8 (H, W, 3)
    >>> detections.xyxy.shape, detections.data["class_name"][:2]
    ((3, 4), array(['car', 'truck'], dtype='<U5'))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np
import supervision as sv

from gatewatch.errors import ConfigError, ModelError
from gatewatch.models.onnx import OnnxModel
from gatewatch.models.preprocess import letterbox


class Detector(Protocol):
    """Anything that turns a frame into detections."""

    def predict(self, frame: np.ndarray) -> sv.Detections: ...


def decode_yolo(
    output: np.ndarray,
    confidence: float,
    iou: float,
    class_ids: np.ndarray | None,
    max_detections: int = 300,
    agnostic: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode a YOLOv8/11 detect output ``(1, 4 + nc, N)`` into xyxy, scores, class ids.

    Boxes stay in letterboxed input coordinates. ``agnostic``: overlapping boxes suppress each
    other whatever their class (the higher score stays); otherwise per class (OpenCV's batched NMS,
    where a truck box and a bus box on the same vehicle both survive).
    """
    preds = output[0]
    scores_all = preds[4:]
    if class_ids is not None:
        scores_all = scores_all[class_ids]
    best = scores_all.argmax(axis=0)
    scores = scores_all[best, np.arange(scores_all.shape[1])]
    keep = scores >= confidence
    if not keep.any():
        return np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty(0, int)
    boxes_cxcywh = preds[:4, keep].T
    scores = scores[keep]
    classes = best[keep] if class_ids is None else class_ids[best[keep]]
    xywh = boxes_cxcywh.copy()
    xywh[:, :2] -= xywh[:, 2:] / 2
    if agnostic:
        kept = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), confidence, iou, top_k=max_detections)
    else:
        kept = cv2.dnn.NMSBoxesBatched(
            xywh.tolist(), scores.tolist(), classes.tolist(), confidence, iou, top_k=max_detections
        )
    idx = np.asarray(kept, dtype=int).reshape(-1)
    xyxy = xywh[idx].copy()
    xyxy[:, 2:] += xyxy[:, :2]
    return xyxy.astype(np.float32), scores[idx].astype(np.float32), classes[idx].astype(int)


class YoloDetector:
    """Ultralytics YOLO (v8/11 detect head) on an ``OnnxModel``.

    Args:
        model: the session; class names and input size come from its metadata.
        classes: class names to keep (``None`` keeps all).
        confidence: minimum score.
        iou: NMS IoU threshold.
        agnostic_nms: suppress overlapping boxes across classes (one box per vehicle).
    """

    def __init__(
        self,
        model: OnnxModel,
        classes: Sequence[str] | None = None,
        confidence: float = 0.25,
        iou: float = 0.5,
        agnostic_nms: bool = True,
    ) -> None:
        if not model.names:
            raise ModelError(f"{model.path}: no class names in the model metadata (not an Ultralytics export?)")
        if model.task != "detect":
            raise ModelError(f"{model.path}: task is '{model.task}', a detect model is needed")
        self.model = model
        self.names = model.names
        self.confidence = confidence
        self.iou = iou
        self.agnostic_nms = agnostic_nms
        self.class_ids: np.ndarray | None = None
        if classes is not None:
            by_name = {v: k for k, v in model.names.items()}
            unknown = [c for c in classes if c not in by_name]
            if unknown:
                raise ConfigError(f"classes {unknown} are not in the model ({model.path.name} knows {len(by_name)} classes)")
            self.class_ids = np.array(sorted(by_name[c] for c in classes), dtype=int)
        self._name_lookup = np.array([model.names.get(i, str(i)) for i in range(max(model.names) + 1)])

    def predict(self, frame: np.ndarray) -> sv.Detections:
        """Detect objects in a BGR frame ``(H, W, 3)``; boxes in frame pixels."""
        batch, scale, pad = letterbox(frame, self.model.imgsz)
        return self.decode(self.model.run(batch)[0], scale, pad, frame.shape[:2])

    def decode(self, output: np.ndarray, scale: float, pad: tuple[float, float], shape: tuple[int, ...]) -> sv.Detections:
        """One image's raw output ``(1, 4 + nc, N)`` -> detections in the pixels of a frame of ``shape`` (h, w)."""
        pad_x, pad_y = pad
        xyxy, scores, classes = decode_yolo(
            output, self.confidence, self.iou, self.class_ids, agnostic=self.agnostic_nms
        )
        if len(xyxy):
            xyxy -= np.array([pad_x, pad_y, pad_x, pad_y], dtype=np.float32)
            xyxy /= scale
            h, w = shape[:2]
            np.clip(xyxy, 0, [w, h, w, h], out=xyxy)
        return sv.Detections(
            xyxy=xyxy,
            confidence=scores,
            class_id=classes,
            data={"class_name": self._name_lookup[classes] if len(classes) else np.array([], dtype=str)},
        )


def predict_batch(jobs: Sequence[tuple[YoloDetector, np.ndarray]], max_batch: int = 8) -> list[sv.Detections]:
    """Detect on several frames whose detectors share one ``OnnxModel``; results in the order given.

    With a batch-dynamic model (``OnnxModel.batch_dynamic``) up to ``max_batch`` frames go through one
    inference call; with a fixed batch of 1 each frame is its own call on the same session. Each
    detector keeps its own classes, confidence and NMS settings for decoding.
    """
    if not jobs:
        return []
    model = jobs[0][0].model
    if any(detector.model is not model for detector, _ in jobs):
        raise ValueError("predict_batch: every detector must share one model session")
    if not model.batch_dynamic or len(jobs) == 1:
        return [detector.predict(image) for detector, image in jobs]
    step = max(1, max_batch)
    out: list[sv.Detections] = []
    for first in range(0, len(jobs), step):
        chunk = jobs[first:first + step]
        prepared = [letterbox(image, model.imgsz) for _, image in chunk]
        outputs = model.run(np.concatenate([batch for batch, _, _ in prepared]))[0]
        for k, ((detector, image), (_, scale, pad)) in enumerate(zip(chunk, prepared, strict=True)):
            out.append(detector.decode(outputs[k:k + 1], scale, pad, image.shape[:2]))
    return out
