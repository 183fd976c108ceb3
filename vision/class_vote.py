"""A track's vehicle class, settled by a vote over its life.

The detector labels each box on its own: a long articulated lorry may be ``truck`` on one frame
and ``bus`` on the next. At the gate one vehicle is one class, so each track keeps the
confidence-weighted count of the classes its detections were given, and the class every stage
sees (``data["class_name"]``, and ``class_id``) is the vote's leader so far. On a tie the class
that led first keeps the lead, so a one-frame flicker never changes a track's class. A track's
votes are forgotten when the tracker lets the track go.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import supervision as sv


class ClassVote:
    """Confidence-weighted class votes per track id; ``settle(tracks)`` writes the voted class."""

    def __init__(self) -> None:
        self._votes: dict[int, dict[str, float]] = {}  # track id -> class name -> summed confidence
        self._leader: dict[int, str] = {}  # track id -> voted class so far
        self._class_ids: dict[str, int] = {}  # class name -> the model's class id, as seen

    def settle(self, tracks: sv.Detections) -> sv.Detections:
        """Add this frame's detections to their tracks' votes; set each row's class to its track's vote."""
        names = tracks.data.get("class_name")
        if len(tracks) == 0 or tracks.tracker_id is None or names is None:
            return tracks
        confidence = tracks.confidence if tracks.confidence is not None else np.ones(len(tracks), np.float32)
        class_ids = tracks.class_id
        voted = np.asarray(names).astype(object)
        for i, track_id in enumerate(tracks.tracker_id.tolist()):
            name = str(names[i])
            if class_ids is not None:
                self._class_ids.setdefault(name, int(class_ids[i]))
            votes = self._votes.setdefault(track_id, {})
            votes[name] = votes.get(name, 0.0) + float(confidence[i])
            leader = self._leader.get(track_id, name)
            if votes[name] > votes.get(leader, 0.0):
                leader = name
            self._leader[track_id] = leader
            voted[i] = leader
        tracks.data["class_name"] = voted.astype(str)
        if class_ids is not None:
            tracks.class_id = np.array([self._class_ids.get(str(n), c) for n, c in zip(voted, class_ids, strict=True)],
                                       dtype=class_ids.dtype)
        return tracks

    def class_of(self, track_id: int) -> str | None:
        """The voted class of a live track (``None`` for a track never seen or forgotten)."""
        return self._leader.get(track_id)

    def forget(self, track_ids: Iterable[int]) -> None:
        """Drop the votes of tracks that ended."""
        for track_id in track_ids:
            self._votes.pop(track_id, None)
            self._leader.pop(track_id, None)

    def clear(self) -> None:
        """End of stream: every track's votes go."""
        self._votes.clear()
        self._leader.clear()

    def __len__(self) -> int:
        """Tracks with votes held."""
        return len(self._votes)
