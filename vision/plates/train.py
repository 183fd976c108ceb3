"""Train gatewatch's own plate line recogniser (PyTorch, CPU) and export it to ONNX with a parity check.

Data: synthetic plates from :mod:`.synth` (every kind, augmented, cut into lines by the reader's
own :func:`~gatewatch.vision.plates.own.plate_lines`), plus, with ``real_dev``, the **dev half**
of the shared Vietnamese and Chinese crops: split by plate text with the benchmark's hash (so no plate
of the held-out half, which ``benchmarks/plates.py --split test`` reports on, is ever seen), labels the
audit marks wrong left out. A quarter of the dev half (``dev_check``, a second hash byte) is kept out
of training too: it is the validation set here and the set fusion choices are made on
(``benchmarks/plates.py --split devcheck``).

Model: a small CNN (1x32x128 grey line -> 32 time steps) with a CTC head over ``OWN_CHARSET``;
no recurrent layer, so the ONNX graph is plain convolutions (fast on one core). Deterministic for a
seed and a step count (one torch thread; the data stream is seeded per step).

Example::

    gatewatch plates train --out runs/plates1 --seed 0 --steps 6000 --minutes 40 --real-dev
"""

from __future__ import annotations

import csv
import json
import logging
import platform
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from gatewatch.assets import asset_dir
from gatewatch.vision.plates.formats import clean
from gatewatch.vision.plates.own import OWN_CHARSET, OWN_INPUT, ctc_greedy, plate_lines, preprocess_lines
from gatewatch.vision.plates.splits import dev_check, plate_split
from gatewatch.vision.plates.synth import augment, camera_effects, render_plate

log = logging.getLogger(__name__)

REPO_AUDIT = Path(__file__).resolve().parents[2] / "benchmarks" / "ground_truth" / "vn_label_audit.csv"
# dev-half labels found wrong by eye after the sampled audit above (dev half only; read beside it)
REPO_DEV_AUDIT = REPO_AUDIT.with_name("vn_dev_label_audit.csv")
WRONG_LABEL = {"label_wrong", "both_wrong"}  # the audit verdicts benchmarks/plates.py leaves out
VN_CROPS = Path("plates") / "vn_plate_crops_label_plate_number"
CN_CROPS = Path("plates") / "cn_lprnet_test_crops"
CHAR_INDEX = {c: i + 1 for i, c in enumerate(OWN_CHARSET)}




