"""Choose the ``cascade`` reader's acceptance threshold on the dev-check quarter (never on ``test``).

For every crop of ``--split`` (default ``devcheck``: the dev quarter the own model was not trained on) it
reads the own model, the fast-plate-ocr slot model and the ``fused_own`` reader once, then, for each
threshold, counts what the cascade would give: the own read when it fits a plate format as read and its
least sure character is at or above the threshold (and, in the second block, the slot model read the same
text on a Vietnamese crop: the threshold is then ``min_agreed_prob``), else ``fused_own``'s read. Prints exact % (labels that fit) and the share of
crops accepted at the first step, per set. Needs the fast-plate-ocr model (an asset).

Usage::

    python benchmarks/cascade_choice.py                       # devcheck, the split that chose the default
    python benchmarks/cascade_choice.py --split dev --sets vn  # more plates (the own model trained on 3/4 of them)
"""

from __future__ import annotations

import argparse
import sys

import cv2

from gatewatch.assets import asset_dir
from gatewatch.vision.plates import build_reader, normalise
from gatewatch.vision.plates.cascade import own_accepts
from gatewatch.vision.plates.config import FusedOwnReaderConfig
from gatewatch.vision.plates.own import plate_lines

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from plates import label_fits_format, load_sets  # noqa: E402

THRESHOLDS = (0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", default="devcheck", choices=("devcheck", "dev"))
    parser.add_argument("--sets", nargs="+", default=["vn", "cn"])
    parser.add_argument(
        "--verbose", action="store_true", help="print each accepted read that differs from its label"
    )
    args = parser.parse_args(argv)
    root = asset_dir()
    if root is None:
        print("no assets (set GATEWATCH_ASSET_DIR)", file=sys.stderr)
        return 2
    sets = {
        k: v
        for k, v in load_sets(root / "plates", 0, 0, args.split).items()
        if k.startswith(tuple(args.sets))
    }
    fused_own = build_reader(FusedOwnReaderConfig(threads=1))
    for name, samples in sets.items():
        rows = []
        for s in samples:
            if not label_fits_format(s.text):
                continue
            crop = cv2.imread(str(s.image))
            own = fused_own.own.recognise(plate_lines(crop))
            reading = fused_own.read(crop)
            fitted = normalise(reading.lines, alternatives=reading.alternatives) if reading else None
            slots = fused_own.fused.slots.recognise([crop])[0].text  # type: ignore[attr-defined]
            rows.append((own, fitted.text if fitted else "", s.text, slots))
        print(
            f"{name} ({args.split}, {len(rows)} labels that fit): fused_own "
            f"{100 * sum(f == t for _, f, t, _ in rows) / max(len(rows), 1):.1f} %"
        )
        for th, agree in [(th, False) for th in THRESHOLDS] + [(th, True) for th in THRESHOLDS]:
            right = accepted = accepted_wrong = 0
            for own, fused, truth, slots in rows:
                text = own_accepts(own, th, slots if agree else None, th)
                if args.verbose and text is not None and text != truth:
                    print(f"    accepted {text}, label {truth}")
                accepted += text is not None
                accepted_wrong += text is not None and text != truth
                right += (text if text is not None else fused) == truth
            print(
                f"  min char prob {th:.2f}{' + slot model agrees (VN)' if agree else ''}: exact {100 * right / max(len(rows), 1):5.1f} %, accepted "
                f"{100 * accepted / max(len(rows), 1):5.1f} % ({accepted_wrong} of them wrong)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
