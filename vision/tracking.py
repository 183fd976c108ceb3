"""Vehicle tracking with ByteTrack from the ``trackers`` library (Roboflow).

Thin adapter: settings in seconds of stream time, frame timestamps passed through so a
dropped or skipped frame does not distort the motion model, and unconfirmed detections
(``tracker_id == -1``) removed so later stages only see tracks. After each update ``ended``
lists the tracks the tracker let go this frame (not seen for its lost-track time), so every
stage that keeps per-track state can forget them in the same frame.

Each track's class is settled by a vote over its life (``tracker.class_vote``, see
``gatewatch.vision.class_vote``): the ``class_name`` the stages see is the track's, not the frame's.
The votes of a track go when the track ends.

On a frame the detector skips (``detect.schedule``), ``coast(ts)`` advances the tracker without
detections: each track shown on the last frame moves on its Kalman prediction and keeps its id,
class and confidence (``data["coasted"]`` is true on such rows); a track ends only when it has
gone undetected for its lost-track time, as on any frame.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from gatewatch.config import TrackerConfig
from gatewatch.vision.class_vote import ClassVote
from gatewatch.vision.stages import track_ids

TRACKER_REFERENCE_FPS = 30.0  # ``trackers``' ByteTrack states its lost-track buffer in frames at this rate


class VehicleTracker:
    """``update(detections, ts) -> detections`` with ``tracker_id`` set on every row."""

    def __init__(self, config: TrackerConfig, fps: float) -> None:
        self.config = config
        self.fps = fps
        self._tracker = ByteTrackTracker(
            # ``trackers`` counts the buffer in frames at 30 FPS whatever the stream's rate: with
            # timestamps a lost track is kept ``lost_track_buffer / 30`` seconds (and, on frame
            # counts, ``buffer * frame_rate / 30`` frames). So the seconds go in at 30 per second.
            lost_track_buffer=lost_track_buffer(config.lost_track_s),
            frame_rate=fps,
            track_activation_threshold=config.activation_confidence,
            minimum_consecutive_frames=config.min_frames,
            minimum_iou_threshold=config.min_iou,
            high_conf_det_threshold=config.high_confidence,
        )
        self._live: set[int] = set()  # ids handed out and still held by the tracker
        self.ended: list[int] = []  # ids the last update let go
        self.votes: ClassVote | None = ClassVote() if config.class_vote else None
        self._shown = _no_detections()  # the last frame's tracks, what a coasted frame moves on
        self._shown.tracker_id = np.array([], dtype=int)

    def _held_ids(self) -> set[int]:
        return {int(t.tracker_id) for t in self._tracker.tracks if int(t.tracker_id) >= 0}

    def update(self, detections: sv.Detections, ts: float) -> sv.Detections:
        """Associate this frame's detections with tracks; ``ts`` in seconds of stream time."""
        tracked = self._tracker.update(detections, timestamp=ts)
        held = self._held_ids()
        if tracked.tracker_id is None or len(tracked) == 0:
            tracked = sv.Detections.empty()
            tracked.tracker_id = np.array([], dtype=int)
            tracked.data["class_name"] = np.array([], dtype=str)
        else:
            # a row mask selects rows; supervision types every kind of index's result as one union
            tracked = cast(sv.Detections, tracked[tracked.tracker_id >= 0])
        seen = {int(t) for t in track_ids(tracked)}
        self.ended = sorted(self._live - held - seen)
        self._live = (self._live | seen) - set(self.ended)
        if self.votes is not None:
            self.votes.forget(self.ended)
            tracked = self.votes.settle(tracked)
        tracked.data["coasted"] = np.zeros(len(tracked), dtype=bool)
        self._shown = tracked
        return tracked

    def coast(self, ts: float) -> sv.Detections:
        """A frame without detections: the last frame's tracks, moved on their motion model.

        The tracker predicts and ages its tracks as on a frame where nothing was detected; those
        still held come back at their predicted boxes, with their ids, classes and last
        confidence, ``data["coasted"]`` true. Unconfirmed tracks do not survive a coasted frame
        (the scheduler detects while one is near a gate line, see ``unconfirmed_boxes``).
        """
        self._tracker.update(_no_detections(), timestamp=ts)
        predicted = {int(t.tracker_id): t.get_state_bbox() for t in self._tracker.tracks if int(t.tracker_id) >= 0}
        self.ended = sorted(self._live - set(predicted))
        self._live -= set(self.ended)
        if self.votes is not None:
            self.votes.forget(self.ended)
        shown = self._shown
        keep = np.array([int(t) in predicted for t in track_ids(shown)], dtype=bool)
        # a row mask selects rows; supervision types every kind of index's result as one union
        coasted = cast(sv.Detections, shown[keep]) if len(shown) else shown
        if len(coasted):
            coasted.xyxy = np.array([predicted[int(t)] for t in track_ids(coasted)], dtype=np.float32).reshape(-1, 4)
        coasted.data["coasted"] = np.ones(len(coasted), dtype=bool)
        self._shown = coasted
        return coasted

    @property
    def unconfirmed_boxes(self) -> np.ndarray:
        """Where the tracker's unconfirmed tracks are (``(N, 4)`` xyxy, their motion model's boxes)."""
        boxes = [t.get_state_bbox() for t in self._tracker.tracks if int(t.tracker_id) < 0]
        return np.array(boxes, dtype=np.float32).reshape(-1, 4)

    @property
    def max_coast_frames(self) -> int:
        """Frames a track may go undetected before the tracker lets it go."""
        return max(1, math.floor(self._tracker.maximum_time_without_update * self.fps))

    def end_all(self) -> list[int]:
        """End of stream: every track still held ends now (their ids, ascending)."""
        ended, self._live, self.ended = sorted(self._live), set(), []
        self._shown = _no_detections()
        self._shown.tracker_id = np.array([], dtype=int)
        if self.votes is not None:
            self.votes.clear()
        return ended

    @property
    def live(self) -> int:
        """Tracks handed out and not yet ended."""
        return len(self._live)


def lost_track_buffer(lost_track_s: float) -> int:
    """``lost_track_s`` as ByteTrack's ``lost_track_buffer``: frames at its reference 30 FPS."""
    return max(1, round(lost_track_s * TRACKER_REFERENCE_FPS))


def _no_detections() -> sv.Detections:
    empty = sv.Detections.empty()
    empty.confidence = np.empty(0, dtype=np.float32)
    return empty