class PlateLineNet(nn.Module):
    """Grey line ``(n, 1, 32, 128)`` -> CTC logits ``(n, 32, len(OWN_CHARSET) + 1)``; about 250k weights."""

    def __init__(self, classes: int = len(OWN_CHARSET) + 1) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(1, 16), nn.MaxPool2d(2),            # 16 x 64
            *block(16, 32), nn.MaxPool2d(2),           # 8 x 32
            *block(32, 64), *block(64, 96), nn.MaxPool2d((2, 1)),  # 4 x 32
            *block(96, 96), nn.MaxPool2d((2, 1)),      # 2 x 32
            nn.Conv2d(96, 128, (2, 3), padding=(0, 1), bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Dropout(0.1),
        )
        self.head = nn.Conv2d(128, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(self.features(x))  # (n, C, 1, T)
        return y.squeeze(2).permute(0, 2, 1)  # (n, T, C)


@dataclass(frozen=True)
class RealPlate:
    """A dev-half crop of the shared VN or CN set with its line labels and its synthetic kind's name."""

    image: str
    crop: np.ndarray
    lines: tuple[str, ...]
    kind: str = "vn_car"


def audited_wrong(path: Path = REPO_AUDIT) -> set[str]:
    """Images whose label the audit at ``path`` marks wrong, with the dev-half audit beside the default
    audit file (``vn_dev_label_audit.csv``); empty for a file that is absent."""
    paths = [path, REPO_DEV_AUDIT] if path == REPO_AUDIT else [path]
    wrong: set[str] = set()
    for one in paths:
        if one.is_file():
            rows = csv.DictReader(one.read_text(encoding="utf-8").splitlines())
            wrong |= {r["image"] for r in rows if r["verdict"].split(" ")[0] in WRONG_LABEL}
    return wrong


def real_dev_plates(root: Path | None = None, audit: Path = REPO_AUDIT, check: bool = False) -> list[RealPlate]:
    """The dev half of the shared VN crops (``root``: the folder with ``gt_text.csv``), split by plate text,
    audited wrong labels left out; the training part, or with ``check`` the held-back quarter
    (:func:`dev_check`). Empty when the crops are missing."""
    assets = asset_dir()
    base = root if root is not None else (assets / VN_CROPS if assets is not None else Path("missing"))
    csv_path = base / "gt_text.csv"
    if not csv_path.is_file():
        return []
    wrong = audited_wrong(audit)
    out = []
    for row in csv.DictReader(csv_path.read_text(encoding="utf-8").splitlines()):
        text = row["text_alnum"]
        if row["image"] in wrong or plate_split(text) != "dev" or dev_check(text) != check:
            continue
        crop = cv2.imread(str(base / row["image"]))
        if crop is None:
            continue
        lines = tuple(clean(part) for part in row["text_by_lines"].split(" ") if clean(part))
        if lines and all(all(c in CHAR_INDEX for c in line) for line in lines):
            out.append(RealPlate(row["image"], crop, lines, "vn_moto" if len(lines) == 2 else "vn_car"))
    return out


def real_cn_dev_plates(root: Path | None = None, check: bool = False) -> list[RealPlate]:
    """The dev half of the shared Chinese 94x24 crops, split by plate text with the same hash (the
    training part, or with ``check`` the held-back quarter); empty when the crops are missing."""
    assets = asset_dir()
    base = root if root is not None else (assets / CN_CROPS if assets is not None else Path("missing"))
    csv_path = base / "gt_text.csv"
    if not csv_path.is_file():
        return []
    out = []
    for row in csv.DictReader(csv_path.read_text(encoding="utf-8").splitlines()):
        text = row["plate_text"]
        if plate_split(text) != "dev" or dev_check(text) != check or not all(c in CHAR_INDEX for c in text):
            continue
        crop = cv2.imread(str(base / row["image"]))
        if crop is not None:
            out.append(RealPlate(row["image"], crop, (text,), "cn_ccpd"))
    return out


def plate_to_lines(image: np.ndarray, labels: Sequence[str]) -> list[tuple[np.ndarray, str]]:
    """The reader's line crops of ``image`` paired with ``labels``; empty when the split disagrees."""
    lines = plate_lines(image)
    if len(lines) != len(labels):
        return []
    return [(line, label) for line, label in zip(lines, labels, strict=True) if label]


def synthetic_lines(rng: random.Random, count: int) -> list[tuple[np.ndarray, str]]:
    """``count`` augmented synthetic line crops with labels (plates whose split disagrees are redrawn)."""
    out: list[tuple[np.ndarray, str]] = []
    while len(out) < count:
        plate = render_plate(rng)
        out += plate_to_lines(augment(plate.image, rng, plate.kind), plate.lines)
    return out[:count]


def real_lines(rng: random.Random, plates: Sequence[RealPlate], count: int) -> list[tuple[np.ndarray, str]]:
    """``count`` line crops from real dev plates, augmented lightly most of the time."""
    out: list[tuple[np.ndarray, str]] = []
    tries = 0
    while len(out) < count and tries < count * 10:
        tries += 1
        plate = rng.choice(plates)
        image = plate.crop
        if plate.kind == "cn_ccpd":  # already tiny: camera effects only, the tight cut kept
            if rng.random() < 0.5:
                image = camera_effects(image.astype(np.float32), rng)
        elif rng.random() < 0.6:
            image = augment(image, rng, plate.kind, small=0.25)
        out += plate_to_lines(image, plate.lines)
    return out[:count]


def encode(labels: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenated class targets and their lengths for ``nn.CTCLoss``."""
    targets = [CHAR_INDEX[c] for label in labels for c in label]
    return torch.tensor(targets, dtype=torch.long), torch.tensor([len(label) for label in labels], dtype=torch.long)


@dataclass
class TrainSettings:
    """What a training run was asked to do (written into the model card)."""

    out: str
    seed: int = 0
    steps: int = 2000
    minutes: float = 40.0
    batch: int = 48
    lr: float = 3e-3
    real_dev: bool = False
    real_share: float = 0.3
    eval_every: int = 500
    threads: int = 1
    val_lines: int = 400


@dataclass
class TrainResult:
    """What came out: files, steps done, figures (written into the model card)."""

    onnx: str
    steps_done: int
    seconds: float
    parity_max_rel: float
    parity_same_decode: bool
    parity_lines: int
    history: list[dict[str, float]] = field(default_factory=list)
    real_dev_plates: int = 0
    params: int = 0


def evaluate(net: PlateLineNet, lines: Sequence[tuple[np.ndarray, str]]) -> float:
    """Line exact-match % of ``net`` (eval mode) on labelled line crops."""
    if not lines:
        return float("nan")
    net.eval()
    ok = 0
    with torch.no_grad():
        for i in range(0, len(lines), 128):
            chunk = lines[i : i + 128]
            logits = net(torch.from_numpy(preprocess_lines([img for img, _ in chunk]))).numpy()
            ok += sum(text == label for (text, _), (_, label) in zip(ctc_greedy(logits), chunk, strict=True))
    net.train()
    return 100.0 * ok / len(lines)


def export_onnx(net: PlateLineNet, path: Path, check_lines: Sequence[np.ndarray], opset: int = 17) -> tuple[float, bool]:
    """Write ``net`` to ONNX (dynamic batch) and compare it with torch on ``check_lines``.

    Returns the largest logit difference relative to the largest logit, and whether the greedy
    decode of every line is the same.
    """
    import onnxruntime as ort

    net.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 1, OWN_INPUT[1], OWN_INPUT[0])
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad():
        torch.onnx.export(net, (dummy,), str(tmp), input_names=["lines"], output_names=["logits"], opset_version=opset,
                          dynamic_axes={"lines": {0: "n"}, "logits": {0: "n"}}, dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(tmp), options, providers=["CPUExecutionProvider"])
    batch = preprocess_lines(list(check_lines))
    with torch.no_grad():
        reference = net(torch.from_numpy(batch)).numpy()
    result = session.run(None, {"lines": batch})[0]
    rel = float(np.abs(result - reference).max() / (np.abs(reference).max() or 1.0))
    same = [t for t, _ in ctc_greedy(result)] == [t for t, _ in ctc_greedy(reference)]
    tmp.replace(path)
    return rel, same


def train(settings: TrainSettings, progress: Callable[[str], None] = print) -> TrainResult:
    """Train, export ``<out>/gatewatch_plate_crnn.onnx`` (parity-checked), write ``MODEL_CARD.md`` and a log."""
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    real = real_dev_plates() + real_cn_dev_plates() if settings.real_dev else []
    if settings.real_dev and not real:
        raise FileNotFoundError("--real-dev: no shared VN or CN crops found (set GATEWATCH_ASSET_DIR)")
    held_back = real_dev_plates(check=True) + real_cn_dev_plates(check=True)
    progress(f"real dev plates: {len(real)} trained on, {len(held_back)} held back (dev check); "
             f"charset {len(OWN_CHARSET)} + blank")
    val_rng = random.Random(10_000 + settings.seed)
    val_synth = synthetic_lines(val_rng, settings.val_lines)
    val_real = [pair for plate in held_back for pair in plate_to_lines(plate.crop, plate.lines)]
    net = PlateLineNet()
    params = sum(p.numel() for p in net.parameters())
    optimiser = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, settings.lr, total_steps=settings.steps, pct_start=0.1)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    step = 0
    n_real = int(round(settings.batch * settings.real_share)) if real else 0
    running = 0.0
    with (out / "train_log.txt").open("w", encoding="utf-8") as log_file:
        def say(line: str) -> None:
            progress(line)
            log_file.write(line + "\n")
            log_file.flush()

        say(f"settings {json.dumps(asdict(settings))}; {params} weights")
        while step < settings.steps:
            if time.perf_counter() - start > settings.minutes * 60:
                say(f"stopped by --minutes {settings.minutes} at step {step} of {settings.steps}")
                break
            rng = random.Random(settings.seed * 1_000_003 + step)
            batch = synthetic_lines(rng, settings.batch - n_real) + (real_lines(rng, real, n_real) if n_real else [])
            images = torch.from_numpy(preprocess_lines([img for img, _ in batch]))
            targets, lengths = encode([label for _, label in batch])
            logits = net(images)
            log_probs = logits.log_softmax(2).permute(1, 0, 2)  # (T, n, C)
            steps_in = torch.full((len(batch),), log_probs.shape[0], dtype=torch.long)
            loss = ctc(log_probs, targets, steps_in, lengths)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            optimiser.step()
            schedule.step()
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            if step % 50 == 0:
                elapsed = time.perf_counter() - start
                say(f"step {step}/{settings.steps} loss {running:.3f} lr {schedule.get_last_lr()[0]:.2e} "
                    f"{elapsed:.0f} s ({step * settings.batch / elapsed:.0f} lines/s)")
            if step % settings.eval_every == 0 or step == settings.steps:
                row = {"step": step, "loss": running, "synthetic_val_line_exact": evaluate(net, val_synth),
                       "dev_check_line_exact": evaluate(net, val_real), "seconds": time.perf_counter() - start}
                history.append(row)
                say("eval " + json.dumps({k: round(v, 2) for k, v in row.items()}))
        seconds = time.perf_counter() - start
        torch.save(net.state_dict(), out / "gatewatch_plate_crnn.pt")
        check = [img for img, _ in val_synth[:96]] + [img for img, _ in val_real[:96]]
        rel, same = export_onnx(net, out / "gatewatch_plate_crnn.onnx", check)
        say(f"onnx parity on {len(check)} lines: relative max logit difference {rel:.2e}, same decode {same}")
        if rel > 1e-3 or not same:
            raise RuntimeError(f"ONNX parity failed: {rel:.2e}, same decode {same}")
    result = TrainResult(str(out / "gatewatch_plate_crnn.onnx"), step, seconds, rel, same, len(check), history,
                         len(real), params)
    write_model_card(out / "MODEL_CARD.md", settings, result)
    return result


def write_model_card(path: Path, settings: TrainSettings, result: TrainResult) -> None:
    """The model card: data, settings, seed, command, training figures (benchmark figures are added after)."""
    last = result.history[-1] if result.history else {}
    command = (f"gatewatch plates train --out {settings.out} --seed {settings.seed} --steps {settings.steps} "
               f"--minutes {settings.minutes:g} --batch {settings.batch}" + (" --real-dev" if settings.real_dev else "")
               + (f" --threads {settings.threads}" if settings.threads != 1 else ""))
    text = f"""# gatewatch plate line recogniser (`own` reader)

## Model
A small CNN with a CTC head (no recurrent layer), {result.params:,} weights: one grey text line stretched to
128x32 in, `(n, 32, {len(OWN_CHARSET) + 1})` logits out (blank = class 0), characters `{OWN_CHARSET}`.
Two-line plates are split into lines before reading (`own.plate_lines`: 4 % frame inset, then
`lines.split_lines`, the same cut as the PP-OCR path), in training and at run time.

## Data
* Synthetic plates (`vision/plates/synth.py`): Vietnamese one-line car, two-line square and motorbike
  plates (white, yellow, blue), Chinese blue, yellow, green new-energy, two-line yellow truck and police
  plates (fonts: DejaVu Sans Condensed Bold, Liberation Sans Narrow Bold, WenQuanYi); perspective,
  rotation, small sizes (two-line plates down to ~22-40 px high), blur, noise, glare, dirt, exposure, JPEG;
  15 % of the square plates are electric `NN-MĐN` / `NNN.NN` plates in their narrower frame.
* {"Real: three quarters of the dev half of the shared Vietnamese and Chinese crops (split by plate text with the benchmark's hash; VN labels the audits (`vn_label_audit.csv`, `vn_dev_label_audit.csv`) mark wrong left out): " + str(result.real_dev_plates) + " plates, " + str(int(settings.real_share * 100)) + " % of each batch (VN augmented 60 % of the time, CN 94x24 crops given camera effects only, half the time)." if settings.real_dev else "No real crops."}
  No held-out (`--split test`) plate was trained on, nor the dev-check quarter of the dev half
  (`train.dev_check`), which is the real validation set below and the set fusion choices are made on.

## Settings
`{json.dumps(asdict(settings))}`; AdamW, one-cycle learning rate, CTC loss, {settings.threads} torch thread(s).
Steps done: {result.steps_done} in {result.seconds / 60:.1f} min on {platform.processor() or platform.machine()}
(torch {torch.__version__}).

Command: `{command}`

## Training figures
Line exact match at the end: synthetic validation lines {last.get("synthetic_val_line_exact", float("nan")):.1f} %,
real dev-check lines (not trained on; used to choose settings, so not a held-out figure) {last.get("dev_check_line_exact", float("nan")):.1f} %.
ONNX export parity on {result.parity_lines} lines: relative max logit difference {result.parity_max_rel:.1e},
same greedy decode: {result.parity_same_decode}.

History: {json.dumps([{k: round(v, 2) for k, v in row.items()} for row in result.history])}
"""
    path.write_text(text, encoding="utf-8")
