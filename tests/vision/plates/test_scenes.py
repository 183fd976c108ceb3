"""Plates in whole photos: the detector at its default input size, crop margin, deskew, two plates per vehicle.

Real photos and crops from the shared assets; the two-plate scene is a COMPOSITE (a real Vietnamese
plate crop pasted onto a real Brazilian car photo that keeps its own plate), marked as such below.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv
from pydantic import ValidationError

from gatewatch.errors import ModelError
from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates import PlateDetector, PlatesConfig, PlateStage, build_reader
from gatewatch.vision.plates.config import DEFAULT_PLATE_INPUT_SIZE
from gatewatch.vision.plates.crops import deskew, plate_crop, skew_angle, upscale
from gatewatch.vision.plates.detector import plate_model_path, plate_onnx_name
from gatewatch.vision.plates.formats import clean
from gatewatch.vision.plates.readers import AutoReaderConfig
from gatewatch.vision.sources import Frame
from tests.vision.plates.helpers import plate_crop as shared_image

OPENALPR = "openalpr_benchmarks_endtoend"
VN_CAR = "vn_plate_crops_label_plate_number/images/11CarLongPlate587.jpg"  # one-line 51F-446.14
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def detector() -> PlateDetector:
    """The plate detector at the default input size, exported once from the shared checkpoint if missing."""
    try:
        path = plate_model_path(export_if_missing=True, input_size=DEFAULT_PLATE_INPUT_SIZE)
    except ModelError as exc:
        pytest.skip(f"plate detector unavailable: {exc}")
    model = OnnxModel(path, providers="cpu", threads=1)
    assert model.imgsz == (DEFAULT_PLATE_INPUT_SIZE, DEFAULT_PLATE_INPUT_SIZE)
    return PlateDetector(model)


@pytest.fixture(scope="module")
def reader():
    return build_reader(AutoReaderConfig(threads=1))


def _photo(plates_dir: Path, country: str, name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """An openalpr photo, its labelled plate box ``xyxy`` and text."""
    txt = plates_dir / OPENALPR / country / f"{name}.txt"
    if not txt.is_file():
        pytest.skip(f"asset missing: {txt}")
    parts = txt.read_text().strip().split("\t")
    x, y, w, h = (int(v) for v in parts[1:5])
    return cv2.imread(str(txt.parent / parts[0])), np.array([x, y, x + w, y + h], np.float32), parts[5]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


# Photos the default-size detector finds (IoU >= 0.6 with the labelled box in a run on 2026-11-30; 0.5 is
# asked) and the auto reader reads exactly (raw text) with and without deskew; br is the choosing set.
FOUND_AND_READ = [
    ("br", "AYO9034"),
    ("br", "JGZ3298"),
    ("br", "NYZ0897"),
    ("us", "car13"),
    ("us", "car18"),
    ("us", "car3"),
]


@pytest.mark.parametrize(("country", "name"), FOUND_AND_READ)
def test_default_size_finds_and_reads_real_plates(
    detector: PlateDetector, reader, plates_dir: Path, country: str, name: str
) -> None:
    image, truth, text = _photo(plates_dir, country, name)
    box = detector.best(image)
    assert box is not None
    assert _iou(box.xyxy, truth) >= 0.5
    defaults = PlatesConfig()
    reading = reader.read(plate_crop(image, box.xyxy, defaults.plate_margin, defaults.deskew))
    assert reading is not None and clean(reading.text_raw) == text


def test_input_size_is_validated_and_names_its_export() -> None:
    assert PlatesConfig().detector_input_size == DEFAULT_PLATE_INPUT_SIZE
    assert PlatesConfig(detector_input_size=320).detector_input_size == 320
    for bad in (400, 96, 2048):
        with pytest.raises(ValidationError, match="detector_input_size"):
            PlatesConfig(detector_input_size=bad)
    assert plate_onnx_name(640) == "fastanpr_yolov8n_license_plate.onnx"  # the native export keeps its name
    assert plate_onnx_name(416) == "fastanpr_yolov8n_license_plate_416.onnx"


def test_crop_margin_grows_the_box_on_a_real_photo(plates_dir: Path) -> None:
    image, truth, _ = _photo(plates_dir, "br", "AYO9034")
    x1, y1, x2, y2 = truth
    w, h = float(x2 - x1), float(y2 - y1)
    assert plate_crop(image, truth, 0.0, False).shape[:2] == (round(h), round(w))
    grown = plate_crop(image, truth, 0.1, False)
    assert abs(grown.shape[1] - 1.2 * w) <= 2 and abs(grown.shape[0] - 1.2 * h) <= 2
    # the margin only adds pixels around the box: the box itself is unchanged in the middle
    my, mx = round(y1) - round(y1 - 0.1 * h), round(x1) - round(x1 - 0.1 * w)
    assert np.array_equal(grown[my : my + round(h), mx : mx + round(w)], plate_crop(image, truth, 0.0, False))
    # at the photo's edge the crop is clipped, never padded
    edge = np.array([0, 0, 40, 20], np.float32)
    assert plate_crop(image, edge, 0.5, False).shape[:2] == (30, 60)


def _padded(crop: np.ndarray, pad: float = 0.3) -> np.ndarray:
    """A real plate crop with a replicated border, so a rotation keeps every character in the frame."""
    py, px = int(crop.shape[0] * pad), int(crop.shape[1] * pad / 3)
    return cv2.copyMakeBorder(crop, py, py, px, px, cv2.BORDER_REPLICATE)


def _rotated(crop: np.ndarray, angle: float) -> np.ndarray:
    h, w = crop.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(crop, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def test_skew_of_a_real_tilted_plate_and_a_levelled_one_is_left_alone(plates_dir: Path) -> None:
    """The shared crop of 51F-446.14 rises to the right by about 3-4 degrees (seen by eye): rotating it
    clockwise (a negative angle) levels it, and a levelled crop is read as it is."""
    crop = _padded(shared_image(plates_dir, VN_CAR))
    assert -6.0 <= skew_angle(crop) <= -2.0
    levelled = deskew(crop)
    assert levelled is not crop and abs(skew_angle(levelled)) <= 1.0
    assert deskew(levelled) is levelled  # under 3 degrees a plate is read as it is


@pytest.mark.parametrize("tilt", [-10.0, 8.0, 12.0])
def test_deskew_levels_a_tilted_real_plate(plates_dir: Path, reader, tilt: float) -> None:
    """The real one-line plate turned ``tilt`` degrees more: the skew found undoes it and the read is exact."""
    crop = _padded(shared_image(plates_dir, VN_CAR))
    own = skew_angle(crop)
    tilted = _rotated(crop, tilt)
    assert abs(skew_angle(tilted) - (own - tilt)) <= 2.0
    reading = reader.read(deskew(tilted))
    assert reading is not None and clean(reading.text_raw) == "51F44614"


def test_small_plate_is_enlarged_to_the_configured_height(plates_dir: Path) -> None:
    """A real plate scaled down to 22 px high (a far plate) is enlarged to 32 px, aspect kept; larger ones are not."""
    crop = shared_image(plates_dir, VN_CAR)
    far = cv2.resize(crop, (104, 22), interpolation=cv2.INTER_AREA)
    enlarged = upscale(far, PlatesConfig().upscale_plate_to_px)
    assert enlarged.shape[:2] == (32, round(104 * 32 / 22))
    assert upscale(crop, 32) is crop and upscale(far, 0) is far
    box = np.array([0, 0, far.shape[1], far.shape[0]], np.float32)
    assert plate_crop(far, box, 0.0, False, 32).shape[:2] == (32, 151)


def _two_plate_car(plates_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """COMPOSITE: the real Brazilian photo AYO9034 (its plate kept) with a real Vietnamese plate crop pasted
    onto the body above it, as a vehicle carrying two plates. Returns image, BR box, VN box, vehicle box."""
    image, br_box, _ = _photo(plates_dir, "br", "AYO9034")
    vn = shared_image(plates_dir, VN_CAR)
    x1, y1, x2, y2 = br_box.astype(int)
    w = int((x2 - x1) * 1.3)
    h = int(w * vn.shape[0] / vn.shape[1])
    cx, top = (x1 + x2) // 2, y1 - 3 * h
    image = image.copy()
    image[top : top + h, cx - w // 2 : cx - w // 2 + w] = cv2.resize(vn, (w, h))
    vn_box = np.array([cx - w // 2, top, cx - w // 2 + w, top + h], np.float32)
    vehicle = np.array([0, 0, image.shape[1], image.shape[0]], np.float32)
    return image, br_box, vn_box, vehicle


def test_two_plates_in_one_vehicle_both_found_and_the_fitting_one_kept(
    detector: PlateDetector, plates_dir: Path
) -> None:
    image, br_box, vn_box, vehicle = _two_plate_car(plates_dir)
    boxes = detector.boxes(image, max_plates=2)
    assert len(boxes) == 2
    assert max(_iou(b.xyxy, vn_box) for b in boxes) >= 0.5
    assert max(_iou(b.xyxy, br_box) for b in boxes) >= 0.5
    assert len(detector.boxes(image, max_plates=1)) == 1

    stage = PlateStage(
        PlatesConfig(max_reads_per_track=1, settle_reads=1, max_plates_per_vehicle=2), detector=detector
    )
    tracks = sv.Detections(
        xyxy=vehicle[None],
        confidence=np.array([0.9], np.float32),
        class_id=np.array([2]),
        tracker_id=np.array([7]),
        data={"class_name": np.array(["car"])},
    )
    stage.update(Frame(image, 0, 0.0, T0), tracks)
    plate = stage.plate_for(7)
    # both plates were read; the Brazilian one fits no VN/CN format, the Vietnamese one is kept
    assert stage.reads_total == 2
    assert plate is not None and (plate.text, plate.country) == ("51F44614", "VN")
