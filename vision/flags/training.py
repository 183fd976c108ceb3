"""Reviewed ``empty_truck`` flags -> labelled crops -> an ONNX empty/loaded classifier.

Input: a JSON-lines export of reviewed flags, one object per line::

    {"flag_id": "5b0c...", "flag_kind": "empty_truck", "review": "confirmed", "crop_path": "crops/5b0c.jpg"}
    {"flag_id": "77aa...", "flag_kind": "empty_truck", "review": "dismissed", "crop_path": "crops/77aa.jpg"}

``review`` is ``confirmed`` (the truck was empty: class ``empty``) or ``dismissed`` (it was
loaded: class ``loaded``); ``status`` is accepted as a synonym. Lines of other kinds, other
reviews, or without a readable crop are skipped and counted. Without ``crop_path``, a
``snapshot_path`` plus ``box`` (x1, y1, x2, y2) is cropped. Relative paths resolve against the
JSONL file's folder. Extra fields (a whole ``FlagEvent``) are ignored.

Output: an ImageNet-style folder ``train/{empty,loaded}/``, ``val/{empty,loaded}/`` (split
stable by flag id), which Ultralytics trains as a classification dataset.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gatewatch.errors import ConfigError

log = logging.getLogger(__name__)
LABELS = {"confirmed": "empty", "dismissed": "loaded"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class DatasetSummary:
    """What ``build_dataset`` wrote and skipped."""

    root: Path
    counts: dict[str, int]  # "train/empty" -> n
    skipped: dict[str, int]  # reason -> n


def _crop_from(record: dict[str, Any], base: Path) -> np.ndarray | None:
    crop_path = record.get("crop_path")
    if crop_path:
        path = Path(crop_path) if Path(crop_path).is_absolute() else base / crop_path
        image = cv2.imread(str(path))
        return image if image is not None and image.size else None
    snap, box = record.get("snapshot_path"), record.get("box")
    if snap and box and len(box) == 4:
        path = Path(snap) if Path(snap).is_absolute() else base / snap
        image = cv2.imread(str(path))
        if image is None:
            return None
        h, w = image.shape[:2]
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        crop = image[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)]
        return crop if crop.size else None
    return None


def _file_stem(flag_id: str) -> str:
    """A flag id as a safe file name (no path separators, no traversal), unique per id."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", flag_id).strip(".")[:80] or "flag"
    if stem != flag_id:  # changed: keep distinct ids distinct
        stem = f"{stem}-{hashlib.sha256(flag_id.encode()).hexdigest()[:8]}"
    return stem


