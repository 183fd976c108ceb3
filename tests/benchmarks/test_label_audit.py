"""The label audit file: well formed, one row per audited image, labels copied unchanged."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / "benchmarks" / "ground_truth" / "vn_label_audit.csv"
VERDICTS = {"label_wrong", "reader_wrong", "both_wrong", "unclear"}


def _audit() -> list[dict[str, str]]:
    return list(csv.DictReader(AUDIT.read_text(encoding="utf-8").splitlines()))


def test_audit_rows_are_well_formed() -> None:
    rows = _audit()
    assert [r["image"] for r in rows] == list(dict.fromkeys(r["image"] for r in rows)), "an image audited twice"
    counts = {s: sum(r["subset"] == s for r in rows) for s in ("xemay", "ndata", "CarLongPlate")}
    assert counts == {"xemay": 40, "ndata": 40, "CarLongPlate": 11}
    for row in rows:
        assert row["verdict"].split(" ")[0] in VERDICTS, row
        assert row["plate_shows"], row


def test_audit_labels_are_the_shared_labels(plates_dir: Path) -> None:
    gt = plates_dir / "vn_plate_crops_label_plate_number" / "gt_text.csv"
    if not gt.is_file():
        pytest.skip(f"asset missing: {gt}")
    labels = {r["image"]: r for r in csv.DictReader(gt.read_text(encoding="utf-8").splitlines())}
    for row in _audit():
        assert labels[row["image"]]["text_by_lines"] == row["label_text_by_lines"], row["image"]
        assert labels[row["image"]]["subset"] == row["subset"], row["image"]


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [(0, 0, 0.0, 1.0), (21, 40, 0.37, 0.67), (40, 40, 0.91, 1.0), (0, 40, 0.0, 0.09)],
)
def test_wilson_interval(k: int, n: int, lo: float, hi: float) -> None:
    spec = importlib.util.spec_from_file_location("label_audit", ROOT / "benchmarks" / "label_audit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    low, high = module.wilson(k, n)
    assert low == pytest.approx(lo, abs=0.01) and high == pytest.approx(hi, abs=0.01)


def test_dev_audit_holds_only_dev_half_wrong_labels_copied_unchanged(plates_dir: Path) -> None:
    """``vn_dev_label_audit.csv``: dev-half crops only (never the held-out half), shared labels unchanged."""
    from gatewatch.vision.plates.splits import plate_split

    rows = list(csv.DictReader((AUDIT.with_name("vn_dev_label_audit.csv")).read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 35 and len({r["image"] for r in rows}) == 35
    assert not {r["image"] for r in rows} & {r["image"] for r in _audit()}  # not audited twice
    assert all(r["verdict"].split(" ")[0] == "label_wrong" and r["plate_shows"] for r in rows)
    gt = plates_dir / "vn_plate_crops_label_plate_number" / "gt_text.csv"
    if not gt.is_file():
        pytest.skip(f"asset missing: {gt}")
    labels = {r["image"]: r for r in csv.DictReader(gt.read_text(encoding="utf-8").splitlines())}
    for row in rows:
        shared = labels[row["image"]]
        assert shared["text_by_lines"] == row["label_text_by_lines"] and shared["subset"] == row["subset"], row
        assert plate_split(shared["text_alnum"]) == "dev", row["image"]
