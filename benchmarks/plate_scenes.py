"""Plates in whole photos: plate detector input size, crop margin, deskew; recall, reads, speed.

Sets:

- ``openalpr_br`` (115 Brazilian car photos): the CHOOSING set. The default input size
  (``plates.detector_input_size``), crop margin and the deskew switch were chosen on it.
- ``openalpr_us`` (222 US car photos): the REPORTING set; it took no part in any choice.
- ``vn_scenes``: the 1536x2048 rear-of-motorbike photos among the shared VN crops whose plate could be
  read by eye with certainty (``ground_truth/vn_scenes.csv``, 6 photos; the plate is 14-43 % of the
  photo, so these are close-ups, not gate-camera scenes). Reported only.

Per set and setting: detector recall (openalpr: best box IoU >= 0.5 with the labelled box; VN: the
best box covers >= 90 % of the union of the labelled character boxes), recall on small plates
(labelled box narrower than ``SMALL_PLATE_PX`` in the photo), exact reads (openalpr: the reader's raw
text, no format; VN: fitted to a VN format) and mean plate-detector ms per photo on one thread
(letterbox + ONNX Runtime + NMS; the sizes take turns photo by photo, so load changes hit them alike). Reader: ``auto`` on one thread, INT8, as in the stage.

Usage::

    python benchmarks/plate_scenes.py --out benchmarks/results/plate_scenes.md   # everything (~3 min idle)
    python benchmarks/plate_scenes.py --quick                                    # 320/416/640, 30 photos a set
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import cv2
import numpy as np

from gatewatch.assets import asset_dir
from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates import PlateDetector, build_reader, normalise
from gatewatch.vision.plates.config import DEFAULT_PLATE_INPUT_SIZE, PlatesConfig
from gatewatch.vision.plates.crops import MIN_SKEW_DEG, plate_crop, skew_angle
from gatewatch.vision.plates.detector import plate_model_path
from gatewatch.vision.plates.formats import clean
from gatewatch.vision.plates.readers import AutoReaderConfig

HERE = Path(__file__).resolve().parent
VN_SCENES = HERE / "ground_truth" / "vn_scenes.csv"
SMALL_PLATE_PX = 80
SIZES = (320, 384, 416, 480, 512, 640)
MARGINS = (0.0, 0.04, 0.08, 0.12, 0.2)
UPSCALE = (0, 32, 48, 64)
SHRUNK_PLATE_PX = 50


@dataclass(frozen=True)
class Photo:
    """One photo with one plate: path, text, labelled plate box ``xyxy`` (openalpr) or character box union (VN)."""

    image: Path
    text: str
    box: np.ndarray
    vn: bool = False


def load_openalpr(root: Path, country: str) -> list[Photo]:
    """The openalpr end-to-end photos of ``country`` with their labelled plate box and text."""
    photos = []
    for txt in sorted((root / "openalpr_benchmarks_endtoend" / country).glob("*.txt")):
        parts = txt.read_text().strip().split("\t")
        if len(parts) >= 6:
            x, y, w, h = (float(v) for v in parts[1:5])
            photos.append(Photo(txt.parent / parts[0], parts[5], np.array([x, y, x + w, y + h], np.float32)))
    return photos


def load_vn_scenes(root: Path, truth: Path = VN_SCENES) -> list[Photo]:
    """The VN rear-of-motorbike photos read by eye with certainty; box = union of the shared character boxes."""
    folder = root / "vn_plate_crops_label_plate_number"
    photos = []
    for row in csv.DictReader(truth.read_text(encoding="utf-8").splitlines()):
        if row["certain"] != "yes":
            continue
        image = folder / row["image"]
        labels = folder / "labels" / (Path(row["image"]).stem + ".txt")
        if not image.is_file() or not labels.is_file():
            continue
        height, width = cv2.imread(str(image)).shape[:2]
        b = np.loadtxt(labels, ndmin=2)
        union = [
            (b[:, 1] - b[:, 3] / 2).min() * width,
            (b[:, 2] - b[:, 4] / 2).min() * height,
            (b[:, 1] + b[:, 3] / 2).max() * width,
            (b[:, 2] + b[:, 4] / 2).max() * height,
        ]
        photos.append(Photo(image, row["plate"], np.array(union, np.float32), vn=True))
    return photos


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two ``xyxy`` boxes."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def covers(box: np.ndarray, inner: np.ndarray) -> float:
    """Share of ``inner``'s area that ``box`` covers."""
    inter = max(0.0, min(box[2], inner[2]) - max(box[0], inner[0])) * max(
        0.0, min(box[3], inner[3]) - max(box[1], inner[1])
    )
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return float(inter / area) if area > 0 else 0.0


