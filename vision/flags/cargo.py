"""Empty trucks: is the bed or container chassis behind the cab empty?

Two layers, the second replacing the first when configured:

1. **Geometry** (``cargo_fill``): the truck's silhouette against a learned background of the
   static scene (``SceneBackground``: median of the first seconds, then updated only where no
   vehicle is tracked, so a truck standing at the gate never melts into it), profiled along the
   travel axis behind the cab. Each slice across the travel axis gets the share of its cargo
   band (for a side view: the upper part of the box, above the chassis) that is foreground; a
   loaded trailer or container fills it, an empty chassis or flatbed leaves it mostly
   background. The truck is empty when the median fill over its checks is below
   ``fill_threshold``.
2. **Classifier** (``CargoClassifier``): an ONNX image classifier with classes ``empty`` and
   ``loaded`` on the truck crop (trained from reviewed flags, see ``gatewatch flags train``).

Example::

    >>> fill, profile = cargo_fill(mask, travel_axis="x", cab_at_start=False, cab_fraction=0.3, band=(0.0, 0.6))
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import supervision as sv

from gatewatch.events import FlagKind, FlagPhase
from gatewatch.vision.flags.common import Box, EvidenceShot, FlagChange, OpenFlag, clip_box
from gatewatch.vision.flags.config import BackgroundConfig, ClassifierConfig, EmptyTruckConfig
from gatewatch.vision.sources import Frame
from gatewatch.vision.stages import track_ids

log = logging.getLogger(__name__)


def cargo_fill(
    mask: np.ndarray,
    travel_axis: str,
    cab_at_start: bool,
    cab_fraction: float,
    band: tuple[float, float],
) -> tuple[float, np.ndarray]:
    """Median fill of the bed behind the cab, and the per-slice profile.

    Args:
        mask: bool ``(h, w)`` foreground of the truck's box (True = truck).
        travel_axis: ``"x"`` (trucks drive left/right) or ``"y"`` (up/down).
        cab_at_start: the cab is at the left/top end of the box (else right/bottom).
        cab_fraction: share of the box length, along the travel axis, taken by the cab.
        band: ``(low, high)`` fractions across the travel axis where cargo stands.

    Returns:
        ``(fill, profile)``: profile ``(n,)`` is, per slice, the silhouette's extent across the
        band (first to last foreground pixel) as a share of the band; fill is its median.
    """
    m = np.asarray(mask, dtype=bool)
    if travel_axis == "y":
        m = m.T  # travel now along columns
    across, length = m.shape
    if across == 0 or length == 0:
        return 0.0, np.zeros(0)
    cab = int(round(cab_fraction * length))
    bed = m[:, cab:] if cab_at_start else m[:, : length - cab]
    lo, hi = int(math.floor(band[0] * across)), int(math.ceil(band[1] * across))
    bed = bed[lo:max(hi, lo + 1)]
    if bed.size == 0:
        return 0.0, np.zeros(0)
    # silhouette extent per slice: from its first to its last foreground pixel across the band,
    # so a uniform cargo with holes in the mask still counts as filled
    n = bed.shape[0]
    any_fg = bed.any(axis=0)
    first = np.argmax(bed, axis=0)
    last = n - 1 - np.argmax(bed[::-1], axis=0)
    profile = np.where(any_fg, (last - first + 1) / n, 0.0)
    return float(np.median(profile)), profile


class SceneBackground:
    """Background of a fixed camera, learned where no vehicle is.

    ``update(image, boxes)`` once per frame; ``foreground(box)`` gives the bool mask of the
    box in the last frame (at the model's working scale). Ready after ``warmup_s``.
    """

    def __init__(self, config: BackgroundConfig, frame_size: tuple[int, int], fps: float) -> None:
        self.config = config
        width, height = frame_size
        self.scale = min(1.0, config.work_width / max(width, 1))
        self.size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        fps = fps if fps > 0 else 10.0
        self._samples: list[np.ndarray] = []
        self._want = max(1, min(25, round(config.warmup_s * fps)))
        self._every = max(1, round(config.warmup_s * fps / self._want))
        self._seen = 0
        self.background: np.ndarray | None = None
        self.frame: np.ndarray | None = None

    @property
    def ready(self) -> bool:
        return self.background is not None

    def _boxes_mask(self, boxes: np.ndarray) -> np.ndarray:
        mask = np.zeros((self.size[1], self.size[0]), dtype=bool)
        for x1, y1, x2, y2 in np.asarray(boxes, dtype=float).reshape(-1, 4) * self.scale:
            pad_x, pad_y = 0.1 * (x2 - x1), 0.1 * (y2 - y1)
            a, b, c, d = clip_box((x1 - pad_x, y1 - pad_y, x2 + pad_x, y2 + pad_y), self.size[0], self.size[1])
            mask[b:d, a:c] = True
        return mask

    def update(self, image: np.ndarray, boxes: np.ndarray) -> None:
        """Take one BGR frame and the vehicle boxes ``(n, 4)`` (kept out of the learning)."""
        small = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA) if self.scale < 1 else image
        self.frame = small.astype(np.float32)
        if self.background is None:
            if self._seen % self._every == 0:
                self._samples.append(small)
            self._seen += 1
            if len(self._samples) >= self._want:
                self.background = np.median(np.stack(self._samples), axis=0).astype(np.float32)
                self._samples = []
            return
        keep = ~self._boxes_mask(boxes)
        a = self.config.learning_rate
        self.background[keep] += a * (self.frame[keep] - self.background[keep])

    def foreground(self, box: Box | np.ndarray) -> np.ndarray | None:
        """Bool mask of the box region in the last frame (True = differs from the scene); None if not ready."""
        if self.background is None or self.frame is None:
            return None
        x1, y1, x2, y2 = clip_box(np.asarray(box, dtype=float) * self.scale, self.size[0], self.size[1])
        if x2 - x1 < 2 or y2 - y1 < 2:
            return None
        cur, bg = self.frame[y1:y2, x1:x2], self.background[y1:y2, x1:x2]
        diff = np.abs(cur - bg).max(axis=2)
        fg = diff > self.config.diff_threshold
        # shadows: darker than the scene with the same colour balance are not the truck
        lum_c, lum_b = cur.mean(axis=2), bg.mean(axis=2) + 1e-3
        ratio = lum_c / lum_b
        chroma = np.abs(cur / (lum_c[..., None] + 1e-3) - bg / lum_b[..., None]).max(axis=2)
        fg &= ~((ratio > 0.35) & (ratio < 0.92) & (chroma < 0.12))
        fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        return fg.astype(bool)


class CargoClassifier:
    """ONNX classifier (``empty`` / ``loaded``) on a truck crop; one session, built once."""

    def __init__(self, config: ClassifierConfig) -> None:
        from gatewatch.models.onnx import OnnxModel

        self.model = OnnxModel(config.model, providers=config.providers, threads=config.threads)
        names = {v.lower(): k for k, v in self.model.names.items()}
        if "empty" not in names:
            from gatewatch.errors import ModelError

            raise ModelError(f"{config.model}: classifier has no 'empty' class (classes: {self.model.names})")
        self.empty_index = names["empty"]

    def preprocess(self, crop: np.ndarray) -> np.ndarray:
        """BGR crop -> float32 ``(1, 3, s, s)`` RGB in [0, 1]: shortest side resized, centre crop (as Ultralytics)."""
        size = self.model.imgsz[0]
        h, w = crop.shape[:2]
        scale = size / min(h, w)
        resized = cv2.resize(crop, (max(size, round(w * scale)), max(size, round(h * scale))), interpolation=cv2.INTER_LINEAR)
        rh, rw = resized.shape[:2]
        top, left = (rh - size) // 2, (rw - size) // 2
        square = resized[top : top + size, left : left + size]
        return cv2.dnn.blobFromImage(square, scalefactor=1 / 255.0, swapRB=True)

    def probabilities(self, crop: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n_classes,)``."""
        out = self.model.run(self.preprocess(crop))[0].reshape(-1).astype(np.float64)
        if out.min() < 0 or abs(out.sum() - 1) > 1e-3:  # logits: softmax them
            out = np.exp(out - out.max())
            out /= out.sum()
        return out

    def empty_probability(self, crop: np.ndarray) -> float:
        return float(self.probabilities(crop)[self.empty_index])


@dataclass
class _Truck:
    centers: deque[tuple[float, float, float]]
    last_seen_ts: float
    box: np.ndarray
    classes: Counter[str] = field(default_factory=Counter)
    scores: list[float] = field(default_factory=list)
    check_frames: list[int] = field(default_factory=list)
    last_check_ts: float = -math.inf
    decided: bool = False
    empty: bool = False
    flag: OpenFlag | None = None

    @property
    def vehicle_class(self) -> str:
        return self.classes.most_common(1)[0][0] if self.classes else ""


class EmptyTruckStage:
    """Flag stage raising ``empty_truck`` flags (geometry, or the classifier when configured); returns ``FlagChange``.

    Read-only figures for benchmarks: ``trucks_checked``, ``trucks_flagged`` (totals) and
    ``verdicts`` (one dict per judged truck, the latest ``keep_verdicts`` only, so a camera
    running for months holds a bounded list).
    """

    def __init__(self, config: EmptyTruckConfig, fps: float, frame_size: tuple[int, int],
                 update_interval_s: float = 30.0, keep_verdicts: int = 1000) -> None:
        self.config = config
        self.fps = fps if fps > 0 else 10.0
        self.frame_size = frame_size
        self.update_interval_s = update_interval_s
        self.background = SceneBackground(config.background, frame_size, self.fps)
        self.classifier = CargoClassifier(config.classifier) if config.classifier else None
        self.method = "classifier" if self.classifier else "geometry"
        self._trucks: dict[int, _Truck] = {}
        self._last_frame: Frame | None = None
        self.verdicts: deque[dict[str, Any]] = deque(maxlen=keep_verdicts)
        self.trucks_checked = 0
        self.trucks_flagged = 0

    @property
    def tracks(self) -> int:
        """Tracks with state held."""
        return len(self._trucks)

    def forget(self, frame: Frame, track_ids: list[int]) -> list[FlagChange]:
        """Tracks that ended: their state goes, and an open flag ends when its truck was last seen."""
        events: list[FlagChange] = []
        for tid in track_ids:
            truck = self._trucks.pop(int(tid), None)
            if truck is not None and truck.flag is not None:
                events.append(self._event(truck, int(tid), FlagPhase.END, frame, truck.last_seen_ts, "left"))
        return events

    def trigger(self, tracks: sv.Detections) -> np.ndarray:
        """Bool mask ``(n,)``: tracks flagged as empty trucks."""
        if tracks.tracker_id is None or len(tracks) == 0:
            return np.zeros(len(tracks), dtype=bool)
        return np.array([bool((t := self._trucks.get(int(i))) and t.empty) for i in tracks.tracker_id])

    def _cab_at_start(self, truck: _Truck) -> bool | None:
        side = self.config.cab_side
        if side != "front":
            return side == "start"
        if len(truck.centers) < 2:
            return None
        k = 1 if self.config.travel_axis == "x" else 2
        move = truck.centers[-1][k] - truck.centers[0][k]
        length = truck.box[2] - truck.box[0] if k == 1 else truck.box[3] - truck.box[1]
        if abs(move) < 0.05 * max(length, 1.0):
            return None  # standing or too little motion: front unknown
        return move < 0  # moving left/up: the cab leads at the left/top

    def _checkable(self, box: np.ndarray) -> bool:
        w, h = box[2] - box[0], box[3] - box[1]
        min_w, min_h = self.config.min_size_px
        m = self.config.edge_margin_px
        width, height = self.frame_size
        return bool(w >= min_w and h >= min_h and box[0] >= m and box[1] >= m and box[2] <= width - m and box[3] <= height - m)

    def update(self, frame: Frame, tracks: sv.Detections) -> list[FlagChange]:
        cfg = self.config
        self._last_frame = frame
        boxes = tracks.xyxy if len(tracks) else np.zeros((0, 4))
        self.background.update(frame.image, boxes)
        events: list[FlagChange] = []
        names = tracks.data.get("class_name")
        ids = track_ids(tracks)
        for i, tid in enumerate(ids):
            box = tracks.xyxy[i].astype(np.float64)
            truck = self._trucks.get(int(tid))
            if truck is None:
                truck = _Truck(deque(maxlen=max(8, round(2 * self.fps))), frame.ts, box)
                self._trucks[int(tid)] = truck
            truck.classes[str(names[i]) if names is not None else ""] += 1
            truck.centers.append((frame.ts, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
            truck.last_seen_ts, truck.box = frame.ts, box
            if truck.vehicle_class not in cfg.classes:
                continue  # judged by the class most of its frames had (detectors flicker car/truck/bus)
            if truck.decided:
                if truck.flag is not None and frame.ts - truck.flag.last_emit_ts >= self.update_interval_s:
                    events.append(self._event(truck, int(tid), FlagPhase.UPDATE, frame, frame.ts))
                continue
            if frame.ts - truck.last_check_ts < cfg.check_interval_s or not self._checkable(box):
                continue
            score = self._score(frame, truck, box)
            if score is None:
                continue
            truck.scores.append(score)
            truck.check_frames.append(frame.index)
            truck.last_check_ts = frame.ts
            if len(truck.scores) >= cfg.min_checks:
                events.extend(self._decide(truck, int(tid), frame))
        for tid, truck in list(self._trucks.items()):
            if frame.ts - truck.last_seen_ts > cfg.grace_s:
                if truck.flag is not None:
                    events.append(self._event(truck, tid, FlagPhase.END, frame, truck.last_seen_ts, "left"))
                del self._trucks[tid]
        return events

    def _score(self, frame: Frame, truck: _Truck, box: np.ndarray) -> float | None:
        """Fill of the bed (geometry) or P(empty) (classifier) for this frame."""
        if self.classifier is not None:
            x1, y1, x2, y2 = clip_box(box, frame.image.shape[1], frame.image.shape[0])
            crop = frame.image[y1:y2, x1:x2]
            return self.classifier.empty_probability(crop) if crop.size else None
        cab_at_start = self._cab_at_start(truck)
        if cab_at_start is None:
            return None
        mask = self.background.foreground(box)
        if mask is None:
            return None
        fill, _ = cargo_fill(mask, self.config.travel_axis, cab_at_start, self.config.cab_fraction, self.config.cargo_band)
        return fill

    def _decide(self, truck: _Truck, tid: int, frame: Frame) -> list[FlagChange]:
        cfg = self.config
        truck.decided = True
        value = float(np.median(truck.scores)) if self.classifier is None else float(np.mean(truck.scores))
        truck.empty = value < cfg.fill_threshold if self.classifier is None else value >= cfg.classifier.empty_threshold  # type: ignore[union-attr]  # set when self.classifier is
        self.trucks_checked += 1
        self.trucks_flagged += truck.empty
        self.verdicts.append({"track_id": tid, "ts": round(frame.ts, 3), "frame_index": frame.index,
                              "method": self.method, "value": round(value, 4), "empty": truck.empty,
                              "vehicle_class": truck.vehicle_class, "check_frames": list(truck.check_frames),
                              "scores": [round(v, 4) for v in truck.scores],
                              "box": [round(float(v), 1) for v in truck.box]})
        if not truck.empty:
            return []
        truck.flag = OpenFlag.raise_on(FlagKind.EMPTY_TRUCK, frame, str(tid))
        evidence = EvidenceShot(tuple(truck.box), f"empty? {value:.2f}")
        return [self._event(truck, tid, FlagPhase.START, frame, frame.ts, evidence=evidence)]

    def _details(self, truck: _Truck, reason: str = "") -> dict[str, Any]:
        cfg = self.config
        d: dict[str, Any] = {"method": self.method, "scores": [round(s, 4) for s in truck.scores]}
        if self.classifier is None:
            d |= {"fill": round(float(np.median(truck.scores)), 4), "fill_threshold": cfg.fill_threshold,
                  "travel_axis": cfg.travel_axis, "cab_fraction": cfg.cab_fraction}
        else:
            d |= {"p_empty": round(float(np.mean(truck.scores)), 4), "empty_threshold": cfg.classifier.empty_threshold}  # type: ignore[union-attr]  # set when self.classifier is
        if reason:
            d["reason"] = reason
        return d

    def _event(self, truck: _Truck, tid: int, phase: FlagPhase, frame: Frame, ts: float, reason: str = "",
               evidence: EvidenceShot | None = None) -> FlagChange:
        assert truck.flag is not None
        return truck.flag.change(phase, frame, ts, track_id=tid, vehicle_class=truck.vehicle_class,
                                 box=tuple(truck.box), details=self._details(truck, reason), evidence=evidence)

    def finish(self, frame: Frame | None) -> list[FlagChange]:
        frame = frame or self._last_frame
        out: list[FlagChange] = []
        if frame is not None:
            out = [self._event(t, tid, FlagPhase.END, frame, t.last_seen_ts, "stream_end")
                   for tid, t in self._trucks.items() if t.flag is not None]
        self._trucks.clear()
        return out
