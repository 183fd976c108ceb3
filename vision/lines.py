"""Gate lines: one per lane, with a direction, counting each track at most once.

Built on ``supervision.LineZone`` (which handles anchors, the segment's extent and
jitter on the line through ``minimum_crossing_threshold``). ``GateLine`` adds what a gate
needs on top: which side is entry, a class filter, and "each vehicle once": a track's
first confirmed crossing counts; if it turns back across the line later it is reported as a
reversal and not counted again.

Example::

    >>> line = GateLine(LaneConfig(id="import-1", line=((0, 100), (200, 100)), entry_heading="down"))
    >>> line.update(frame, tracks)                # [Crossing(track_id=7, lane='import-1', direction='entry', ...)]
    >>> entry, exit_ = line.trigger(tracks)       # the same as boolean masks over ``tracks``
    >>> line.counts
    {('entry', 'truck'): 1}
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from typing import Any

import numpy as np
import supervision as sv

from gatewatch.config import HEADING_VECTORS, LaneConfig
from gatewatch.vision.sources import Frame
from gatewatch.vision.stages import Crossing, as_box, track_ids

_ANCHORS = {
    "center": [sv.Position.CENTER],
    "bottom_center": [sv.Position.BOTTOM_CENTER],
    "corners": [sv.Position.TOP_LEFT, sv.Position.TOP_RIGHT, sv.Position.BOTTOM_LEFT, sv.Position.BOTTOM_RIGHT],
}


def _class_of(tracks: sv.Detections, names: np.ndarray | list[Any] | None, i: int | np.integer[Any]) -> str:
    """Row ``i``'s vehicle class: its ``class_name``, else its class id (the detector sets both)."""
    if names is not None:
        return str(names[i])
    assert tracks.class_id is not None, "tracks carry neither class_name nor class_id"
    return str(tracks.class_id[i])


class GateLine:
    """One lane's counting line: a stage (``update`` / ``forget`` / ``finish``) returning ``Crossing``.

    ``trigger(tracks)`` returns ``(entry_mask, exit_mask)``: boolean arrays over ``tracks``
    marking the tracks counted on this frame. ``counts`` maps ``(direction, class)`` to
    totals; ``reversals`` counts tracks that crossed back after being counted.
    """

    def __init__(self, lane: LaneConfig, memory: int = 10_000) -> None:
        self.lane = lane
        (x1, y1), (x2, y2) = lane.line
        self.zone = sv.LineZone(
            start=sv.Point(x1, y1),
            end=sv.Point(x2, y2),
            triggering_anchors=_ANCHORS[lane.anchor],
            minimum_crossing_threshold=lane.min_crossing_frames,
        )
        hx, hy = HEADING_VECTORS[lane.entry_heading]
        # supervision counts "in" for motion from the positive to the negative side of
        # cross(end - start, p - start); entry is "in" when the heading moves that way.
        self.entry_is_in = (x2 - x1) * hy - (y2 - y1) * hx < 0
        self.classes = set(lane.classes) if lane.classes else None
        self._counted: OrderedDict[int, str] = OrderedDict()
        self._memory = memory
        self.counts: Counter[tuple[str, str]] = Counter()
        self.reversals = 0

    @property
    def id(self) -> str:
        return self.lane.id

    def trigger(self, tracks: sv.Detections) -> tuple[np.ndarray, np.ndarray]:
        """Update with this frame's tracks; masks of the tracks counted now as entry / exit."""
        n = len(tracks)
        entry = np.zeros(n, dtype=bool)
        exit_ = np.zeros(n, dtype=bool)
        if n == 0:
            self.zone.trigger(tracks)
            return entry, exit_
        crossed_in, crossed_out = self.zone.trigger(tracks)
        crossed_entry, crossed_exit = (crossed_in, crossed_out) if self.entry_is_in else (crossed_out, crossed_in)
        names = tracks.data.get("class_name")
        ids = track_ids(tracks)  # LineZone counts only rows with a track id
        for i in np.flatnonzero(crossed_entry | crossed_exit):
            track_id = int(ids[i])
            cls = _class_of(tracks, names, i)
            if self.classes is not None and cls not in self.classes:
                continue
            direction = "entry" if crossed_entry[i] else "exit"
            if track_id in self._counted:
                if self._counted[track_id] != direction:
                    self.reversals += 1
                continue
            self._counted[track_id] = direction
            if len(self._counted) > self._memory:
                self._counted.popitem(last=False)
            self.counts[(direction, cls)] += 1
            (entry if direction == "entry" else exit_)[i] = True
        return entry, exit_

    def update(self, frame: Frame, tracks: sv.Detections) -> list[Crossing]:
        """The crossings of this lane counted on ``frame``, in the order of ``tracks``."""
        entry, exit_ = self.trigger(tracks)
        names = tracks.data.get("class_name")
        ids = track_ids(tracks)
        return [
            Crossing(
                frame=frame,
                track_id=int(ids[i]),
                lane=self.id,
                direction="entry" if entry[i] else "exit",
                box=as_box(tracks.xyxy[i]),
                vehicle_class=_class_of(tracks, names, i),
                confidence=float(tracks.confidence[i]) if tracks.confidence is not None else 1.0,
            )
            for i in np.flatnonzero(entry | exit_)
        ]

    def forget(self, frame: Frame, track_ids: list[int]) -> list[Crossing]:
        """Drop what this line keeps about tracks that ended (side history, counted-once mark)."""
        for track_id in track_ids:
            self._counted.pop(track_id, None)
            self.zone.crossing_state_history.pop(track_id, None)
            self.zone._confirmed_crossing_side.pop(track_id, None)
            self.zone._tracker_frames_absent.pop(track_id, None)
        return []

    def finish(self, frame: Frame | None) -> list[Crossing]:
        """End of the stream: a crossing is reported when it happens, nothing is left open."""
        return []

    @property
    def entry_count(self) -> int:
        return sum(v for (d, _), v in self.counts.items() if d == "entry")

    @property
    def exit_count(self) -> int:
        return sum(v for (d, _), v in self.counts.items() if d == "exit")
