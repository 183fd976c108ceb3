"""The by-eye audit of the held-out square plates: well formed, every crop of the set, plates that fit a format."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gatewatch.vision.plates import build_reader, normalise
from gatewatch.vision.plates.formats import clean
from gatewatch.vision.plates.readers import AutoReaderConfig

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / "benchmarks" / "ground_truth" / "vn_square_test_audit.csv"
VERDICTS = {"label_ok", "label_wrong", "unclear"}


def _audit() -> list[dict[str, str]]:
    return list(csv.DictReader(AUDIT.read_text(encoding="utf-8").splitlines()))


def _plate_key(plate_shows: str) -> str:
    return clean(plate_shows.replace("Đ", "D"))


def test_audit_rows_are_well_formed() -> None:
    rows = _audit()
    assert list(rows[0]) == ["image", "label", "plate_shows", "verdict", "auditor", "note"]
    assert len({r["image"] for r in rows}) == len(rows) == 103, "an image audited twice or missing"
    for row in rows:
        assert row["verdict"] in VERDICTS, row
        assert row["auditor"] == "H7 by eye 2026-11-30", row
        assert (row["plate_shows"] == "unclear") == (row["verdict"] == "unclear"), row
        if row["verdict"] == "unclear":
            assert row["note"], f"{row['image']}: an unclear plate says why"
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    assert counts == {"label_ok": 89, "label_wrong": 9, "unclear": 5}


def test_every_plate_read_by_eye_fits_a_vn_format() -> None:
    for row in _audit():
        if row["verdict"] == "unclear":
            continue
        key = _plate_key(row["plate_shows"])
        fitted = normalise([key], max_substitutions=0)
        assert fitted is not None and fitted.country == "VN" and fitted.text == key, row


def test_audit_covers_exactly_the_held_out_square_set(bench, plates_dir: Path) -> None:
    gt = plates_dir / "vn_plate_crops_label_plate_number" / "gt_text.csv"
    if not gt.is_file():
        pytest.skip(f"asset missing: {gt}")
    samples = bench.load_sets(plates_dir, 0, 0, "test")[bench.SQUARE_SET]
    rows = {r["image"]: r for r in _audit()}
    assert {f"images/{s.image.name}" for s in samples} == set(rows)
    labels = {r["image"]: r for r in csv.DictReader(gt.read_text(encoding="utf-8").splitlines())}
    for image, row in rows.items():
        assert labels[image]["subset"] == "ndata", image
        # the verdict compares the plate with the label key the benchmark scores (text_alnum)
        if row["verdict"] != "unclear":
            agrees = _plate_key(row["plate_shows"]) == labels[image]["text_alnum"]
            assert agrees == (row["verdict"] == "label_ok"), row
        assert labels[image]["text_by_lines"] == row["label"], (
            f"{image}: the shared label is copied unchanged"
        )


def test_audited_truth_keys(bench) -> None:
    truth = bench.audited_square_truth()
    assert truth["images/ndata13.jpg"] is None  # unclear: cut off
    assert truth["images/ndata435.jpg"] == "29MD103024"  # 29-MĐ1 030.24, labelled 29-M01
    assert truth["images/ndata198.jpg"] == "29Y46686"  # labelled 29-Y4 9899


def test_run_audited_scores_the_real_reader(bench, plates_dir: Path) -> None:
    vn = plates_dir / "vn_plate_crops_label_plate_number"
    images = ["images/ndata13.jpg", "images/ndata435.jpg", "images/ndata8.jpg"]  # unclear, MĐ, one-line
    if not all((vn / i).is_file() for i in images):
        pytest.skip(f"asset missing: {vn}/images")
    labels = {
        r["image"]: r["text_alnum"]
        for r in csv.DictReader((vn / "gt_text.csv").read_text(encoding="utf-8").splitlines())
    }
    samples = [bench.Sample(vn / i, labels[i]) for i in images]
    score = bench.run_audited(
        build_reader(AutoReaderConfig(threads=1)), samples, bench.audited_square_truth()
    )
    assert (score.n, score.unclear, score.audited_n) == (3, 1, 2)
    # only "30F-626.85" fits a format as labelled; "O-N3 637" and "29-M01 030.24" do not
    assert score.label_fit == 1
    assert 0 <= score.audited_hit <= 2 and 0 <= score.label_hit <= 1
    assert len(score.misses) == 2 - score.audited_hit
    assert all(image in images and plate for image, plate, _ in score.misses)