def _split(flag_id: str, val_fraction: float) -> str:
    h = int(hashlib.sha256(flag_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < val_fraction else "train"


def build_dataset(jsonl: str | Path, out: str | Path, val_fraction: float = 0.2) -> DatasetSummary:
    """Write the labelled crop dataset from a JSONL of reviewed flags (see module doc)."""
    jsonl, out = Path(jsonl), Path(out)
    if not jsonl.is_file():
        raise ConfigError(f"reviewed flags file not found: {jsonl}")
    if not 0 <= val_fraction < 1:
        raise ConfigError("val fraction must be in [0, 1)")
    base = jsonl.parent
    counts: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    reviewed: dict[str, tuple[str, np.ndarray]] = {}
    for n, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            skipped["bad json"] += 1
            log.warning("%s:%d: not JSON, skipped", jsonl, n)
            continue
        if record.get("flag_kind", "empty_truck") != "empty_truck":
            skipped["other kind"] += 1
            continue
        label = LABELS.get(str(record.get("review") or record.get("status") or "").lower())
        if label is None:
            skipped["not reviewed"] += 1
            continue
        crop = _crop_from(record, base)
        if crop is None:
            skipped["no crop"] += 1
            continue
        fid = str(record.get("flag_id") or f"line{n}")
        if fid in reviewed:  # reviewed again: the later review wins
            skipped["superseded review"] += 1
        reviewed[fid] = (label, crop)
    items = [(fid, label, crop) for fid, (label, crop) in reviewed.items()]
    if not items:
        raise ConfigError(f"{jsonl}: no reviewed empty_truck flags with a crop")
    splits = {fid: _split(fid, val_fraction) for fid, _, _ in items}
    # every class needs a val example when it has two or more: move the first of each if needed
    for label in LABELS.values():
        ids = [fid for fid, lab, _ in items if lab == label]
        if len(ids) >= 2 and val_fraction > 0 and not any(splits[i] == "val" for i in ids):
            splits[ids[0]] = "val"
        if ids and not any(splits[i] == "train" for i in ids):
            splits[ids[-1]] = "train"
    for split in ("train", "val"):
        for label in LABELS.values():
            (out / split / label).mkdir(parents=True, exist_ok=True)
    for fid, label, crop in items:
        split = splits[fid]
        target = out / split / label / f"{_file_stem(fid)}.jpg"
        if not cv2.imwrite(str(target), crop):
            raise ConfigError(f"cannot write {target}")
        counts[f"{split}/{label}"] += 1
    return DatasetSummary(out, dict(counts), dict(skipped))


@dataclass(frozen=True)
class TrainResult:
    """The exported classifier and how close ONNX Runtime came to PyTorch on it."""

    onnx_path: Path
    names: dict[int, str]
    top1: float | None
    parity_max_abs: float
    parity_images: int = 0  # inputs the parity check ran on
    output_spread: float = 0.0  # max - min of P(class) over those inputs; ~0: the model ignores its input


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _check_dataset(data: Path) -> None:
    """The folder must be one Ultralytics can train: both classes in train/, images in val/."""
    if not (data / "train").is_dir():
        raise ConfigError(f"{data}: not a classification dataset (no train/ folder); run `gatewatch flags dataset`")
    classes = sorted(d.name for d in (data / "train").iterdir() if d.is_dir())
    missing = [c for c in LABELS.values() if c not in classes]
    if missing:
        raise ConfigError(f"{data}/train: class folder(s) {missing} missing (found {classes})")
    empty = [c for c in classes if not _images(data / "train" / c)]
    if empty:
        raise ConfigError(f"{data}/train: no images of class(es) {empty}; reviews of both outcomes are needed")
    if not (data / "val").is_dir() or not _images(data / "val"):
        raise ConfigError(f"{data}: no validation images in val/; rebuild the dataset with --val-fraction > 0")


def _import_ultralytics_offline() -> Any:
    """Import Ultralytics so that it never touches the network.

    ``YOLO_OFFLINE`` stops its import-time connectivity probe (a DNS lookup) and with it
    telemetry and update checks; ``YOLO_AUTOINSTALL=false`` stops it from pip-installing a
    missing export requirement. When Ultralytics was already imported by this process, the
    module-level flags it derived from them are switched off too.
    """
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise ConfigError("training needs the 'export' extra: pip install 'gatewatch[export]'") from exc
    for name in ("ultralytics.utils", "ultralytics.utils.checks", "ultralytics.utils.events",
                 "ultralytics.utils.downloads"):
        module: Any = sys.modules.get(name)  # ultralytics' switches, on whichever of its modules has them
        if module is None:
            continue
        if hasattr(module, "ONLINE"):
            module.ONLINE = False
        if hasattr(module, "AUTOINSTALL"):
            module.AUTOINSTALL = False
    return YOLO


def train_classifier(
    data: str | Path,
    out: str | Path,
    epochs: int = 20,
    imgsz: int = 96,
    batch: int = 16,
    weights: str | None = None,
    parity_tolerance: float = 1e-3,
    parity_images: int = 8,
) -> TrainResult:
    """Train a YOLOv8n-cls (from scratch, or from a local checkpoint) and export it to ONNX.

    No download happens: without ``weights`` the network is built from ``yolov8n-cls.yaml``,
    and Ultralytics runs offline (see ``_import_ultralytics_offline``). The export is checked
    against PyTorch, both fed by ``CargoClassifier.preprocess`` (the runtime path), on up to
    ``parity_images`` validation crops plus one fixed noise image: max |p_torch - p_onnx| must
    stay under ``parity_tolerance``, else ``ModelError``.
    """
    from gatewatch.errors import ModelError

    data, out = Path(data), Path(out)
    _check_dataset(data)
    if weights and not Path(weights).is_file():
        raise ConfigError(f"weights file not found: {weights}")
    if epochs < 1 or imgsz < 32 or batch < 1:
        raise ConfigError("epochs and batch must be >= 1, imgsz >= 32")
    YOLO = _import_ultralytics_offline()
    import torch

    from gatewatch.models.onnx import OnnxModel
    from gatewatch.vision.flags.cargo import CargoClassifier
    from gatewatch.vision.flags.config import ClassifierConfig

    model = YOLO(weights or "yolov8n-cls.yaml", task="classify")
    with tempfile.TemporaryDirectory(prefix="gatewatch-cls-") as tmp:
        model.train(data=str(data), epochs=epochs, imgsz=imgsz, batch=batch, device="cpu", workers=0, plots=False,
                    project=tmp, name="train", exist_ok=True, verbose=False, amp=False, val=True, seed=0,
                    deterministic=True, pretrained=bool(weights))
        metrics = getattr(model.trainer, "metrics", {}) or {}
        top1 = metrics.get("metrics/accuracy_top1")
        exported = Path(model.export(format="onnx", imgsz=imgsz, dynamic=False, simplify=True))
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(exported, out)
    onnx = OnnxModel(out, providers="cpu", threads=1)
    clf = CargoClassifier(ClassifierConfig(model=str(out), providers="cpu"))
    net = model.model.eval().float()  # the checkpoint that was exported (best.pt)
    images = [cv2.imread(str(p)) for p in (_images(data / "val") or _images(data / "train"))[:parity_images]]
    crops = [c for c in images if c is not None]
    crops.append(np.random.default_rng(0).integers(0, 256, (imgsz, imgsz, 3), dtype=np.uint8))
    worst = 0.0
    outputs = []
    for crop in crops:
        batch_in = clf.preprocess(crop)
        with torch.no_grad():
            ref = net(torch.from_numpy(batch_in))
        ref = (ref[0] if isinstance(ref, (list, tuple)) else ref).numpy().reshape(-1)
        got = onnx.run(batch_in)[0].reshape(-1)
        if got.shape != ref.shape:
            raise ModelError(f"{out}: ONNX output shape {got.shape} differs from PyTorch {ref.shape}")
        worst = max(worst, float(np.abs(ref - got).max()))
        outputs.append(got)
    if worst > parity_tolerance:
        raise ModelError(f"{out}: ONNX differs from PyTorch by {worst:.2e} (> {parity_tolerance})")
    stacked = np.stack(outputs)
    spread = float((stacked.max(axis=0) - stacked.min(axis=0)).max())
    if spread < 1e-4:
        log.warning("%s gives the same output for every image (spread %.1e): undertrained; more epochs or "
                    "more reviewed flags are needed before it can be used", out, spread)
    return TrainResult(out, dict(onnx.names), float(top1) if top1 is not None else None, worst, len(crops), spread)
