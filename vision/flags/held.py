"""Held vehicles: a tracked vehicle standing (nearly) still in a dwell zone past a threshold.

A ``DwellZone`` keeps, per zone, the *stays*: vehicles standing at one place. A stay is not a
track: trackers lose parked vehicles (missed detections, occlusion by passing traffic, id
switches), so a stay outlives its tracks and is re-associated by position (IoU) and plate.
While the detector misses a standing vehicle, its image patch is compared with the one seen
last (normalised cross-correlation, insensitive to light changes): if it still matches, the
vehicle is still there. A stay ends once its vehicle has been out of sight for
``leave_grace_s``; its flag then ends, dated when the vehicle was last seen.

Example::

    >>> zone = DwellZone(ZoneConfig(id="apron", polygon=[(0, 0), (640, 0), (640, 360), (0, 360)]),
    ...                  HeldConfig(zones=[...], threshold_s=60), fps=10)
    >>> changes = zone.update(ts, tracks, gray)       # per frame
    >>> zone.trigger(tracks)                          # bool mask: tracks held right now
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
import supervision as sv

from gatewatch.events import FlagKind, FlagPhase, PlateRead
from gatewatch.vision.flags.common import (
    Box,
    EvidenceShot,
    FlagChange,
    OpenFlag,
    box_center,
    box_diag,
    box_iou,
    clip_box,
)
from gatewatch.vision.flags.config import HeldConfig, ZoneConfig
from gatewatch.vision.flags.holds import plates_similar
from gatewatch.vision.sources import Frame
from gatewatch.vision.stages import as_box, track_ids, track_plates

PATCH_SIZE = (32, 24)  # (w, h) of the appearance patch
REFRESH_NCC = 0.85  # a new view replaces the reference only when this close to it


def appearance_patch(gray: np.ndarray, box: Box | np.ndarray) -> np.ndarray | None:
    """Zero-mean, unit-norm ``(24, 32)`` float patch of ``box`` in a grey frame (None if flat or empty)."""
    x1, y1, x2, y2 = clip_box(box, gray.shape[1], gray.shape[0])
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    patch = cv2.resize(gray[y1:y2, x1:x2], PATCH_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    patch -= patch.mean()
    norm = float(np.linalg.norm(patch))
    return patch / norm if norm > 1e-3 else None


@dataclass
class Stay:
    """A vehicle standing at one place in a zone."""

    box: np.ndarray
    first_ts: float
    last_seen_ts: float
    last_present_ts: float
    track_ids: list[int] = field(default_factory=list)
    current_track: int | None = None
    classes: Counter[str] = field(default_factory=Counter)
    plate: PlateRead | None = None
    patch: np.ndarray | None = None
    presence: Literal["detected", "appearance", "missing"] = "detected"
    flag: OpenFlag | None = None

    @property
    def vehicle_class(self) -> str | None:
        return self.classes.most_common(1)[0][0] if self.classes else None

    def dwell_s(self) -> float:
        return self.last_present_ts - self.first_ts


@dataclass(frozen=True)
class StayChange:
    """What happened to a stay this frame: its flag should start, update or end."""

    phase: FlagPhase
    stay: Stay
    ts: float
    reason: str = ""


class DwellZone:
    """One dwell zone: per-track position history (bounded deques) and the stays in it."""

    def __init__(self, zone: ZoneConfig, config: HeldConfig, fps: float, update_interval_s: float = 30.0) -> None:
        self.zone = zone
        self.config = config
        self.fps = fps if fps > 0 else 10.0
        self.threshold_s = zone.threshold_s or config.threshold_s
        self.update_interval_s = update_interval_s
        self.polygon = np.asarray(zone.polygon, dtype=np.float32).reshape(-1, 1, 2)
        self._history_len = max(4, math.ceil(config.still_s * self.fps * 3) + 2)
        self._history: dict[int, deque[tuple[float, float, float, float]]] = {}
        self._last_seen: dict[int, float] = {}
        self.stays: list[Stay] = []
        self.flags_started = 0
        self.flags_ended = 0

    def contains(self, tracks: sv.Detections) -> np.ndarray:
        """Bool mask ``(n,)``: box centre inside the polygon and class watched."""
        if len(tracks) == 0:
            return np.zeros(0, dtype=bool)
        centers = (tracks.xyxy[:, :2] + tracks.xyxy[:, 2:]) / 2
        inside = np.array([cv2.pointPolygonTest(self.polygon, (float(x), float(y)), False) >= 0 for x, y in centers])
        names = tracks.data.get("class_name")
        if names is not None:
            inside &= np.isin(np.asarray(names).astype(str), self.config.classes)
        return inside

    def trigger(self, tracks: sv.Detections) -> np.ndarray:
        """Bool mask ``(n,)``: tracks bound to a stay whose flag is open (held right now)."""
        held = {s.current_track for s in self.stays if s.flag is not None and s.current_track is not None}
        if len(tracks) == 0 or tracks.tracker_id is None:
            return np.zeros(len(tracks), dtype=bool)
        return np.isin(tracks.tracker_id, list(held))

    def _still_since(self, tid: int, now: float) -> float | None:
        """Start of the track's current still spell if it has lasted ``still_s``, else None."""
        hist = self._history.get(tid)
        if not hist:
            return None
        _, cx, cy, diag = hist[-1]
        tol = self.config.max_motion * diag
        since = None
        for ts, x, y, _ in reversed(hist):
            if math.hypot(x - cx, y - cy) > tol:
                break
            since = ts
        if since is None or now - since < self.config.still_s - 0.5 / self.fps:
            return None
        return since

    def _matches(self, stay: Stay, box: np.ndarray) -> bool:
        if box_iou(stay.box, box) >= self.config.reassoc_iou:
            return True
        (sx, sy), (bx, by) = box_center(stay.box), box_center(box)
        return math.hypot(sx - bx, sy - by) <= self.config.max_motion * 2 * box_diag(stay.box)

    def update(
        self,
        ts: float,
        tracks: sv.Detections,
        gray: np.ndarray | None = None,
    ) -> list[StayChange]:
        """Feed one frame (stream time ``ts``, grey image for the appearance check); return flag changes.

        A ``plate`` column on ``tracks`` (set by the plate stage) names the vehicles: a stay keeps
        its plate, and a still vehicle with another plate does not take over its place.
        """
        cfg = self.config
        inside = self.contains(tracks)
        ids = track_ids(tracks)
        names = tracks.data.get("class_name")
        plates = track_plates(tracks)
        rows: dict[int, int] = {}
        for i in np.flatnonzero(inside):
            tid = int(ids[i])
            x1, y1, x2, y2 = (float(v) for v in tracks.xyxy[i])
            hist = self._history.setdefault(tid, deque(maxlen=self._history_len))
            hist.append((ts, (x1 + x2) / 2, (y1 + y2) / 2, math.hypot(x2 - x1, y2 - y1)))
            self._last_seen[tid] = ts
            rows[tid] = int(i)
        for tid in [t for t, seen in self._last_seen.items() if ts - seen > max(cfg.leave_grace_s, cfg.still_s)]:
            self._history.pop(tid, None)
            self._last_seen.pop(tid, None)

        matched: set[int] = set()  # indices into self.stays
        bound: set[int] = set()  # track ids used this frame
        # 1. stays keep their track while it stays put
        for k, stay in enumerate(self.stays):
            current = stay.current_track
            if current is None or current not in rows:
                continue
            box = tracks.xyxy[rows[current]]
            if self._matches(stay, box) and self._still_since(current, ts) is not None:
                matched.add(k)
                bound.add(current)
                self._observe(stay, ts, box, current, names, rows[current], gray, plates)
            else:
                stay.current_track = None  # it moves off, or the id switched to a passer-by
        # 2. still, unbound tracks re-associate with a stay, or start one
        for tid, row in rows.items():
            if tid in bound:
                continue
            since = self._still_since(tid, ts)
            if since is None:
                continue
            box = tracks.xyxy[row]
            plate = plates[row] if plates is not None else None
            best, best_iou = None, 0.0
            for k, stay in enumerate(self.stays):
                iou = box_iou(stay.box, box)
                if iou > best_iou and self._matches(stay, box):
                    best, best_iou = k, iou
            if best is not None and best in matched:
                continue  # a second box on a vehicle already seen this frame
            if best is not None:
                stay = self.stays[best]
                if stay.plate is not None and plate is not None and not plates_similar(stay.plate.text, plate.text):
                    continue  # another vehicle took the place: the old stay will lapse
                matched.add(best)
                bound.add(tid)
                self._observe(stay, ts, box, tid, names, row, gray, plates)
                continue
            stay = Stay(box=box.astype(np.float64).copy(), first_ts=since, last_seen_ts=ts, last_present_ts=ts)
            self.stays.append(stay)
            matched.add(len(self.stays) - 1)
            bound.add(tid)
            self._observe(stay, ts, box, tid, names, row, gray, plates)
        # 3. stays nobody saw: still there (appearance), or gone?
        for k, stay in enumerate(self.stays):
            if k in matched:
                continue
            stay.current_track = None
            stay.presence = "missing"
            if (
                cfg.appearance_hold
                and gray is not None
                and stay.patch is not None
                and ts - stay.last_seen_ts <= cfg.max_still_s_without_detection
            ):
                patch = appearance_patch(gray, stay.box)
                if patch is not None and float((patch * stay.patch).sum()) >= cfg.appearance_min_ncc:
                    stay.presence = "appearance"
                    stay.last_present_ts = ts
        return self._changes(ts)

    def forget(self, track_ids: list[int]) -> None:
        """Drop the position history of tracks that ended (stays outlive tracks: they are places)."""
        for tid in track_ids:
            self._history.pop(tid, None)
            self._last_seen.pop(tid, None)
        for stay in self.stays:
            if stay.current_track in track_ids:
                stay.current_track = None

    def _observe(self, stay: Stay, ts: float, box: np.ndarray, tid: int, names: np.ndarray | list[Any] | None, i: int,
                 gray: np.ndarray | None, plates: np.ndarray | None) -> None:
        stay.box = 0.8 * stay.box + 0.2 * box  # smooth detector jitter
        stay.last_seen_ts = stay.last_present_ts = ts
        stay.presence = "detected"
        stay.current_track = tid
        if tid not in stay.track_ids:
            stay.track_ids.append(tid)
        if names is not None:
            stay.classes[str(names[i])] += 1
        if plates is not None and (plate := plates[i]) is not None:
            stay.plate = plate
        patch = appearance_patch(gray, stay.box) if gray is not None else None
        # refresh the reference only from a view that still looks like it: a passer-by
        # covering the vehicle must not become the vehicle's appearance
        refresh = max(REFRESH_NCC, self.config.appearance_min_ncc)
        if patch is not None and (stay.patch is None or float((patch * stay.patch).sum()) >= refresh):
            stay.patch = patch

    def _changes(self, ts: float) -> list[StayChange]:
        out: list[StayChange] = []
        keep: list[Stay] = []
        for stay in self.stays:
            if ts - stay.last_present_ts > self.config.leave_grace_s:
                if stay.flag is not None:
                    self.flags_ended += 1
                    out.append(StayChange(FlagPhase.END, stay, stay.last_present_ts, "left"))
                continue
            keep.append(stay)
            if stay.presence == "missing":
                continue
            if stay.flag is None and stay.dwell_s() >= self.threshold_s:
                self.flags_started += 1
                out.append(StayChange(FlagPhase.START, stay, ts))
            elif stay.flag is not None and ts - stay.flag.last_emit_ts >= self.update_interval_s:
                out.append(StayChange(FlagPhase.UPDATE, stay, ts))
        self.stays = keep
        return out

    def close(self) -> list[StayChange]:
        """End of stream: every open flag ends now."""
        out = [StayChange(FlagPhase.END, s, s.last_present_ts, "stream_end") for s in self.stays if s.flag is not None]
        self.flags_ended += len(out)
        self.stays = []
        return out