def found(photo: Photo, xyxy: np.ndarray) -> bool:
    """Whether a detected box is the labelled plate (IoU >= 0.5; VN: covers >= 90 % of the characters)."""
    return covers(xyxy, photo.box) >= 0.9 if photo.vn else iou(xyxy, photo.box) >= 0.5


def detect_all(
    detectors: dict[int, PlateDetector], images: list[np.ndarray]
) -> dict[int, tuple[list[np.ndarray | None], list[float]]]:
    """The best plate box per image and the ms each took, per input size.

    The sizes take turns on each image, so a change of load on a shared machine slows every size alike.
    """
    out: dict[int, tuple[list[np.ndarray | None], list[float]]] = {size: ([], []) for size in detectors}
    for detector in detectors.values():
        detector.best(images[0])  # warm-up, not timed
    for image in images:
        for size, detector in detectors.items():
            start = time.perf_counter()
            box = detector.best(image)
            out[size][1].append(1000 * (time.perf_counter() - start))
            out[size][0].append(None if box is None else box.xyxy)
    return out


def small_plate_sets(
    sets: dict[str, list[Photo]], images: dict[str, list[np.ndarray]], detector: PlateDetector
) -> dict[str, tuple[list[Photo], list[tuple[np.ndarray, np.ndarray | None]]]]:
    """Small plates: the br photos scaled down so the plate is ``SHRUNK_PLATE_PX`` wide (choosing), and the
    us photos whose plate is under ``SMALL_PLATE_PX`` wide as they are (reported); with the detector's best box."""
    out: dict[str, tuple[list[Photo], list[tuple[np.ndarray, np.ndarray | None]]]] = {}
    for name, photos in sets.items():
        if name.startswith("openalpr_br"):
            picked = []
            for p, im in zip(photos, images[name], strict=True):
                scale = min(1.0, SHRUNK_PLATE_PX / float(p.box[2] - p.box[0]))
                small = cv2.resize(im, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                picked.append((Photo(p.image, p.text, p.box * scale), small))
            label = f"openalpr_br shrunk, plate {SHRUNK_PLATE_PX} px wide (choosing)"
        elif name.startswith("openalpr_us"):
            picked = [
                (p, im)
                for p, im in zip(photos, images[name], strict=True)
                if p.box[2] - p.box[0] < SMALL_PLATE_PX
            ]
            label = f"openalpr_us, plates < {SMALL_PLATE_PX} px (reported)"
        else:
            continue
        boxes = [detector.best(im) for _, im in picked]
        out[label] = (
            [p for p, _ in picked],
            [(im, b.xyxy if b else None) for (_, im), b in zip(picked, boxes, strict=True)],
        )
    return out


def read_exact(reader, photo: Photo, crop: np.ndarray) -> bool:
    """Whether the read of ``crop`` is exactly the photo's plate (VN: format-fitted; openalpr: raw text)."""
    if crop.size == 0:
        return False
    reading = reader.read(crop)
    if reading is None:
        return False
    if photo.vn:
        fitted = normalise(reading.lines, alternatives=reading.alternatives)
        return fitted is not None and fitted.text == photo.text
    return clean(reading.text_raw) == photo.text


def pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}" if n else "–"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="detector input sizes (px)")
    parser.add_argument(
        "--margins", type=float, nargs="+", default=list(MARGINS), help="plate crop margins tried"
    )
    parser.add_argument(
        "--upscale",
        type=int,
        nargs="*",
        default=list(UPSCALE),
        help="small plates: crop heights to enlarge to (0 = off); none = skip this table",
    )
    parser.add_argument("--limit", type=int, default=0, help="photos per set (seeded sample); 0 = all")
    parser.add_argument("--quick", action="store_true", help="sizes 320 416 640, 30 photos a set")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown tables here")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.limit = [320, 416, 640], args.limit or 30
    root = asset_dir()
    if root is None or not (root / "plates").is_dir():
        print("no plates assets found (set GATEWATCH_ASSET_DIR)", file=sys.stderr)
        return 2
    sets = {
        "openalpr_br (choosing set)": load_openalpr(root / "plates", "br"),
        "openalpr_us (reported)": load_openalpr(root / "plates", "us"),
        "vn_scenes (reported, by-eye truth)": load_vn_scenes(root / "plates"),
    }
    if args.limit > 0:
        sets = {
            k: sorted(random.Random(0).sample(v, min(args.limit, len(v))), key=lambda p: str(p.image))
            for k, v in sets.items()
        }
    images = {k: [cv2.imread(str(p.image)) for p in v] for k, v in sets.items()}
    load_start = os.getloadavg()[0]
    reader = build_reader(AutoReaderConfig(threads=1))
    defaults = PlatesConfig()
    margin0, deskew0, upscale0 = defaults.plate_margin, defaults.deskew, defaults.upscale_plate_to_px

    size_rows = [
        "| set | input px | n | det recall % | small-plate recall % (n) | exact read % | det ms/photo median | mean |",
        "|---|---|---|---|---|---|---|---|",
    ]
    detectors = {
        size: PlateDetector(OnnxModel(plate_model_path(True, size), providers="cpu", threads=1))
        for size in args.sizes
    }
    detected = {name: detect_all(detectors, images[name]) for name in sets}
    boxes_at: dict[int, dict[str, list[np.ndarray | None]]] = {size: {} for size in args.sizes}
    for name, photos in sets.items():
        for size in args.sizes:
            boxes, ms = detected[name][size]
            boxes_at[size][name] = boxes
            hits = [b is not None and found(p, b) for p, b in zip(photos, boxes, strict=True)]
            small = [h for p, h in zip(photos, hits, strict=True) if p.box[2] - p.box[0] < SMALL_PLATE_PX]
            exact = sum(
                b is not None and read_exact(reader, p, plate_crop(im, b, margin0, deskew0, upscale0))
                for p, b, im in zip(photos, boxes, images[name], strict=True)
            )
            row = (
                f"| {name} | {size} | {len(photos)} | {pct(sum(hits), len(photos))} | "
                f"{pct(sum(small), len(small))} ({len(small)}) | {pct(exact, len(photos))} | "
                f"{np.median(ms):.1f} | {np.mean(ms):.1f} |"
            )
            size_rows.append(row)
            print(row, flush=True)

    chosen = DEFAULT_PLATE_INPUT_SIZE if DEFAULT_PLATE_INPUT_SIZE in boxes_at else args.sizes[-1]
    crop_rows = ["| set | margin | deskew | n | exact read % | crops rotated |", "|---|---|---|---|---|---|"]
    for name, photos in sets.items():
        boxes = boxes_at[chosen][name]
        for margin in args.margins:
            for deskew_on in (False, True):
                exact = rotated = 0
                for p, b, im in zip(photos, boxes, images[name], strict=True):
                    if b is None:
                        continue
                    crop = plate_crop(im, b, margin, deskew_on, upscale0)
                    rotated += deskew_on and abs(skew_angle(plate_crop(im, b, margin, False))) >= MIN_SKEW_DEG
                    exact += read_exact(reader, p, crop)
                row = (
                    f"| {name} | {margin:.2f} | {'on' if deskew_on else 'off'} | {len(photos)} | "
                    f"{pct(exact, len(photos))} | {rotated if deskew_on else '–'} |"
                )
                crop_rows.append(row)
                print(row, flush=True)

    upscale_rows = ["| set | upscale to px high | n | exact read % |", "|---|---|---|---|"]
    if args.upscale:
        small_sets = small_plate_sets(sets, images, detectors[chosen])
        for name, (photos, crops_at) in small_sets.items():
            for height in args.upscale:
                exact = sum(
                    b is not None and read_exact(reader, p, plate_crop(im, b, margin0, deskew0, height))
                    for p, (im, b) in zip(photos, crops_at, strict=True)
                )
                row = f"| {name} | {height or 'off'} | {len(photos)} | {pct(exact, len(photos))} |"
                upscale_rows.append(row)
                print(row, flush=True)

    vn_name = next((k for k in sets if k.startswith("vn_scenes")), None)
    vn_rows = ["| photo | plate (by eye) | found | read (fitted; raw) | exact |", "|---|---|---|---|---|"]
    for p, b, im in zip(
        sets.get(vn_name, []), boxes_at[chosen].get(vn_name, []), images.get(vn_name, []), strict=True
    ):
        reading = reader.read(plate_crop(im, b, margin0, deskew0, upscale0)) if b is not None else None
        fitted = normalise(reading.lines, alternatives=reading.alternatives) if reading else None
        got = fitted.text if fitted else "–"
        raw = " ".join(reading.lines) if reading else "–"
        vn_rows.append(
            f"| {p.image.name} | {p.text} | {'yes' if b is not None and found(p, b) else 'no'} "
            f"| {got}; `{raw}` | {'yes' if got == p.text else 'no'} |"
        )
    command = "python benchmarks/plate_scenes.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = "\n".join(
        [
            "# Plates in whole photos: detector input size, crop margin, deskew",
            "",
            f"Made {date.today().isoformat()} with `{command.strip()}` on a {os.cpu_count()}-core CPU, one thread "
            f"per model; 1-minute load average {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
            "(other jobs shared the CPU: the ms are slower than on an idle machine, the ratios between sizes hold).",
            "",
            "Choosing set: `openalpr_br`; `openalpr_us` and `vn_scenes` took no part in any choice. "
            f"Small plate: labelled box narrower than {SMALL_PLATE_PX} px in the photo. Exact read: `auto` reader, "
            f"plate crop margin {margin0}, deskew {deskew0}, upscaled to {upscale0} px high when lower (the stage defaults; openalpr: raw text; VN: fitted to a VN format). VN found = the "
            "best box covers >= 90 % of the labelled characters.",
            "",
            *size_rows,
            "",
            f"Crop margin and deskew at the {chosen} px detector (boxes from the table above):",
            "",
            *crop_rows,
            "",
            *(
                [
                    f"Small plates at the {chosen} px detector: the crop enlarged (bicubic) to a height before reading "
                    f"(margin {margin0}, deskew {deskew0}); the br photos scaled down so that the labelled plate is "
                    f"{SHRUNK_PLATE_PX} px wide (choosing), the us photos whose plate is under {SMALL_PLATE_PX} px as "
                    "they are (reported):",
                    "",
                    *upscale_rows,
                    "",
                ]
                if args.upscale
                else []
            ),
            f"The Vietnamese photos one by one at the {chosen} px detector (margin {margin0}, deskew {deskew0}):",
            "",
            *vn_rows,
            "",
        ]
    )
    print(f"\nload average {load_start:.2f} -> {os.getloadavg()[0]:.2f}")
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
