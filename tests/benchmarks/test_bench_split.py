"""The plates benchmark's dev/test split: by plate text, stable, audited wrong labels left out."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_split_is_by_plate_text_and_stable(bench) -> None:
    texts = [f"59L2{n:05d}" for n in range(400)]
    halves = [bench.plate_split(t) for t in texts]
    assert set(halves) == {"dev", "test"}
    assert 150 < halves.count("dev") < 250
    assert [bench.plate_split(t) for t in texts] == halves  # a hash, not a random draw
    assert bench.plate_split("59L214999") == bench.plate_split("59L214999")


def test_audited_wrong_labels_are_left_out(bench) -> None:
    wrong = bench.audited_wrong_labels()
    assert len(wrong) == 95  # sampled audit: 33 label_wrong, 9 + 1 "Đ/D labelled 0", 17 both_wrong of 91 misses;
    # dev-half audit (vn_dev_label_audit.csv): 35 label_wrong
    assert "images/ndata644.jpg" in wrong          # dev half: 75-MĐ1 labelled 75-M01
    assert "images/13xemay405.jpg" in wrong       # label_wrong
    assert "images/1xemay617.jpg" not in wrong    # reader_wrong: the label is right


@pytest.mark.parametrize(
    ("label", "fits"),
    [("59L214999", True), ("51F06532", True), ("29MD105200", True), ("6117", False), ("47C1", False),
     ("5YL229477", False), ("皖A0K782", True), ("SOB422155", False)],
)
def test_label_fits_format(bench, label: str, fits: bool) -> None:
    assert bench.label_fits_format(label) is fits


def test_load_sets_split(bench, plates_dir: Path) -> None:
    if not (plates_dir / "vn_plate_crops_label_plate_number" / "gt_text.csv").is_file():
        pytest.skip("asset missing: vn_plate_crops_label_plate_number/gt_text.csv")
    every = bench.load_sets(plates_dir, 0, 0, "all")
    dev, test = bench.load_sets(plates_dir, 0, 0, "dev"), bench.load_sets(plates_dir, 0, 0, "test")
    wrong = {plates_dir / "vn_plate_crops_label_plate_number" / w for w in bench.audited_wrong_labels()}
    for name in bench.VN_SETS:
        dev_texts, test_texts = {s.text for s in dev[name]}, {s.text for s in test[name]}
        assert not dev_texts & test_texts, name  # no plate on both sides
        kept = {s.image for s in dev[name]} | {s.image for s in test[name]}
        assert kept == {s.image for s in every[name]} - wrong, name
    cn = "cn_crops (blue, 94x24)"  # Chinese crops: split by plate text too (no audit there)
    assert not {s.text for s in dev[cn]} & {s.text for s in test[cn]}
    assert sorted(map(str, [s.image for s in dev[cn]] + [s.image for s in test[cn]])) == sorted(str(s.image) for s in every[cn])
    assert len(dev[cn]) == 249 and len(test[cn]) == 232
    check = bench.load_sets(plates_dir, 0, 0, "devcheck")  # the dev quarter the own model was not trained on
    for name in (*bench.VN_SETS, cn):
        assert {s.image for s in check[name]} <= {s.image for s in dev[name]}, name
        assert 0 < len(check[name]) < len(dev[name]) / 2, name
