"""Vehicle tracking with ByteTrack from the ``trackers`` library (Roboflow).

Thin adapter: settings in seconds of stream time, frame timestamps passed through so a
dropped or skipped frame does not distort the motion model, and unconfirmed detections
(``tracker_id == -1``) removed so later stages only see tracks.
"""

from __future__ import annotations

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from gatewatch.config import TrackerConfig


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

    def update(self, detections: sv.Detections, ts: float) -> sv.Detections:
        """Associate this frame's detections with tracks; ``ts`` in seconds of stream time."""
        tracked = self._tracker.update(detections, timestamp=ts)
        if tracked.tracker_id is None or len(tracked) == 0:
            empty = sv.Detections.empty()
            empty.tracker_id = np.array([], dtype=int)
            empty.data["class_name"] = np.array([], dtype=str)
            return empty
        return tracked[tracked.tracker_id >= 0]
