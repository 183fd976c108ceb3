"""gatewatch's own plate recogniser: CTC decode, a tiny training run with ONNX parity, the committed model on real crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gatewatch.vision.plates import build_reader, normalise
from gatewatch.vision.plates.own import OWN_CHARSET, OWN_ONNX, OWN_STEPS, OwnReaderConfig, ctc_greedy
from tests.vision.plates.helpers import plate_crop


def _logits(path: list[int]) -> np.ndarray:
    """Logits ``(1, T, C)`` whose argmax follows ``path`` (class per time step)."""
    logits = np.zeros((1, len(path), len(OWN_CHARSET) + 1), np.float32)
    for t, cls in enumerate(path):
        logits[0, t, cls] = 8.0
    return logits


def _fonts_or_skip() -> None:
    from gatewatch.vision.plates.synth import CJK_FONTS, LATIN_FONTS, font_path

    try:
        font_path(LATIN_FONTS), font_path(CJK_FONTS)
    except FileNotFoundError as exc:
        pytest.skip(f"plate fonts missing (Debian: fonts-dejavu-core, fonts-wqy-microhei): {exc}")


def test_ctc_greedy_collapses_repeats_and_keeps_a_repeat_split_by_a_blank() -> None:
    five, nine, gui = OWN_CHARSET.index("5") + 1, OWN_CHARSET.index("9") + 1, OWN_CHARSET.index("桂") + 1
    (text, probs), = ctc_greedy(_logits([0, gui, gui, 0, five, five, 0, five, nine, 0]))
    assert text == "桂559"
    assert probs.shape == (4,) and np.all(probs > 0.95)


def test_tiny_training_run_exports_onnx_with_parity_and_writes_a_card(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from gatewatch.vision.plates.train import TrainSettings, train

    _fonts_or_skip()
    settings = TrainSettings(out=str(tmp_path), seed=1, steps=3, batch=6, eval_every=3, val_lines=8, minutes=5)
    result = train(settings, progress=lambda _line: None)
    assert result.steps_done == 3
    assert Path(result.onnx).is_file()
    assert result.parity_same_decode and result.parity_max_rel < 1e-3
    card = (tmp_path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "--seed 1 --steps 3" in card and "No real crops." in card
    log = (tmp_path / "train_log.txt").read_text(encoding="utf-8")
    assert "onnx parity" in log

    reader = build_reader(OwnReaderConfig(model_path=Path(result.onnx), min_confidence=0.0))
    logits = reader.recognizer.model.session.run(None, {"lines": np.zeros((2, 1, 32, 128), np.float32)})[0]
    assert logits.shape == (2, OWN_STEPS, len(OWN_CHARSET) + 1)


def test_training_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from gatewatch.vision.plates.train import TrainSettings, train

    _fonts_or_skip()
    weights = []
    for run in ("a", "b"):
        settings = TrainSettings(out=str(tmp_path / run), seed=4, steps=2, batch=4, eval_every=2, val_lines=4, minutes=5)
        train(settings, progress=lambda _line: None)
        weights.append(torch.load(tmp_path / run / "gatewatch_plate_crnn.pt"))
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


VN = "vn_plate_crops_label_plate_number/images"
CN = "cn_lprnet_test_crops/images"
# (file, what the plate shows, lines the committed model reads); checked by eye on the image.
# "test": the plate is in the held-out half the model never saw; "dev": it was in the training data
# (splits.py: by plate text; the Chinese crops are split the same way since the second model).
COMMITTED_READS = [
    (f"{VN}/11CarLongPlate587.jpg", "51F44614", ("51F44614",)),   # test, one-line car 51F-446.14
    (f"{VN}/ndata103.jpg", "30E27010", ("30E", "27010")),         # test, two-line square 30E 270.10
    (f"{VN}/12xemay1442.jpg", "55P10009", ("55P1", "0009")),      # test, motorbike 55-P1 0009
    (f"{VN}/3xemay511.jpg", "47R14301", ("47R1", "4301")),        # test, motorbike 47-R1 4301 (PP-OCR reads L7)
    (f"{VN}/10xemay112.jpg", "54T15417", ("54T1", "5417")),       # test, motorbike 54-T1 5417
    (f"{VN}/13xemay920.jpg", "52F73840", ("52F7", "3840")),       # test, motorbike 52-F7 3840
    (f"{VN}/1xemay907.jpg", "59L214999", ("59L2", "14999")),      # dev, motorbike 59-L2 149.99 (PP-OCR reads 59T2)
    (f"{VN}/1xemay1840.jpg", "37M107918", ("37M1", "07918")),     # test, motorbike 37-M1 079.18 (PP-OCR reads N)
    (f"{VN}/8xemay899.jpg", "59M107790", ("59M1", "07790")),      # test, motorbike 59-M1 077.90 (PP-OCR reads N7)
    (f"{CN}/浙D9594H.jpg", "浙D9594H", ("浙D9594H",)),            # test, Chinese blue 94x24, label = file name
    (f"{CN}/川X90621.jpg", "川X90621", ("川X90621",)),            # test, Chinese blue, a rare province (川)
    (f"{CN}/浙C510W8.jpg", "浙C510W8", ("浙C510W8",)),            # test, Chinese blue
    (f"{CN}/皖A051N0.jpg", "皖A051N0", ("皖A051N0",)),            # test, Chinese blue, tilted
]

# the own model as a third opinion: fused misreads these held-out crops, fused_own reads them right
# (the own read sides with one of fused's two readers; third_opinion.py)
FUSED_OWN_FIXES = [
    (f"{VN}/1xemay1840.jpg", "37M107918"),   # fused 37N107918 (PP-OCR's N), own + slot model: M
    (f"{VN}/ndata556.jpg", "30F56605"),      # fused 35F56605, own + slot model: 30
    (f"{CN}/皖ATC890.jpg", "皖ATC890"),      # fused 豫ATC890 (LPRNet's province), own + RapidOCR: 皖
]


@pytest.fixture(scope="module")
def committed():
    if not OWN_ONNX.is_file():
        pytest.skip(f"committed model missing: {OWN_ONNX}")
    return build_reader(OwnReaderConfig(threads=1))


@pytest.mark.parametrize(("rel", "text", "lines"), COMMITTED_READS)
def test_committed_model_reads_real_crops(committed, plates_dir: Path, rel: str, text: str,
                                          lines: tuple[str, ...]) -> None:
    reading = committed.read(plate_crop(plates_dir, rel))
    assert reading is not None and reading.lines == lines
    fitted = normalise(reading.lines)
    assert fitted is not None and fitted.text == text


def test_own_reader_from_a_camera_config() -> None:
    """``plates.reader: {type: own}`` validates (no OpenCV needed to check it) and builds the own reader."""
    from gatewatch.vision.plates.config import PlatesConfig
    from gatewatch.vision.plates.own import OwnReader

    config = PlatesConfig.model_validate({"reader": {"type": "own", "min_confidence": 0.4}})
    reader = build_reader(config.reader)
    assert isinstance(reader, OwnReader) and reader.config.min_confidence == 0.4


@pytest.fixture(scope="module")
def fused_own():
    if not OWN_ONNX.is_file():
        pytest.skip(f"committed model missing: {OWN_ONNX}")
    from gatewatch.vision.plates.config import FusedOwnReaderConfig

    return build_reader(FusedOwnReaderConfig(threads=1))


@pytest.mark.parametrize(("rel", "text"), FUSED_OWN_FIXES)
def test_fused_own_fixes_a_fused_miss(fused_own, plates_dir: Path, rel: str, text: str) -> None:
    crop = plate_crop(plates_dir, rel)
    before = fused_own.fused.read(crop)
    fitted_before = normalise(before.lines) if before else None
    assert fitted_before is None or fitted_before.text != text  # fused alone misses it
    reading = fused_own.read(crop)
    fitted = normalise(reading.lines) if reading else None
    assert fitted is not None and fitted.text == text


def test_fused_own_from_a_camera_config() -> None:
    from gatewatch.vision.plates.config import FusedOwnReaderConfig, PlatesConfig

    config = PlatesConfig.model_validate({"reader": {"type": "fused_own", "threads": 1, "min_own_prob": 0.3}})
    assert isinstance(config.reader, FusedOwnReaderConfig) and config.reader.min_own_prob == 0.3


@pytest.mark.parametrize(("kind", "height"), [("cn_yellow2", 64), ("cn_green", 36)])
def test_committed_model_reads_synthetic_yellow_two_line_and_green_chinese_plates(committed, kind: str,
                                                                                   height: int) -> None:
    """SYNTHETIC plates (drawn by synth.py, not photos; no real yellow or green CN crop is shared): two-line
    yellow truck plates and 8-character green new-energy plates, drawn with a seed the training stream never
    uses, shrunk to a gate camera's size. Truth is what was drawn."""
    import random

    import cv2

    from gatewatch.vision.plates.synth import render_plate

    _fonts_or_skip()
    rng = random.Random(987_654)
    right = 0
    for _ in range(10):
        plate = render_plate(rng, kind)
        h, w = plate.image.shape[:2]
        crop = cv2.resize(plate.image, (round(w * height / h), height), interpolation=cv2.INTER_AREA)
        reading = committed.read(crop)
        right += reading is not None and reading.lines == plate.lines
    assert right >= 8, f"{kind}: {right} of 10 read exactly"
