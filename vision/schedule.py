"""When the detector runs, and on which part of the frame (``detect.schedule``, ``detect.roi``).

The gate region is the bounding rectangle of the lanes' lines and the dwell zones, padded by
``detect.region_pad_px`` (``gate_region``). With ``detect.roi: auto`` the detector sees only that
rectangle (letterboxed to the model's input, boxes mapped back by the pipeline).

With ``detect.schedule.mode: motion`` a ``DetectionScheduler`` decides per frame whether the
detector runs (as Frigate does: cheap motion first, objects only where it matters). Motion is
found by frame differencing at low resolution inside the gate region (``MotionDetector``: grey,
downscaled to ``motion_width``, blurred, ``absdiff`` against a running background, threshold,
dilate, blobs). The detector runs when:

- it is the first frame, or ``max_interval_frames`` have passed since the last detection;
- a track's anchor point (``lanes.anchor``; the whole box for ``corners``) comes within
  ``line_margin_px``, plus its speed across the line (along the line's normal, measured between
  the last two frames) over the frames a crossing needs, of a gate line: every frame where a
  track may cross is detected, so no crossing is decided on a coasted box;
- something whose motion is not known is about to matter. Each such trigger is gated by its time
  to the nearest gate line or dwell zone, not raised for the whole frame:

  - a track not yet confirmed (it needs consecutive detections to get an id), or a motion blob
    that nothing explains (not on a track's box, and either touching the region's border, a
    vehicle entering, or somewhere the detector did not look at on its last run), once it could
    reach a line or zone within ``lead_frames`` plus the crossing's frames, moving at
    ``max_speed_box_per_s`` (box sizes per second). Farther away it waits: an unconfirmed track
    does not survive a coasted frame, and the vehicle's motion asks again when it comes nearer.
  - a track whose motion is not yet predictable (detected on fewer than 3 frames, its last
    detection off the motion model's prediction, or a coasted step off its measured speed: a new
    track's Kalman speed lags behind and it would coast off its vehicle), once it could reach a
    line or zone within the next frame and the crossing's, at twice the speed its detections
    measured (``max_speed_box_per_s`` until it has two). A far track coasts even if unsteady; it
    is found again by the interval, or by its own motion, before it gets near.

  Dwell zones count as targets so that a moving vehicle passing held ones is detected on every
  frame there and cannot take their tracks (their dwell times stay right).

On the other frames the tracker coasts (``VehicleTracker.coast``: the Kalman prediction of every
live track, no detections), so stationary queues keep their tracks and dwell times.

Example::

    >>> scheduler = DetectionScheduler(config.detect.schedule, config, (1280, 720), max_coast_frames=20, fps=25)
    >>> if scheduler.should_detect(frame.image):
    ...     tracks = tracker.update(detector.predict(frame.image), frame.ts)
    ... else:
    ...     tracks = tracker.coast(frame.ts)
    >>> scheduler.observe(tracks, tracker.unconfirmed_boxes)
"""

from __future__ import annotations

import math
from collections import Counter

import cv2
import numpy as np
import supervision as sv

from gatewatch.config import CameraConfig, Roi, ScheduleConfig
from gatewatch.vision.stages import track_ids

Segment = tuple[tuple[float, float], tuple[float, float]]

#: why the detector ran on a frame (``DetectionScheduler.reasons`` counts them)
REASONS = ("first", "interval", "unconfirmed", "settling", "near_line", "motion")
#: detections a track needs before it may coast
STEADY_DETECTIONS = 3
#: motion this close to a track's box (plus 4 frames at its speed) is that track's
TRACK_REACH_PX = 32.0
#: a settling track may move up to this many times the speed its detections measured
SPEED_SAFETY = 2.0