class HeldStage:
    """Flag stage raising ``held`` flags for the dwell zones of one camera (returns ``FlagChange``).

    Args:
        config: the ``held`` section.
        fps: the stream's rate (sizes the history deques).
        update_interval_s: seconds between updates of an open flag.

    Plates come with the tracks (their ``plate`` column) when the camera reads plates.
    """

    def __init__(self, config: HeldConfig, fps: float, update_interval_s: float = 30.0) -> None:
        self.config = config
        self.zones = [DwellZone(z, config, fps, update_interval_s) for z in config.zones]
        self._last_frame: Frame | None = None

    def update(self, frame: Frame, tracks: sv.Detections) -> list[FlagChange]:
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY) if self.config.appearance_hold else None
        self._last_frame = frame
        changes: list[FlagChange] = []
        for zone in self.zones:
            for change in zone.update(frame.ts, tracks, gray):
                changes.append(self._change(zone, change, frame))
        return changes

    def forget(self, frame: Frame, track_ids: list[int]) -> list[FlagChange]:
        """Tracks that ended: their histories go; a held flag follows its place, so none ends here."""
        for zone in self.zones:
            zone.forget(track_ids)
        return []

    @property
    def tracks(self) -> int:
        """Tracks with position history held, over all zones."""
        return sum(len(zone._history) + len(zone._last_seen) for zone in self.zones)

    def finish(self, frame: Frame | None) -> list[FlagChange]:
        frame = frame or self._last_frame
        changes: list[FlagChange] = []
        for zone in self.zones:
            for change in zone.close():
                if frame is not None:
                    changes.append(self._change(zone, change, frame))
        return changes

    def _change(self, zone: DwellZone, change: StayChange, frame: Frame) -> FlagChange:
        stay = change.stay
        evidence = None
        if change.phase == FlagPhase.START:
            track = stay.current_track if stay.current_track is not None else (stay.track_ids[0] if stay.track_ids else None)
            stay.flag = OpenFlag.raise_on(FlagKind.HELD, frame, f"{zone.zone.id}/{track}", started_ts=stay.first_ts)
            label = f"held {stay.vehicle_class or ''} {stay.dwell_s():.0f}s".strip()
            evidence = EvidenceShot(as_box(stay.box), label)
        assert stay.flag is not None
        details: dict[str, object] = {
            "threshold_s": zone.threshold_s,
            "still_since_ts": round(stay.first_ts, 3),
            "track_ids": list(stay.track_ids),
            "presence": stay.presence,
        }
        if change.reason:
            details["reason"] = change.reason
        return stay.flag.change(
            change.phase, frame, change.ts, zone=zone.zone.id,
            track_id=stay.current_track if stay.current_track is not None else (stay.track_ids[-1] if stay.track_ids else None),
            vehicle_class=stay.vehicle_class, box=stay.box, plate=stay.plate, details=details, evidence=evidence,
        )
