"""Plate detector on openalpr photos, and the stage over a sequence of frames."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

from gatewatch.errors import ModelError
from gatewatch.events import PlateRead
from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates import PlateDetector, PlatesConfig, PlateStage, plate_model_path
from gatewatch.vision.sources import Frame
from gatewatch.vision.stages import PlateUpdate

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)

BR = "openalpr_benchmarks_endtoend/br"


@pytest.fixture(scope="module")
def detector() -> PlateDetector:
    try:
        path = plate_model_path(export_if_missing=True)  # built once into the cache if missing
    except ModelError as exc:
        pytest.skip(f"plate detector unavailable: {exc}")
    return PlateDetector(OnnxModel(path, providers="cpu", threads=1))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _photo(plates_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    txt = plates_dir / BR / f"{name}.txt"
    if not txt.is_file():
        pytest.skip(f"asset missing: {txt}")
    parts = txt.read_text().strip().split("\t")
    x, y, w, h = (int(v) for v in parts[1:5])
    return cv2.imread(str(txt.parent / parts[0])), np.array([x, y, x + w, y + h], np.float32)


# The first four Brazilian photos by name; ground truth boxes are tight on the characters, the
# detector's include the plate frame, so IoU 0.4 is asked.
@pytest.mark.parametrize("name", ["AYO9034", "AZJ6991", "FZB9581", "GWT2180"])
def test_detector_finds_plate(detector: PlateDetector, plates_dir: Path, name: str) -> None:
    image, truth = _photo(plates_dir, name)
    box = detector.best(image)
    assert box is not None
    assert _iou(box.xyxy, truth) >= 0.4


def _scene(plates_dir: Path, crop_rel: str = "vn_plate_crops_label_plate_number/images/11CarLongPlate587.jpg",
           ) -> tuple[np.ndarray, np.ndarray]:
    """A real car photo whose plate is replaced by a real plate crop (default: Vietnamese 51F-446.14)."""
    image, truth = _photo(plates_dir, "AYO9034")
    crop_path = plates_dir / crop_rel
    if not crop_path.is_file():
        pytest.skip(f"asset missing: {crop_path}")
    crop = cv2.imread(str(crop_path))
    x1, y1, x2, y2 = truth.astype(int)
    cx, cy, w = (x1 + x2) // 2, (y1 + y2) // 2, int((x2 - x1) * 1.3)
    h = int(w * crop.shape[0] / crop.shape[1])
    image = image.copy()
    image[cy - h // 2 : cy - h // 2 + h, cx - w // 2 : cx - w // 2 + w] = cv2.resize(crop, (w, h))
    car = np.array([cx - 3 * w, cy - 4 * h, cx + 3 * w, cy + 2 * h], np.float32)
    return image, np.clip(car, 0, [image.shape[1], image.shape[0]] * 2)


def _tracks(box: np.ndarray, track_id: int = 7, name: str = "car") -> sv.Detections:
    return sv.Detections(
        xyxy=box[None].astype(np.float32), confidence=np.array([0.9], np.float32), class_id=np.array([2]),
        tracker_id=np.array([track_id]), data={"class_name": np.array([name])},
    )


@pytest.fixture(scope="module")
def stage(detector: PlateDetector) -> PlateStage:
    return PlateStage(PlatesConfig(max_reads_per_track=3, settle_reads=2, min_frame_gap=1), detector=detector)


def _frame(image: np.ndarray, index: int) -> Frame:
    return Frame(image, index, index / 25.0, T0 + timedelta(seconds=index / 25.0))


def test_stage_reads_few_frames_and_votes(stage: PlateStage, plates_dir: Path) -> None:
    frame, car = _scene(plates_dir)
    updates: list[PlateUpdate] = []
    for index in range(20):
        shift = np.array([index, 0, index, 0], np.float32)
        moved = np.roll(frame, index, axis=1)
        updates += stage.update(_frame(moved, index), _tracks(car + shift))
    plate = stage.plate_for(7)
    # the stage reported each change of the plate, the last one being the voted plate
    assert updates and updates[-1] == PlateUpdate(7, plate)
    assert all(u.track_id == 7 for u in updates) and len(updates) <= 3
    assert isinstance(plate, PlateRead)
    assert (plate.text, plate.country) == ("51F44614", "VN")
    assert 2 <= plate.reads <= 3            # settled after a few reads, not one per frame
    assert stage.reads_total <= 3
    stats = stage.stats()
    assert stats["read"] == stage.reads_total and stats["fitting no format"] <= stats["read"]
    assert stats["vehicle crops searched"] >= stats["plates found"] >= stats["read"] + stats["too small"]
    assert stage.crop_for(7) is not None
    assert stage.forget(_frame(frame, 20), [7]) == []
    assert stage.plate_for(7) is None and stage.tracks == 0


def test_stage_ignores_other_classes_and_small_boxes(stage: PlateStage, plates_dir: Path) -> None:
    frame, car = _scene(plates_dir)
    before = stage.detections_total
    assert stage.update(_frame(frame, 0), _tracks(car, 8, "person")) == []
    assert stage.update(_frame(frame, 0), _tracks(np.array([0, 0, 20, 20], np.float32), 9)) == []
    assert stage.update(_frame(frame, 0), sv.Detections.empty()) == []
    assert stage.detections_total == before
    assert stage.plate_for(8) is None and stage.plate_for(9) is None


def test_stage_disabled_builds_nothing() -> None:
    stage = PlateStage(PlatesConfig(enabled=False))
    assert stage.update(_frame(np.zeros((10, 10, 3), np.uint8), 0), _tracks(np.array([0, 0, 5, 5], np.float32))) == []
    assert stage.plate_for(7) is None


def test_stage_applies_the_province_prior(detector: PlateDetector, plates_dir: Path) -> None:
    """A real Chinese crop in a real photo: a prior for its province keeps the text and raises the confidence."""
    frame, car = _scene(plates_dir, "cn_lprnet_test_crops/images/皖A0K782.jpg")
    plates = []
    for prior in ({}, {"皖": 0.9}):
        stage = PlateStage(PlatesConfig(max_reads_per_track=1, settle_reads=1, province_prior=prior), detector=detector)
        stage.update(_frame(frame, 0), _tracks(car))
        plates.append(stage.plate_for(7))
    plain, with_prior = plates
    assert plain is not None and with_prior is not None
    assert plain.text == with_prior.text == "皖A0K782" and with_prior.country == "CN"
    assert with_prior.confidence >= plain.confidence