def gate_region(config: CameraConfig, size: tuple[int, int], pad: int | None = None) -> Roi:
    """The lanes' lines and dwell zones' bounding rectangle, padded, inside a ``size`` (w, h) frame."""
    width, height = size
    pad = config.detect.region_pad_px if pad is None else pad
    points = [p for lane in config.lanes for p in lane.line]
    held = config.flags.held if config.flags is not None else None
    for zone in held.zones if held is not None else ():
        points.extend(zone.polygon)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, y0 = max(0, math.floor(min(xs)) - pad), max(0, math.floor(min(ys)) - pad)
    x1, y1 = min(width, math.ceil(max(xs)) + pad), min(height, math.ceil(max(ys)) + pad)
    return (int(x0), int(y0), int(max(x1, x0 + 1)), int(max(y1, y0 + 1)))


def detection_roi(config: CameraConfig, size: tuple[int, int]) -> Roi | None:
    """The rectangle the detector sees (``detect.roi``), or ``None`` for the whole frame."""
    roi = config.detect.roi
    if roi == "full":
        return None
    if roi == "auto":
        region = gate_region(config, size)
        return None if region == (0, 0, *size) else region
    x0, y0, x1, y1 = roi
    width, height = size
    return (min(x0, width - 1), min(y0, height - 1), min(x1, width), min(y1, height))


