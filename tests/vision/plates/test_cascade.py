"""The ``cascade`` reader: when the own read settles a crop and when it goes on to ``fused_own``; ``auto_own``."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from gatewatch.vision.plates import build_reader, normalise
from gatewatch.vision.plates.cascade import own_accepts
from gatewatch.vision.plates.config import (
    CASCADE_MIN_AGREED_PROB,
    CASCADE_MIN_CHAR_PROB,
    AutoOwnReaderConfig,
    CascadeReaderConfig,
    PlatesConfig,
)
from gatewatch.vision.plates.own import OWN_ONNX
from tests.vision.plates.helpers import plate_crop


def _lines(*lines: tuple[str, float]) -> list[tuple[str, np.ndarray]]:
    """Own-model lines, every character of a line with the same probability."""
    return [(text, np.full(len(text), p, np.float32)) for text, p in lines]


@pytest.mark.parametrize(
    ("own", "slot", "kept"),
    [
        # Vietnamese: fits, the slot model reads the same, no character below min_agreed_prob (0.5)
        (_lines(("59L2", 0.99), ("14999", 0.7)), "59L214999", "59L214999"),
        (_lines(("59L2", 0.99), ("14999", 0.4)), "59L214999", None),  # a character below min_agreed_prob
        (_lines(("59L2", 0.99), ("14999", 0.99)), "59T214999", None),  # the slot model reads another plate
        # no slot model (auto_own): the own probabilities alone, min_char_prob (0.9)
        (_lines(("59L2", 0.99), ("14999", 0.95)), None, "59L214999"),
        (_lines(("59L2", 0.99), ("14999", 0.7)), None, None),
        (_lines(("1F44614", 0.99)), "1F44614", None),  # fits no format (no province code 1)
        # Chinese: the slot model knows no province and is not asked; min_char_prob
        (_lines(("皖A0K782", 0.95)), "A0K782", "皖A0K782"),
        (_lines(("皖A0K782", 0.85)), "A0K782", None),
        (_lines(("皖A0K78", 0.99)), None, None),  # a character short
        # Chinese with lprnet_agrees: LPRNet must read the same text (test_own_accepts_with_lprnet)
        ([], None, None),
    ],
)
def test_own_accepts(own: list[tuple[str, np.ndarray]], slot: str | None, kept: str | None) -> None:
    assert own_accepts(own, CASCADE_MIN_CHAR_PROB, slot, CASCADE_MIN_AGREED_PROB) == kept


@pytest.mark.parametrize(
    ("own", "lprnet", "kept"),
    [
        (_lines(("皖A0K782", 0.6)), "皖A0K782", "皖A0K782"),  # LPRNet agrees: min_agreed_prob (0.5)
        (_lines(("皖A0K782", 0.99)), "皖AQK782", None),  # LPRNet reads a Q: escalate
        (_lines(("皖A0K782", 0.4)), "皖A0K782", None),
        (_lines(("59L2", 0.99), ("14999", 0.95)), "59L214999", "59L214999"),  # VN: LPRNet not asked
    ],
)
def test_own_accepts_with_lprnet(own: list[tuple[str, np.ndarray]], lprnet: str, kept: str | None) -> None:
    assert own_accepts(own, CASCADE_MIN_CHAR_PROB, None, CASCADE_MIN_AGREED_PROB, lprnet) == kept


def test_own_accepts_takes_the_least_sure_character() -> None:
    own = [("30E27010", np.array([0.99] * 7 + [0.5], np.float32))]
    assert own_accepts(own, 0.6) is None
    assert own_accepts(own, 0.5) == "30E27010"
    assert own_accepts(own, 0.9, "30E27010", 0.5) == "30E27010"


VN = "vn_plate_crops_label_plate_number/images"
CN = "cn_lprnet_test_crops/images"
# Dev-check crops (the quarter that chose min_char_prob; the own model never trained on them): whether the
# own read settles the crop, and the plate the cascade gives (the label, which the final read matches).
CASCADE_DECISIONS = [
    (f"{VN}/10xemay1217.jpg", True, "59L214999"),  # own 59L214999 (least sure 1.00), slot model the same
    (f"{VN}/5CarLongPlate999.jpg", True, "51G20536"),  # one-line car, own and slot model agree
    (f"{VN}/ndata133.jpg", True, "29E119298"),  # square two-line
    (f"{CN}/皖AB3U58.jpg", True, "皖AB3U58"),  # Chinese: own alone (least sure 0.97)
    (f"{VN}/2xemay2391.jpg", True, "55X17546"),  # own least sure 0.68, the slot model reads the same
    (f"{VN}/7xemay2040.jpg", False, "59V107473"),  # own 59V10773 (sure, a 4 dropped), slot model 59V107473
    (f"{VN}/3CarLongPlate720.jpg", False, "62A05195"),  # own right, slot model reads 22A: fused_own decides
    (f"{VN}/10xemay2271.jpg", False, "54K48147"),  # own 54K98147 with a 0.57 character
    (f"{CN}/皖ACC998.jpg", False, "皖ACC998"),  # own 皖ALC998 with a 0.55 character
    (f"{CN}/皖AKS111.jpg", False, "皖AKS111"),  # own right but its least sure character 0.88 (< 0.9)
    (f"{CN}/皖AT813C.jpg", False, "皖AT813C"),  # own 皖AT85C fits no format
]


@pytest.fixture(scope="module")
def cascade():
    if not OWN_ONNX.is_file():
        pytest.skip(f"committed model missing: {OWN_ONNX}")
    reader = build_reader(CascadeReaderConfig(threads=1))
    if reader.escalate_to != "fused_own":
        pytest.skip("fast-plate-ocr model (asset vn_plate_ocr/) missing: the cascade escalates to auto_own")
    return reader


@pytest.mark.parametrize(("rel", "accepted", "text"), CASCADE_DECISIONS)
def test_cascade_accepts_or_escalates_real_crops(
    cascade, plates_dir: Path, rel: str, accepted: bool, text: str
) -> None:
    crop = plate_crop(plates_dir, rel)
    before = cascade.accepted, cascade.escalated
    reading = cascade.read(crop)
    assert (cascade.accepted - before[0], cascade.escalated - before[1]) == ((1, 0) if accepted else (0, 1))
    fitted = normalise(reading.lines, alternatives=reading.alternatives) if reading else None
    assert fitted is not None and fitted.text == text


def test_cascade_with_lprnet_agreement_escalates_a_sure_chinese_misread(plates_dir: Path) -> None:
    """Dev-check crop 皖AQF320: the own model reads 皖A0F320 with every character >= 0.9 (kept by default);
    LPRNet reads otherwise, so with ``lprnet_agrees`` the crop goes to fused_own, which reads it right."""
    if not OWN_ONNX.is_file():
        pytest.skip(f"committed model missing: {OWN_ONNX}")
    crop = plate_crop(plates_dir, f"{CN}/皖AQF320.jpg")
    plain = build_reader(CascadeReaderConfig(threads=1))
    agreeing = build_reader(CascadeReaderConfig(threads=1, lprnet_agrees=True))
    if agreeing.escalate_to != "fused_own":
        pytest.skip("fast-plate-ocr model (asset vn_plate_ocr/) missing")
    assert plain.read(crop).lines == ("皖A0F320",) and plain.accepted == 1
    reading = agreeing.read(crop)
    assert agreeing.escalated == 1 and reading is not None and reading.lines == ("皖AQF320",)


@pytest.mark.parametrize(
    ("rel", "plate"),
    [
        # electric MĐ plates of the dev half (square, two-line), read 23M101392 / 23MB102502 before the
        # other-length read and the Đ rule (vision/plates/third_opinion.py); both crops are in the own
        # model's training quarter of the dev half
        (f"{VN}/ndata320.jpg", "23MD101392"),
        (f"{VN}/ndata357.jpg", "23MD102502"),
        # MĐ plates of the dev-check quarter (not trained on) that fused_own already read right: still right
        (f"{VN}/ndata196.jpg", "28MD104379"),
        (f"{VN}/ndata361.jpg", "23MD101473"),
    ],
)
def test_cascade_reads_md_series_plates(cascade, plates_dir: Path, rel: str, plate: str) -> None:
    reading = cascade.read(plate_crop(plates_dir, rel))
    fitted = normalise(reading.lines) if reading else None
    assert fitted is not None and fitted.text == plate


def test_cascade_reads_what_fused_own_reads_when_it_escalates(cascade, plates_dir: Path) -> None:
    """An escalated crop is read by fused_own with the own and slot reads passed in, not re-run: same plate."""
    crop = plate_crop(plates_dir, f"{VN}/7xemay2040.jpg")
    direct = cascade.escalation.read(crop)
    via = cascade.read(crop)
    assert direct is not None and via is not None and via.lines == direct.lines == ("59V1", "07473")


def test_cascade_falls_back_to_auto_own_without_the_fastplate_model(tmp_path: Path, caplog) -> None:
    if not OWN_ONNX.is_file():
        pytest.skip(f"committed model missing: {OWN_ONNX}")
    with caplog.at_level(logging.WARNING):
        reader = build_reader(CascadeReaderConfig(threads=1, fastplate_model_path=tmp_path / "missing.onnx"))
    assert reader.escalate_to == "auto_own" and reader.slots is None
    assert "escalating to auto_own" in caplog.text


def test_auto_own_reads_a_chinese_crop(plates_dir: Path) -> None:
    if not OWN_ONNX.is_file():
        pytest.skip(f"committed model missing: {OWN_ONNX}")
    reader = build_reader(AutoOwnReaderConfig(threads=1))
    crop = plate_crop(plates_dir, f"{CN}/皖ATC890.jpg")
    alone = reader.fused.read(crop)  # auto alone takes LPRNet's province 豫
    assert alone is not None and alone.lines == ("豫ATC890",)
    reading = reader.read(crop)
    fitted = normalise(reading.lines) if reading else None
    assert fitted is not None and fitted.text == "皖ATC890"  # own + RapidOCR: 皖


def test_cascade_config_from_a_camera_yaml() -> None:
    config = PlatesConfig.model_validate(
        {"reader": {"type": "cascade", "min_char_prob": 0.95, "escalate": "auto_own"}}
    )
    assert isinstance(config.reader, CascadeReaderConfig)
    assert config.reader.min_char_prob == 0.95 and config.reader.escalate == "auto_own"
    default = PlatesConfig.model_validate({"reader": {"type": "cascade"}}).reader
    assert isinstance(default, CascadeReaderConfig)
    assert default.min_char_prob == CASCADE_MIN_CHAR_PROB and default.escalate == "fused_own"
    assert isinstance(
        PlatesConfig.model_validate({"reader": {"type": "auto_own"}}).reader, AutoOwnReaderConfig
    )


@pytest.mark.parametrize(
    "reader",
    [
        {"type": "cascade", "min_char_prob": 1.5},
        {"type": "cascade", "min_char_prob": -0.1},
        {"type": "cascade", "escalate": "fastplate"},
        {"type": "cascade", "min_char_porb": 0.9},
        {"type": "cascade", "lprnet_agrees": "maybe"},
        {"type": "auto_own", "min_char_prob": 0.9},  # a cascade setting on another reader
    ],
)
def test_cascade_config_refuses_bad_settings(reader: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PlatesConfig.model_validate({"reader": reader})
