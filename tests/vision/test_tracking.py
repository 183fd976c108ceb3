"""The tracker keeps a lost vehicle for ``tracker.lost_track_s`` seconds of stream time, at any frame rate.

``trackers``' ByteTrack states its lost-track buffer in frames at 30 FPS; ``VehicleTracker`` used to
pass ``lost_track_s * fps`` frames, so at 10 FPS a vehicle hidden for 0.4 s (behind a lorry at the
barrier) came back with a new id and could be counted twice. Boxes are replayed: the tracker sees
no image.
"""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

from gatewatch.config import TrackerConfig
from gatewatch.vision.tracking import VehicleTracker

CAR = (400.0, 300.0, 520.0, 380.0)  # a car waiting at the barrier, frame pixels


def car(confidence: float = 0.9) -> sv.Detections:
    return sv.Detections(
        xyxy=np.array([CAR], dtype=np.float32),
        confidence=np.array([confidence], dtype=np.float32),
        class_id=np.array([2]),
        data={"class_name": np.array(["car"])},
    )


def nothing() -> sv.Detections:
    empty = sv.Detections.empty()
    empty.confidence = np.empty(0, dtype=np.float32)
    return empty


def hide_and_return(
    fps: float, lost_track_s: float, hidden_s: float
) -> tuple[list[int], list[int], list[int]]:
    """Car seen for 1 s, hidden for ``hidden_s``, seen for 1 s: ids before, ids after, ids ended meanwhile."""
    tracker = VehicleTracker(TrackerConfig(lost_track_s=lost_track_s), fps)
    frame, before, after, ended = 0, [], [], []
    for _ in range(round(fps)):
        before += tracker.update(car(), frame / fps).tracker_id.tolist()
        frame += 1
    for _ in range(round(hidden_s * fps)):
        tracker.update(nothing(), frame / fps)
        ended += tracker.ended
        frame += 1
    for _ in range(round(fps)):
        after += tracker.update(car(), frame / fps).tracker_id.tolist()
        ended += tracker.ended
        frame += 1
    return before, after, ended


@pytest.mark.parametrize("fps", [10.0, 25.0, 30.0])
def test_a_vehicle_hidden_for_less_than_lost_track_s_keeps_its_id(fps: float) -> None:
    before, after, ended = hide_and_return(fps, lost_track_s=1.0, hidden_s=0.8)
    assert set(before) == {before[-1]} and before[-1] >= 0
    assert set(after) == {before[-1]}, f"at {fps:g} FPS the car came back as {sorted(set(after))}"
    assert ended == []


@pytest.mark.parametrize("fps", [10.0, 30.0])
def test_a_vehicle_hidden_for_longer_than_lost_track_s_ends(fps: float) -> None:
    before, after, ended = hide_and_return(fps, lost_track_s=0.5, hidden_s=1.0)
    assert ended == [before[-1]]
    assert before[-1] not in after


@pytest.mark.parametrize("fps", [10.0, 12.5, 25.0, 30.0])
def test_max_coast_frames_is_lost_track_s_in_this_streams_frames(fps: float) -> None:
    tracker = VehicleTracker(TrackerConfig(lost_track_s=1.0), fps)
    assert tracker.max_coast_frames == int(fps)