def anchor_points(box: np.ndarray, anchor: str) -> np.ndarray:
    """The point(s) of ``box`` that must cross a gate line (``lanes.anchor``), ``(k, 2)``."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if anchor == "center":
        return np.array([[(x1 + x2) / 2, (y1 + y2) / 2]])
    if anchor == "bottom_center":
        return np.array([[(x1 + x2) / 2, y2]])
    return np.array([[x1, y1], [x2, y1], [x1, y2], [x2, y2]])


def anchor_distance(segment: Segment, anchor: str, box: np.ndarray) -> float:
    """Distance from a gate line to the point(s) of ``box`` that must cross it (``lanes.anchor``)."""
    if anchor == "corners":  # the last corner to cross is on or next to the box
        return segment_box_distance(segment, box)
    (x, y), = anchor_points(box, anchor)
    return _point_segment((float(x), float(y)), *segment)


def segment_box_distance(segment: Segment, box: np.ndarray) -> float:
    """Distance in pixels between a line segment and an axis-aligned box ``[x1, y1, x2, y2]`` (0 if they touch)."""
    (ax, ay), (bx, by) = segment
    x1, y1, x2, y2 = (float(v) for v in box)
    if _segment_hits_box(ax, ay, bx, by, x1, y1, x2, y2):
        return 0.0
    corners = ((x1, y1), (x2, y1), (x2, y2), (x1, y2))
    edges = [(corners[i], corners[(i + 1) % 4]) for i in range(4)]
    best = min(_point_segment(c, (ax, ay), (bx, by)) for c in corners)
    for p in ((ax, ay), (bx, by)):
        best = min(best, *(_point_segment(p, e0, e1) for e0, e1 in edges))
    return best


def _point_segment(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _segment_hits_box(ax: float, ay: float, bx: float, by: float, x1: float, y1: float, x2: float, y2: float) -> bool:
    """Liang-Barsky clipping: does the segment a-b enter the box?"""
    t0, t1 = 0.0, 1.0
    dx, dy = bx - ax, by - ay
    for p, q in ((-dx, ax - x1), (dx, x2 - ax), (-dy, ay - y1), (dy, y2 - ay)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


class MotionDetector:
    """Moving blobs inside a region, found on a small grey copy against a running background.

    ``update(frame)`` returns the blobs' boxes ``(N, 4)`` in frame pixels (xyxy); the first frame
    only seeds the background and returns none.
    """

    def __init__(self, config: ScheduleConfig, region: Roi) -> None:
        self.config = config
        self.region = region
        x0, y0, x1, y1 = region
        self.scale = min(1.0, config.motion_width / max(1, x1 - x0))
        self.size = (max(1, round((x1 - x0) * self.scale)), max(1, round((y1 - y0) * self.scale)))
        self.background: np.ndarray | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def update(self, frame: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.region
        small = cv2.resize(frame[y0:y1, x0:x1], self.size, interpolation=cv2.INTER_AREA)
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (3, 3), 0).astype(np.float32)
        if self.background is None:
            self.background = grey
            return np.empty((0, 4), np.float32)
        diff = cv2.absdiff(grey, self.background)
        cv2.accumulateWeighted(grey, self.background, self.config.background_alpha)
        changed = (diff >= self.config.motion_threshold).astype(np.uint8)
        mask = cv2.dilate(changed, self._kernel, iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        boxes = [
            (x / self.scale + x0, y / self.scale + y0, (x + w) / self.scale + x0, (y + h) / self.scale + y0)
            for x, y, w, h, area in stats[1:count].tolist()
            if area >= self.config.min_motion_px
        ]
        return np.array(boxes, np.float32).reshape(-1, 4)


class DetectionScheduler:
    """Per frame: run the detector, or let the tracks coast (see the module docstring).

    Args:
        config: ``detect.schedule``.
        camera: the camera config (gate lines, dwell zones, ``min_crossing_frames``).
        size: frame size (w, h).
        max_coast_frames: the tracker's own limit (a track not detected for longer is let go);
            the interval is kept under it.
        fps: the source's frame rate (``max_speed_box_per_s`` per frame); 25 if not given.
    """

    def __init__(self, config: ScheduleConfig, camera: CameraConfig, size: tuple[int, int],
                 max_coast_frames: int | None = None, fps: float | None = None) -> None:
        self.config = config
        self.lines: list[tuple[Segment, str]] = [((lane.line[0], lane.line[1]), lane.anchor) for lane in camera.lanes]
        self.crossing_frames = max(lane.min_crossing_frames for lane in camera.lanes)
        held = camera.flags.held if camera.flags is not None else None
        # dwell zones: a moving track near held vehicles is kept detected, so it cannot take their tracks
        self.zones = [np.array(zone.polygon, np.float32) for zone in (held.zones if held is not None else ())]
        roi = detection_roi(camera, size)
        self.region = roi if roi is not None else gate_region(camera, size)
        self.motion = MotionDetector(config, self.region)
        self.max_interval = config.max_interval_frames
        if max_coast_frames is not None:
            self.max_interval = max(1, min(self.max_interval, max_coast_frames - 1))
        # an unpredictable track or blob is detected on every frame once it may reach a line within
        # ``lead_frames`` at ``max_speed_box_per_s`` (per frame: box sizes, at the source's rate)
        self.lead_frames = config.lead_frames
        self.box_speed = config.max_speed_box_per_s / (fps if fps and fps > 0 else 25.0)
        self.normals = [_unit_normal(segment) for segment, _ in self.lines]
        self.since_detection: int | None = None  # frames since the last detection (None: none yet)
        self._boxes = np.empty((0, 4), np.float32)  # last frame's tracks
        self._speed = np.empty(0, np.float32)  # their speed, pixels per frame
        self._line_speed = np.empty((0, len(self.lines)), np.float32)  # their anchors' speed across each line
        self._settling = np.empty(0, dtype=bool)  # per track: its motion is not yet predictable
        self._measured = np.empty(0, np.float32)  # per track: its speed between its last two detections (NaN: one)
        self._previous: dict[int, np.ndarray] = {}
        self._detected: dict[int, _Seen] = {}  # per track: its detections' motion
        self._unconfirmed = np.empty((0, 4), np.float32)  # the tracker's tracks not yet confirmed
        self._looked = np.empty((0, 4), np.float32)  # motion blobs of the last detected frame
        x0, y0, x1, y1 = self.region
        edge = 2 / self.motion.scale  # two motion pixels
        self._inner = (x0 + edge, y0 + edge, x1 - edge, y1 - edge)
        self.reasons: Counter[str] = Counter()
        self.frames = 0

    def should_detect(self, frame: np.ndarray) -> bool:
        """Whether the detector runs on this frame (motion is measured on every frame)."""
        self.frames += 1
        blobs = self.motion.update(frame)
        reason = self._reason(blobs)
        if reason is None:
            self.since_detection = (self.since_detection or 0) + 1
            return False
        self.reasons[reason] += 1
        self.since_detection = 0
        self._looked = blobs
        return True

    def _reason(self, blobs: np.ndarray) -> str | None:
        if self.since_detection is None:
            return "first"
        if self.since_detection + 1 >= self.max_interval:
            return "interval"
        if self._soon(self._unconfirmed, self.lead_frames).any():
            return "unconfirmed"
        settling = self._settling
        if self._soon(self._boxes[settling], 1, self._speed[settling], self._measured[settling]).any():
            return "settling"
        if self._near_line().any():
            return "near_line"
        if len(blobs):
            unexplained = blobs[~self._explained(blobs)]
            if self._soon(unexplained, self.lead_frames).any():
                return "motion"
        return None

    def _near_line(self) -> np.ndarray:
        """Per track: its anchor may be on a gate line within the frames a crossing needs (this one, and
        ``min_crossing_frames`` on the new side), at its measured speed across the line plus the margin."""
        near = np.zeros(len(self._boxes), dtype=bool)
        lookahead = 1 + self.crossing_frames
        for i, box in enumerate(self._boxes):
            for j, (line, anchor) in enumerate(self.lines):
                reach = self.config.line_margin_px + float(self._line_speed[i, j]) * lookahead
                if anchor_distance(line, anchor, box) <= reach:
                    near[i] = True
                    break
        return near

    def _soon(self, boxes: np.ndarray, lead: int, speed: np.ndarray | None = None,
              measured: np.ndarray | None = None) -> np.ndarray:
        """Per box (a track or a motion blob whose motion is not settled): may it be on a gate line (or in
        a dwell zone) within ``lead`` frames and those a crossing needs? Its speed is taken as twice what its detections
        ``measured`` (NaN: not yet, then ``max_speed_box_per_s``), or its last frame's ``speed`` if faster."""
        if not len(boxes):
            return np.zeros(0, dtype=bool)
        size = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        bound = size * self.box_speed
        if measured is not None:
            bound = np.where(np.isnan(measured), bound, SPEED_SAFETY * measured)
        if speed is not None:
            bound = np.maximum(bound, speed)
        reach = self.config.line_margin_px + bound * (lead + 1 + self.crossing_frames)
        distance = np.array([self._target_distance(box) for box in boxes])
        return np.asarray(distance <= reach, dtype=bool)

    def _target_distance(self, box: np.ndarray) -> float:
        """Distance from a box to the nearest gate line or dwell zone (0 if it touches one)."""
        best = min(segment_box_distance(line, box) for line, _ in self.lines)
        for zone in self.zones:
            centre = (float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2)
            if cv2.pointPolygonTest(zone, centre, False) >= 0:
                return 0.0
            edges = zip(zone.tolist(), np.roll(zone, -1, axis=0).tolist(), strict=True)
            best = min(best, *(segment_box_distance(((a[0], a[1]), (b[0], b[1])), box) for a, b in edges))
        return best

    def _explained(self, blobs: np.ndarray) -> np.ndarray:
        """Per motion blob: is it on a track (its box grown by its speed and ``TRACK_REACH_PX``), or inside
        the region's border and on motion the last detection already looked at?"""
        grow = (TRACK_REACH_PX + self._speed * 4)[:, None]
        on_track = _overlaps(blobs, self._boxes + np.hstack([-grow, -grow, grow, grow]))
        x0, y0, x1, y1 = self._inner
        inside = (blobs[:, 0] > x0) & (blobs[:, 1] > y0) & (blobs[:, 2] < x1) & (blobs[:, 3] < y1)
        looked = inside & _overlaps(blobs, self._looked)
        return np.asarray(on_track | looked, dtype=bool)

    def observe(self, tracks: sv.Detections, unconfirmed: np.ndarray | None = None) -> None:
        """This frame's tracks (detected or coasted, ``data["coasted"]``), and the boxes of the tracker's
        unconfirmed tracks (``VehicleTracker.unconfirmed_boxes``; ``None``: none)."""
        ids = track_ids(tracks).tolist()
        boxes = tracks.xyxy.astype(np.float32).reshape(-1, 4)
        coasted = tracks.data.get("coasted")
        speed = np.zeros(len(ids), np.float32)
        line_speed = np.zeros((len(ids), len(self.lines)), np.float32)
        settling = np.zeros(len(ids), dtype=bool)
        measured = np.full(len(ids), np.nan, np.float32)
        current: dict[int, np.ndarray] = {}
        detected: dict[int, _Seen] = {}
        for i, track_id in enumerate(ids):
            box = boxes[i]
            current[track_id] = box
            before = self._previous.get(track_id)
            if before is not None:
                speed[i] = float(np.abs(box - before).max())
                for j, ((_, anchor), normal) in enumerate(zip(self.lines, self.normals, strict=True)):
                    line_speed[i, j] = _speed_across(before, box, anchor, normal)
            seen = self._detected.get(track_id)
            if coasted is not None and bool(coasted[i]):
                if seen is None:  # coasting a track never seen detected: keep it detected
                    settling[i] = True
                    continue
                seen.frames_since += 1
                step = box - before if before is not None else seen.velocity
                settling[i] = not _agrees(step, seen.velocity, box)
                detected[track_id] = seen
                continue
            if seen is None:
                seen = _Seen(box)
            else:
                gap = seen.frames_since + 1
                expected = seen.box + seen.velocity * gap
                seen.steady = seen.detections >= 2 and _agrees(box - expected, np.zeros(4, np.float32), box, gap)
                seen.velocity, seen.box, seen.frames_since = (box - seen.box) / gap, box, 0
            seen.detections += 1
            settling[i] = seen.detections < STEADY_DETECTIONS or not seen.steady
            detected[track_id] = seen
        for i, track_id in enumerate(ids):
            seen = detected.get(track_id)
            if seen is not None and seen.detections >= 2:
                measured[i] = float(np.abs(seen.velocity).max())
        self._previous, self._boxes, self._speed, self._detected = current, boxes, speed, detected
        self._line_speed, self._settling, self._measured = line_speed, settling, measured
        self._unconfirmed = (np.empty((0, 4), np.float32) if unconfirmed is None
                             else unconfirmed.astype(np.float32).reshape(-1, 4))

    @property
    def detected(self) -> int:
        """Frames the detector ran on."""
        return sum(self.reasons.values())


