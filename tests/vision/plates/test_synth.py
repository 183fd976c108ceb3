"""Synthetic plates for training gatewatch's own recogniser: layouts, labels, sizes, the dev/test split."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from gatewatch.vision.plates.formats import clean, normalise
from gatewatch.vision.plates.own import OWN_CHARSET, plate_lines
from gatewatch.vision.plates.synth import LAYOUTS, augment, render_plate
from gatewatch.vision.plates.train import plate_split

try:  # the generator draws with system fonts (Debian: fonts-dejavu-core or fonts-liberation, fonts-wqy-microhei)
    from gatewatch.vision.plates.synth import CJK_FONTS, LATIN_FONTS, font_path

    font_path(LATIN_FONTS), font_path(CJK_FONTS)
except FileNotFoundError as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"plate fonts missing: {exc}", allow_module_level=True)

# kind -> (lines, country the joined label must fit)
EXPECTED = {
    "vn_car": (1, "VN"), "vn_square": (2, "VN"), "vn_moto": (2, "VN"), "cn_blue": (1, "CN"), "cn_yellow": (1, "CN"),
    "cn_green": (1, "CN"), "cn_yellow2": (2, "CN"), "cn_police": (1, "CN"), "cn_ccpd": (1, "CN"),
}


def test_layout_table_covers_every_kind() -> None:
    assert set(LAYOUTS) == set(EXPECTED) | {"vn_square_md"}  # the electric MĐ frame of the square set
    for kind, (width, height, boxes) in LAYOUTS.items():
        assert len(boxes) == EXPECTED[kind.removesuffix("_md")][0], kind
        for x0, y0, x1, y1 in boxes:
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, kind


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_rendered_plates_have_their_layout_and_a_label_that_fits_the_format(kind: str) -> None:
    rng = random.Random(3)
    for _ in range(12):
        plate = render_plate(rng, kind)
        width, height, _ = LAYOUTS["vn_square_md" if "MĐ" in plate.printed[0] and kind == "vn_square" else kind]
        assert plate.image.shape == (height, width, 3) and plate.image.dtype == np.uint8
        assert len(plate.lines) == len(plate.printed) == EXPECTED[kind][0]
        assert plate.lines == tuple(clean(p.replace("Đ", "D")) for p in plate.printed)
        assert all(c in OWN_CHARSET for line in plate.lines for c in line)
        fitted = normalise(list(plate.lines), max_substitutions=0)
        assert fitted is not None and fitted.country == EXPECTED[kind][1], plate.printed
        assert fitted.text == "".join(plate.lines)


def test_square_plates_draw_the_electric_md_layout_and_never_a_three_character_series() -> None:
    rng = random.Random(19)
    printed = [render_plate(rng, "vn_square").printed for _ in range(400)]
    electric = [p for p in printed if "MĐ" in p[0]]
    assert 0.08 <= len(electric) / len(printed) <= 0.25  # VN_SQUARE_MD_SHARE (15 %)
    for top, bottom in electric:  # 23-MĐ1 / 023.61, as the dev crops show them
        assert re.fullmatch(r"\d\d-MĐ[1-9]", top) and re.fullmatch(r"\d{3}\.\d\d", bottom), (top, bottom)
        assert len(clean((top + bottom).replace("Đ", "D"))) == 10
    for top, _ in printed:  # no "27-U07" (a misread MĐ1 some labels carry): a series is a letter and one character
        assert not re.fullmatch(r"\d\d-[A-Z]0\d", top), top
    drawn = [render_plate(rng, "vn_square") for _ in range(40)]
    width, height, _ = LAYOUTS["vn_square_md"]
    assert all(p.image.shape[:2] == (height, width) for p in drawn if "MĐ" in p.printed[0])  # the narrower frame
    assert any("MĐ" in p.printed[0] for p in drawn)


def test_vn_motorbike_plates_are_printed_as_on_the_road() -> None:
    rng = random.Random(5)
    printed = [render_plate(rng, "vn_moto").printed for _ in range(40)]
    for top, bottom in printed:
        assert top[2] == "-" and top[:2].isdigit(), top  # 59-L2
        assert bottom.replace(".", "").isdigit() and len(bottom.replace(".", "")) in (4, 5), bottom


def test_augmented_plates_reach_gate_camera_sizes_and_split_like_the_reader_splits_them() -> None:
    rng = random.Random(7)
    heights = []
    agree = 0
    for _ in range(60):
        plate = render_plate(rng, "vn_moto")
        image = augment(plate.image, rng, plate.kind, small=0.5)
        assert image.ndim == 3 and image.dtype == np.uint8
        heights.append(image.shape[0])
        agree += len(plate_lines(image)) == 2
    assert min(heights) <= 40  # far motorbike plates: a few tens of pixels high
    assert max(heights) >= 60
    assert agree >= 50  # the reader's line split cuts nearly all of them in two


def test_rendering_is_deterministic_for_a_seed() -> None:
    a = augment(render_plate(random.Random(11)).image, random.Random(12))
    b = augment(render_plate(random.Random(11)).image, random.Random(12))
    assert np.array_equal(a, b)


def test_training_split_is_the_benchmarks_split() -> None:
    from benchmarks.plates import plate_split as benchmark_split

    for text in ("59L214999", "51F06532", "30E27010", "54T15417", "29MD105200", "72S14860"):
        assert plate_split(text) == benchmark_split(text)


def test_ccpd_plates_are_cut_like_the_shared_94x24_crops_mostly_anhui() -> None:
    rng = random.Random(13)
    provinces = []
    for _ in range(60):
        plate = render_plate(rng, "cn_ccpd")
        image = augment(plate.image, rng, plate.kind)
        assert image.shape == (24, 94, 3) and image.dtype == np.uint8
        assert len(plate_lines(image)) == 1
        assert len(plate.lines[0]) == 7
        provinces.append(plate.lines[0][0])
    assert 0.6 <= provinces.count("皖") / len(provinces) <= 0.9  # CCPD's make-up (CCPD_PROVINCES), not uniform


def test_green_plates_have_eight_characters_and_square_plates_weigh_most() -> None:
    from gatewatch.vision.plates.synth import KIND_WEIGHTS

    rng = random.Random(17)
    for _ in range(20):
        plate = render_plate(rng, "cn_green")
        assert len(plate.lines[0]) == 8 and plate.lines[0][2] in "DF" or plate.lines[0][-1] in "DF"
    assert set(KIND_WEIGHTS) == set(EXPECTED) and abs(sum(KIND_WEIGHTS.values()) - 1) < 1e-9
    assert KIND_WEIGHTS["vn_square"] == max(KIND_WEIGHTS.values())


def test_chinese_crops_are_split_by_plate_and_the_dev_check_quarter_is_never_trained_on(plates_dir) -> None:
    from gatewatch.vision.plates.splits import dev_check, in_split
    from gatewatch.vision.plates.train import real_cn_dev_plates

    root = plates_dir / "cn_lprnet_test_crops"
    if not (root / "gt_text.csv").is_file():
        pytest.skip(f"asset missing: {root}")
    trained = real_cn_dev_plates(root)
    held_back = real_cn_dev_plates(root, check=True)
    assert trained and held_back
    for plate in trained:
        assert in_split(plate.lines[0], "devtrain") and not in_split(plate.lines[0], "test")
    assert all(in_split(p.lines[0], "devcheck") and dev_check(p.lines[0]) for p in held_back)
    assert plate.crop.shape == (24, 94, 3) and plate.kind == "cn_ccpd"
    assert {p.image for p in trained}.isdisjoint(p.image for p in held_back)
