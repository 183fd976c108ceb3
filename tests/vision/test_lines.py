"""Gate-line crossing as tables: replay one box per frame, compare what was counted."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

from gatewatch.config import LaneConfig
from gatewatch.vision.lines import GateLine

HORIZONTAL = ((0.0, 100.0), (200.0, 100.0))
HORIZONTAL_REVERSED = ((200.0, 100.0), (0.0, 100.0))
VERTICAL = ((100.0, 0.0), (100.0, 200.0))


def boxes_at(ys, x=100.0, half=10.0):
    """Centre positions along y -> one 20x20 box per frame."""
    return [(x - half, y - half, x + half, y + half) for y in ys]


def replay(lane: LaneConfig, frames, track_id=1, cls="truck"):
    """Feed one box (or None for a missed frame) per frame; return per-frame results."""
    line = GateLine(lane)
    per_frame = []
    for box in frames:
        if box is None:
            dets = sv.Detections.empty()
            dets.tracker_id = np.array([], dtype=int)
            dets.data["class_name"] = np.array([], dtype=str)
        else:
            dets = sv.Detections(
                xyxy=np.array([box], dtype=float),
                confidence=np.array([0.9]),
                class_id=np.array([7]),
                tracker_id=np.array([track_id]),
                data={"class_name": np.array([cls])},
            )
        entry, exit_ = line.trigger(dets)
        per_frame.append("entry" if entry.any() else "exit" if exit_.any() else "")
    return line, per_frame


DOWN = list(range(40, 170, 10))  # centre y 40 .. 160, crosses y=100 going down
UP = DOWN[::-1]

CASES = [
    # id, line, heading, min frames, centre ys (None = missed frame), expected entry, exit, reversals
    ("down-is-entry", HORIZONTAL, "down", 1, DOWN, 1, 0, 0),
    ("up-is-exit", HORIZONTAL, "down", 1, UP, 0, 1, 0),
    ("heading-up-flips", HORIZONTAL, "up", 1, DOWN, 0, 1, 0),
    ("reversed-line-same-meaning", HORIZONTAL_REVERSED, "down", 1, DOWN, 1, 0, 0),
    ("jitter-on-line-not-counted", HORIZONTAL, "down", 2, [60, 80, 95, 104, 96, 103, 97, 105, 95, 80, 60], 0, 0, 0),
    ("jitter-then-cross-counted-once", HORIZONTAL, "down", 2, [80, 95, 104, 96, 105, 97, 110, 120, 130, 140], 1, 0, 0),
    ("approach-and-turn-back", HORIZONTAL, "down", 1, [40, 60, 80, 88, 80, 60, 40], 0, 0, 0),
    ("cross-then-turn-back-counted-once", HORIZONTAL, "down", 1, DOWN + UP, 1, 0, 1),
    ("missed-frames-while-crossing", HORIZONTAL, "down", 2, [60, 80, None, None, 120, 130, 140], 1, 0, 0),
    ("stays-on-one-side", HORIZONTAL, "down", 1, [10, 20, 30, 40, 50], 0, 0, 0),
]


@pytest.mark.parametrize(
    ("line", "heading", "min_frames", "ys", "entries", "exits", "reversals"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_crossing_table(line, heading, min_frames, ys, entries, exits, reversals):
    lane = LaneConfig(id="l1", line=line, entry_heading=heading, min_crossing_frames=min_frames)
    frames = [None if y is None else (90.0, y - 10.0, 110.0, y + 10.0) for y in ys]
    gate_line, per_frame = replay(lane, frames)
    assert gate_line.entry_count == entries
    assert gate_line.exit_count == exits
    assert gate_line.reversals == reversals
    assert per_frame.count("entry") == entries and per_frame.count("exit") == exits


def test_crossing_is_reported_on_the_frame_it_is_confirmed():
    lane = LaneConfig(id="l1", line=HORIZONTAL, entry_heading="down", min_crossing_frames=2)
    _, per_frame = replay(lane, [(90, y - 10, 110, y + 10) for y in (70, 80, 90, 110, 120, 130)])
    # centre at 110 is the first frame past the line, 120 confirms it (2 frames).
    assert per_frame == ["", "", "", "", "entry", ""]


@pytest.mark.parametrize(
    ("x", "heading", "expected"),
    [(50.0, "right", "entry"), (150.0, "left", "entry"), (150.0, "right", "exit")],
)
def test_vertical_line_headings(x, heading, expected):
    lane = LaneConfig(id="v", line=VERTICAL, entry_heading=heading, min_crossing_frames=1)
    xs = range(40, 170, 10) if x < 100 else range(160, 30, -10)
    frames = [(cx - 10, 90, cx + 10, 110) for cx in xs]
    line, per_frame = replay(lane, frames)
    assert [d for d in per_frame if d] == [expected]


def test_outside_segment_extent_not_counted():
    lane = LaneConfig(id="short", line=((0.0, 100.0), (50.0, 100.0)), entry_heading="down", min_crossing_frames=1)
    line, _ = replay(lane, [(140, y - 10, 160, y + 10) for y in DOWN])
    assert line.entry_count == 0


def test_lane_class_filter():
    lane = LaneConfig(id="trucks", line=HORIZONTAL, entry_heading="down", min_crossing_frames=1, classes=["truck"])
    line_car, _ = replay(lane, boxes_at(DOWN), cls="car")
    line_truck, _ = replay(lane, boxes_at(DOWN), cls="truck")
    assert (line_car.entry_count, line_truck.entry_count) == (0, 1)
    assert dict(line_truck.counts) == {("entry", "truck"): 1}


def test_two_tracks_counted_separately_and_by_class():
    lane = LaneConfig(id="l1", line=HORIZONTAL, entry_heading="down", min_crossing_frames=1)
    line = GateLine(lane)
    for y in DOWN:
        dets = sv.Detections(
            xyxy=np.array([[20, y - 10, 40, y + 10], [120, 200 - y - 10, 140, 200 - y + 10]], dtype=float),
            confidence=np.array([0.9, 0.8]),
            class_id=np.array([7, 2]),
            tracker_id=np.array([1, 2]),
            data={"class_name": np.array(["truck", "car"])},
        )
        line.trigger(dets)
    assert dict(line.counts) == {("entry", "truck"): 1, ("exit", "car"): 1}
