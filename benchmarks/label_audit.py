"""How much of the Vietnamese plate "misses" is label noise: an estimate from an audited sample.

The Vietnamese crops' labels were made with OCR help (MANIFEST: about 1 in 8 is wrong), so the
exact-match figure of ``benchmarks/plates.py`` is a lower bound. ``ground_truth/vn_label_audit.csv``
holds a seeded random sample of 40 misses per two-line subset (seed 0) and all 11 misses of the
one-line car set, made with the default reader on 2026-11-24, each looked at by eye: what the plate shows and a verdict,

* ``label_wrong``: the label is wrong and the reader's read is what the plate shows
  (``(Đ labelled 0)``: the ``MĐ`` series written ``M0`` in the label, read ``MD``);
* ``reader_wrong``: the label is right, the read is not;
* ``both_wrong``: neither matches the plate; ``unclear``: the plate cannot be read by eye
  (cut off, scratched, only part of a plate).

This script re-runs the reader on the whole subset, checks that each audited image is still a
miss with the same read (an audit row whose read changed is stale and left out), and estimates
the exact match against what the plates show: ``(hits + misses * share_label_wrong) / n``, with
the share's 95% Wilson interval. The labels themselves are never changed.

Usage::

    python benchmarks/label_audit.py --out benchmarks/results/plates_audit.md
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import cv2

from gatewatch.assets import asset_dir
from gatewatch.vision.plates import build_reader, normalise
from gatewatch.vision.plates.readers import AutoReaderConfig

HERE = Path(__file__).resolve().parent
AUDIT = HERE / "ground_truth" / "vn_label_audit.csv"
SUBSETS = {"xemay": "vn_xemay (2-line moto)", "ndata": "vn_ndata (square)", "CarLongPlate": "vn_carlong (1-line car)"}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion ``k / n``."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    args = parser.parse_args(argv)
    root = asset_dir()
    vn = root / "plates" / "vn_plate_crops_label_plate_number" if root else None
    if vn is None or not (vn / "gt_text.csv").is_file():
        print("no Vietnamese plate crops found (set GATEWATCH_ASSET_DIR)", file=sys.stderr)
        return 2
    audit = list(csv.DictReader(AUDIT.read_text(encoding="utf-8").splitlines()))
    labels = list(csv.DictReader((vn / "gt_text.csv").read_text(encoding="utf-8").splitlines()))
    reader = build_reader(AutoReaderConfig(threads=1))

    reads: dict[str, str] = {}
    hits: dict[str, int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    for row in labels:
        if row["subset"] not in SUBSETS:
            continue
        reading = reader.read(cv2.imread(str(vn / row["image"])))
        fitted = normalise(reading.lines) if reading else None
        reads[row["image"]] = fitted.display if fitted else (reading.text_raw if reading else "")
        totals[row["subset"]] += 1
        hits[row["subset"]] += fitted is not None and fitted.text == row["text_alnum"]

    lines = ["| set | n | exact % (labels as given) | misses | audited misses (stale) | label wrong, read right "
             "| reader wrong | both wrong | unclear | est. exact % vs the plates (95% range) "
             "| est. wrong labels (best score a perfect reader could get) |", "|" + "---|" * 11]
    for subset, name in SUBSETS.items():
        rows = [r for r in audit if r["subset"] == subset]
        fresh = [r for r in rows if reads.get(r["image"]) == r["reader_read"]]
        verdicts = defaultdict(int)
        for r in fresh:
            verdicts[r["verdict"].split(" ")[0]] += 1
        n, hit = totals[subset], hits[subset]
        miss = n - hit
        share = verdicts["label_wrong"] / len(fresh) if fresh else 0.0
        # every miss audited: nothing is estimated; else the share's 95% Wilson interval
        lo, hi = (share, share) if len(fresh) == miss else wilson(verdicts["label_wrong"], len(fresh))
        est = 100 * (hit + miss * share) / n
        est_lo, est_hi = 100 * (hit + miss * lo) / n, 100 * (hit + miss * hi) / n
        wrong_labels = miss * (verdicts["label_wrong"] + verdicts["both_wrong"]) / len(fresh) if fresh else 0.0
        row = (f"| {name} | {n} | {100 * hit / n:.1f} | {miss} | {len(fresh)} ({len(rows) - len(fresh)}) "
               f"| {verdicts['label_wrong']} | {verdicts['reader_wrong']} | {verdicts['both_wrong']} "
               f"| {verdicts['unclear']} | {est:.1f} ({est_lo:.1f}–{est_hi:.1f}) "
               f"| {wrong_labels:.0f} of {n} ({100 * (n - wrong_labels) / n:.1f} %) |")
        lines.append(row)
        print(row, flush=True)
    text = "\n".join([
        "# Vietnamese plates: label audit", "",
        f"Made {date.today().isoformat()} with `python benchmarks/label_audit.py` (default `auto` reader, "
        "INT8 recogniser, one thread).", "",
        *lines, "",
        "The audit (`benchmarks/ground_truth/vn_label_audit.csv`) is a seeded random sample of 40 misses per "
        "two-line subset and every miss of the one-line set, each plate looked at by eye (assistant, 2026-11-24); the labels in the shared assets are not "
        "changed and every other figure is scored against them. The estimate assumes the audited misses "
        "stand for all misses of their subset; a stale row (the reader's read changed since the audit) is "
        "left out. Wrong labels = misses x (label wrong + both wrong) / audited: a reader that reads every plate "
        "right still scores at most the figure in brackets against these labels. Eight `ndata` images are whole photos (over 1,000 px high), not plate crops: the reader misses them.",
        "",
    ])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