class _Seen:
    """A track's motion as its detections measured it."""

    __slots__ = ("box", "detections", "frames_since", "steady", "velocity")

    def __init__(self, box: np.ndarray) -> None:
        self.box = box  # last detected box
        self.velocity = np.zeros(4, np.float32)  # per frame, between its last two detections
        self.detections = 0
        self.frames_since = 0  # coasted frames since the last detection
        self.steady = False  # the last detection was where its motion said


def _agrees(step: np.ndarray, expected: np.ndarray, box: np.ndarray, frames: int = 1) -> bool:
    """A box's move (over ``frames``) is within 1.5 px a frame, or 5 % of the box's size, of what was expected."""
    size = float(max(box[2] - box[0], box[3] - box[1]))
    return float(np.abs(step - expected).max()) <= max(1.5 * frames, 0.05 * size)


def _unit_normal(segment: Segment) -> np.ndarray:
    """The unit normal of a gate line."""
    (ax, ay), (bx, by) = segment
    length = math.hypot(bx - ax, by - ay)
    return np.array([-(by - ay) / length, (bx - ax) / length], np.float32)


def _speed_across(before: np.ndarray, box: np.ndarray, anchor: str, normal: np.ndarray) -> float:
    """Pixels the anchor point(s) of a box moved across a line (along its unit ``normal``) between two frames."""
    steps = anchor_points(box, anchor) - anchor_points(before, anchor)
    return float(np.abs(steps @ normal).max())


def _overlaps(blobs: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Per blob: does it overlap any of ``boxes`` (both ``(N, 4)`` xyxy)?"""
    if not len(boxes) or not len(blobs):
        return np.zeros(len(blobs), dtype=bool)
    overlap = (
        (blobs[:, None, 0] < boxes[None, :, 2]) & (blobs[:, None, 2] > boxes[None, :, 0])
        & (blobs[:, None, 1] < boxes[None, :, 3]) & (blobs[:, None, 3] > boxes[None, :, 1])
    )
    return np.asarray(overlap.any(axis=1), dtype=bool)
