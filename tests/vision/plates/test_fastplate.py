"""The shared VN fast-plate-ocr model as a reader, alone and fused with PP-OCR, on real crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gatewatch.errors import ModelError
from gatewatch.vision.plates import AutoReaderConfig, PlatesConfig, build_reader, normalise
from gatewatch.vision.plates.config import FastPlateReaderConfig, FusedReaderConfig
from gatewatch.vision.plates.readers import READERS
from tests.vision.plates.helpers import plate_crop

VN = "vn_plate_crops_label_plate_number/images"
CN = "cn_lprnet_test_crops/images"
# (file, what the plate shows); each checked by eye on the image
ALONE = [
    (f"{VN}/10xemay1217.jpg", "59L214999", ("59L2", "14999")),   # two-line motorbike 59-L2 149.99
    (f"{VN}/3CarLongPlate226.jpg", "51F06532", ("51F06532",)),  # one-line car 51F-065.32
    (f"{VN}/11CarLongPlate587.jpg", "51F44614", ("51F44614",)),  # one-line car 51F-446.14
    (f"{VN}/ndata103.jpg", "30E27010", ("30E", "27010")),       # two-line square 30E 270.10
    (f"{VN}/12xemay1442.jpg", "55P10009", ("55P", "10009")),    # 55-P1 0009: 8 characters split as 30E 270.10
]
# PP-OCR (the auto reader) misses these; the slot model reads them and the fused read is right
FIXED = [
    (f"{VN}/1xemay907.jpg", "59L214999", ("59L2", "14999")),    # 59-L2 149.99: PP-OCR reads the L as 1 (59T2...)
    (f"{VN}/2xemay1933.jpg", "59M121704", ("59M1", "21704")),   # 59-M1 217.04: PP-OCR reads M7
    (f"{VN}/3xemay511.jpg", "47R14301", ("47R1", "4301")),      # 47-R1 4301: PP-OCR reads L7, fits nothing
    (f"{VN}/7xemay2291.jpg", "59F158405", ("59F1", "58405")),   # 59-F1 584.05: PP-OCR reads SB (58F...)
    (f"{VN}/9xemay1278.jpg", "79Z110184", ("79Z1", "10184")),   # 79-Z1 101.84: PP-OCR reads 71, fits nothing
    (f"{VN}/ndata583.jpg", "30P91519", ("30P9", "1519")),       # faded square 30-P9 1519: PP-OCR reads MDO
]
# both read these right: the fused read is the same
AGREE = [
    (f"{VN}/10xemay112.jpg", "54T15417", ("54T1", "5417")),
    (f"{VN}/13xemay920.jpg", "52F73840", ("52F7", "3840")),
    (f"{VN}/ndata1.jpg", "30E99037", ("30E99037",)),
]
# Chinese crops: the fused reader reads them as auto does (PP-OCR + LPRNet); the VN model alone cannot
CHINESE = [(f"{CN}/京PL3N67.jpg", "京PL3N67"), (f"{CN}/川X90621.jpg", "川X90621"), (f"{CN}/皖A0K782.jpg", "皖A0K782")]




def _build(config):
    try:
        return build_reader(config)
    except ModelError as exc:
        if "not found" in str(exc):
            pytest.skip(f"shared VN model missing: {exc}")
        raise


@pytest.fixture(scope="module")
def alone():
    return _build(FastPlateReaderConfig(threads=1))


@pytest.fixture(scope="module")
def fused():
    return _build(FusedReaderConfig(threads=1))


@pytest.fixture(scope="module")
def auto():
    return build_reader(AutoReaderConfig(threads=1))


@pytest.mark.parametrize(("rel", "text", "lines"), ALONE, ids=[c[1] for c in ALONE])
def test_fastplate_reads_real_crops(alone, plates_dir: Path, rel: str, text: str, lines: tuple[str, ...]) -> None:
    reading = alone.read(plate_crop(plates_dir, rel))
    assert reading is not None and reading.lines == lines
    assert normalise(reading.lines).text == text
    assert 0.9 <= reading.confidence <= 1.0 and len(reading.line_confidences) == len(lines)


def test_fastplate_batch_equals_one_by_one(alone, plates_dir: Path) -> None:
    crops = [plate_crop(plates_dir, rel) for rel, _, _ in ALONE] + [np.zeros((0, 0, 3), np.uint8)]
    assert alone.read_many(crops) == [alone.read(c) for c in crops]
    assert alone.read_many(crops)[-1] is None


@pytest.mark.parametrize(("rel", "text", "lines"), FIXED, ids=[c[1] for c in FIXED])
def test_fused_fixes_a_pp_ocr_miss(fused, auto, plates_dir: Path, rel: str, text: str, lines: tuple[str, ...]) -> None:
    crop = plate_crop(plates_dir, rel)
    pp = auto.read(crop)
    pp_plate = normalise(pp.lines) if pp else None
    assert pp_plate is None or pp_plate.text != text, "PP-OCR reads this crop now: pick another one for this test"
    reading = fused.read(crop)
    assert reading is not None and reading.lines == lines
    assert normalise(reading.lines).text == text


@pytest.mark.parametrize(("rel", "text", "lines"), AGREE, ids=[c[1] for c in AGREE])
def test_fused_keeps_what_both_read(fused, plates_dir: Path, rel: str, text: str, lines: tuple[str, ...]) -> None:
    reading = fused.read(plate_crop(plates_dir, rel))
    assert reading is not None and reading.lines == lines and normalise(reading.lines).text == text
    assert reading.confidence >= 0.95


@pytest.mark.parametrize(("rel", "text"), CHINESE, ids=[c[1] for c in CHINESE])
def test_fused_reads_chinese_as_auto(fused, auto, alone, plates_dir: Path, rel: str, text: str) -> None:
    crop = plate_crop(plates_dir, rel)
    reading = fused.read(crop)
    assert reading == auto.read(crop)
    assert normalise(reading.lines).text == text
    vn_only = alone.read(crop)
    assert vn_only is None or normalise(vn_only.lines) is None or normalise(vn_only.lines).text != text


@pytest.mark.parametrize(
    ("reader", "cls", "reader_type"),
    [({"type": "fastplate"}, FastPlateReaderConfig, "fastplate"), ({"type": "fused", "threads": 1}, FusedReaderConfig, "fused")],
)
def test_readers_chosen_by_camera_config(reader: dict, cls: type, reader_type: str) -> None:
    config = PlatesConfig.model_validate({"reader": reader}).reader
    assert type(config) is cls
    built = _build(config)
    assert READERS[reader_type] is type(built)


@pytest.mark.parametrize("bad", [{"type": "fastplate", "frame_inset": 0.5}, {"type": "fused", "bogus": 1}])
def test_bad_reader_config_fails(bad: dict) -> None:
    with pytest.raises(ValueError):
        PlatesConfig.model_validate({"reader": bad})


def test_missing_model_names_where_it_looked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gatewatch.vision.plates.fastplate import fastplate_model_path

    monkeypatch.setenv("GATEWATCH_ASSET_DIR", str(tmp_path / "assets"))
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GATEWATCH_MODEL_DIR", raising=False)
    with pytest.raises(ModelError, match="vietanhlee_trafic_monitoring_model_ocr.onnx not found"):
        fastplate_model_path()


def test_not_a_fastplate_model_is_refused(tmp_path: Path) -> None:
    from gatewatch.vision.plates.lprnet import lprnet_model_path

    try:
        lprnet = lprnet_model_path()
    except ModelError:
        pytest.skip("lprnet_cn.onnx not exported in the model folders")
    with pytest.raises(ModelError, match="is not a fast-plate-ocr"):
        build_reader(FastPlateReaderConfig(model_path=lprnet))
