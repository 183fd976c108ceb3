"""Vehicle tracking with ByteTrack from the ``trackers`` library (Roboflow).

Thin adapter: settings in seconds of stream time, frame timestamps passed through so a
dropped or skipped frame does not distort the motion model, and unconfirmed detections
(``tracker_id == -1``) removed so later stages only see tracks. After each update ``ended``
lists the tracks the tracker let go this frame (not seen for its lost-track time), so every
stage that keeps per-track state can forget them in the same frame.

Each track's class is settled by a vote over its life (``tracker.class_vote``, see
``gatewatch.vision.class_vote``): the ``class_name`` the stages see is the track's, not the frame's.
The votes of a track go when the track ends.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from gatewatch.config import TrackerConfig
from gatewatch.vision.class_vote import ClassVote
from gatewatch.vision.stages import track_ids


class VehicleTracker:
    """``update(detections, ts) -> detections`` with ``tracker_id`` set on every row."""

    def __init__(self, config: TrackerConfig, fps: float) -> None:
        self.config = config
        self.fps = fps
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, round(config.lost_track_s * fps)),
            frame_rate=fps,
            track_activation_threshold=config.activation_confidence,
            minimum_consecutive_frames=config.min_frames,
            minimum_iou_threshold=config.min_iou,
            high_conf_det_threshold=config.high_confidence,
        )
        self._live: set[int] = set()  # ids handed out and still held by the tracker
        self.ended: list[int] = []  # ids the last update let go
        self.votes: ClassVote | None = ClassVote() if config.class_vote else None

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
        return tracked

    def end_all(self) -> list[int]:
        """End of stream: every track still held ends now (their ids, ascending)."""
        ended, self._live, self.ended = sorted(self._live), set(), []
        if self.votes is not None:
            self.votes.clear()
        return ended

    @property
    def live(self) -> int:
        """Tracks handed out and not yet ended."""
        return len(self._live)
