"""LPRNet (Chinese plates): ONNX export parity, real crops, CTC decode, the auto reader's fusion."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gatewatch.errors import ModelError
from gatewatch.vision.plates import (
    AutoReader,
    AutoReaderConfig,
    LprnetReader,
    LprnetReaderConfig,
    RapidOcrReader,
    RapidOcrReaderConfig,
    normalise,
)
from gatewatch.vision.plates.lprnet import (
    LPRNET_BLANK,
    LPRNET_CHARS,
    ctc_decode,
    lprnet_checkpoint,
    lprnet_model_path,
)
from gatewatch.vision.plates.readers import fuse_cn
from tests.vision.plates.helpers import plate_crop

CN = "cn_lprnet_test_crops/images"
VN = "vn_plate_crops_label_plate_number/images"
# Five CN crops LPRNet reads exactly; each label checked on the image (blue plates, 5 provinces).
LPRNET_CROPS = ["京PL3N67", "川X90621", "沪C21F13", "浙A6MX97", "皖A0K782"]
# Crops where neither reader alone is right and the fusion is: RapidOCR reads the province as a
# Latin letter ("EA3Y127", "EAP666P"), LPRNet drops a character ("皖A3127", "皖8666P").
FUSED_CROPS = ["皖A3Y127", "皖AP666P"]


@pytest.fixture(scope="module")
def lprnet_onnx() -> Path:
    if lprnet_checkpoint() is None:
        pytest.skip("LPRNet weights not found (weights/cn_plate_ocr_lprnet)")
    try:
        return lprnet_model_path(export_if_missing=True)
    except ModelError as exc:  # no torch and no exported file
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def lprnet(lprnet_onnx: Path) -> LprnetReader:
    return LprnetReader(LprnetReaderConfig(model_path=lprnet_onnx, threads=1))


@pytest.fixture(scope="module")
def auto(lprnet_onnx: Path) -> AutoReader:
    return AutoReader(AutoReaderConfig(lprnet_model_path=lprnet_onnx, threads=1))




def test_charset() -> None:
    assert len(LPRNET_CHARS) == 68 and len(set(LPRNET_CHARS)) == 68
    assert LPRNET_CHARS[LPRNET_BLANK] == "-" and LPRNET_CHARS[0] == "京" and LPRNET_CHARS[30] == "新"


def test_ctc_decode_drops_repeats_and_blanks() -> None:
    steps = [LPRNET_CHARS.index(c) for c in "皖皖-AA-0-0KK7-8-2"]
    logits = np.full((68, len(steps)), -5.0, np.float32)
    logits[steps, np.arange(len(steps))] = 5.0
    text, probs = ctc_decode(logits)
    assert text == "皖A00K782"
    assert probs.shape == (8,) and np.all(probs > 0.9)


@pytest.mark.parametrize("plate", LPRNET_CROPS)
def test_lprnet_reads_real_cn_crops(lprnet: LprnetReader, plates_dir: Path, plate: str) -> None:
    reading = lprnet.read(plate_crop(plates_dir, f"{CN}/{plate}.jpg"))
    assert reading is not None and reading.lines == (plate,)
    assert normalise(reading.lines).text == plate
    assert 0.5 <= reading.confidence <= 1.0


def test_lprnet_unusable_crop(lprnet: LprnetReader) -> None:
    assert lprnet.read(np.zeros((0, 0, 3), np.uint8)) is None


def test_export_parity(tmp_path: Path, lprnet_onnx: Path) -> None:
    pytest.importorskip("torch")
    from gatewatch.vision.plates.lprnet_export import export_lprnet

    result = export_lprnet(tmp_path / "lprnet.onnx")
    assert result.ok and result.error < 1e-4
    assert result.path.is_file() and not list(tmp_path.glob("*.tmp.onnx"))


def test_export_over_tolerance_leaves_nothing(tmp_path: Path, lprnet_onnx: Path) -> None:
    pytest.importorskip("torch")
    from gatewatch.vision.plates.lprnet_export import LPRNET_EXPORT_MEASURE, export_lprnet

    with pytest.raises(ModelError, match=rf"{re.escape(LPRNET_EXPORT_MEASURE)} [0-9.e-]+ is over the tolerance 1e-12"):
        export_lprnet(tmp_path / "lprnet.onnx", tolerance=1e-12)
    assert list(tmp_path.iterdir()) == []


def test_runtime_and_export_import_no_cycle() -> None:
    """The export shares the LPRNet spec with the runtime (:mod:`.lprnet_spec`), never the runtime itself."""
    import gatewatch.vision.plates as plates

    folder = Path(plates.__file__).parent
    for name, banned in (("lprnet_export.py", "lprnet"), ("lprnet_spec.py", "lprnet"), ("lprnet_spec.py", "lprnet_export")):
        for node in ast.walk(ast.parse((folder / name).read_text())):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                assert module != banned and not module.endswith(f"plates.{banned}"), f"{name}:{node.lineno}"


def test_missing_model_without_export_is_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWATCH_ASSET_DIR", str(tmp_path / "none"))
    monkeypatch.delenv("GATEWATCH_MODEL_DIR", raising=False)
    with pytest.raises(ModelError, match="lprnet_cn.onnx not found"):
        lprnet_model_path(export_if_missing=False)
    with pytest.raises(ModelError, match="not found in the model folders"):
        lprnet_model_path(export_if_missing=True)


def test_export_without_torch_is_a_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint = lprnet_checkpoint()
    if checkpoint is None:
        pytest.skip("LPRNet weights not found")
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWATCH_MODEL_DIR", str(checkpoint.parent.parent))
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(ModelError, match="needs torch"):
        lprnet_model_path(export_if_missing=True)


def test_runtime_does_not_import_torch() -> None:
    code = "import sys, gatewatch.vision.plates.readers; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("plate", LPRNET_CROPS + FUSED_CROPS)
def test_auto_reads_cn_crops(auto: AutoReader, plates_dir: Path, plate: str) -> None:
    reading = auto.read(plate_crop(plates_dir, f"{CN}/{plate}.jpg"))
    assert reading is not None
    fitted = normalise(reading.lines)
    assert fitted is not None and fitted.text == plate and fitted.country == "CN"


@pytest.mark.parametrize(
    "rel", [f"{VN}/3CarLongPlate226.jpg", f"{VN}/11CarLongPlate587.jpg", f"{VN}/10xemay1217.jpg", f"{VN}/ndata1.jpg"]
)
def test_auto_leaves_vn_reads_alone(auto: AutoReader, plates_dir: Path, rel: str) -> None:
    crop = plate_crop(plates_dir, rel)
    assert isinstance(auto.rapid, RapidOcrReader) and auto.rapid.config == RapidOcrReaderConfig(threads=1)
    before = auto.lprnet_reads
    assert auto.read(crop) == auto.rapid.read(crop)
    assert auto.lprnet_reads == before


def test_fuse_cn_rules() -> None:
    one = np.ones(8, np.float32)
    # RapidOCR lost the province (read as "E"), LPRNet has it: province from LPRNet, rest from RapidOCR.
    assert fuse_cn(("EA3Y127", one[:7]), ("皖A3127", one[:6]))[0] == "皖A3Y127"
    # Both read a province: the more confident one wins.
    rapid = ("粤B0GJ76", np.array([0.9, 1, 1, 1, 1, 1, 1], np.float32))
    lpr = ("鄂B0GJ76", np.array([0.7, 1, 1, 1, 1, 1, 1], np.float32))
    assert fuse_cn(rapid, lpr)[0] == "粤B0GJ76"
    # LPRNet inserted a character, RapidOCR read six: RapidOCR's letters and digits.
    assert fuse_cn(("皖A·5S939", one[:8]), ("皖A559397", one))[0] == "皖A5S939"
    # Nothing Chinese in either: None.
    assert fuse_cn(("51F06532", one), ("12", one[:2])) is None
