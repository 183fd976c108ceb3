"""What the stages of a gate camera report, and the one interface they share.

After tracking, every stage takes the frame and its tracks (``supervision.Detections`` with
``tracker_id``; with a plate stage, a ``plate`` column of ``PlateRead | None`` per track) and
returns what happened there as small values, without gate or camera names and without file I/O:

- a gate line returns ``Crossing``: a track crossed a lane's line, with its box and class;
- the plate stage returns ``PlateUpdate``: a track's voted plate changed;
- a flag stage returns ``FlagChange``: a flag (held vehicle, hold-list plate, empty truck)
  starts, updates or ends, with the box, zone, details and the evidence shot to keep.

Every stage has the same lifecycle (``Stage``): ``update`` per frame, ``forget`` when the tracker
lets tracks go (their per-track state goes; a flag may end), ``finish`` at the end of the stream.
``gatewatch.vision.publish.EventBuilder`` turns the values into events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import numpy as np
import supervision as sv

from gatewatch.events import FlagKind, FlagPhase, PlateRead
from gatewatch.vision.sources import Frame

Box = tuple[float, float, float, float]
R = TypeVar("R")


def as_box(xyxy: Iterable[float] | np.ndarray) -> Box:
    """``(x1, y1, x2, y2)`` as plain floats, from a detection row or any four numbers."""
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    return (x1, y1, x2, y2)


class Stage(Protocol[R]):
    """A pipeline stage after tracking: per frame, per ended track, at the end of the stream."""

    def update(self, frame: Frame, tracks: sv.Detections) -> list[R]:
        """This frame's tracks in; what happened on this frame out."""
        ...

    def forget(self, frame: Frame, track_ids: list[int]) -> list[R]:
        """Tracks the tracker let go on ``frame``: drop their state; report what ends with them."""
        ...

    def finish(self, frame: Frame | None) -> list[R]:
        """End of the stream (``frame``: the last one): report what is still open."""
        ...


def time_at(frame: Frame, ts: float) -> datetime:
    """Wall-clock time of stream time ``ts``, derived from the frame's own time (replays exactly)."""
    return frame.time - timedelta(seconds=frame.ts - ts)


@dataclass(frozen=True)
class Crossing:
    """A track crossed a lane's gate line on ``frame`` (counted once per track and lane)."""

    frame: Frame
    track_id: int
    lane: str
    direction: str  # "entry" (import) or "exit" (export)
    box: Box
    vehicle_class: str
    confidence: float


@dataclass(frozen=True)
class PlateUpdate:
    """A track's voted plate changed (``None``: no plate it trusts any more)."""

    track_id: int
    plate: PlateRead | None


@dataclass(frozen=True)
class EvidenceShot:
    """What to keep as a flag's evidence: the vehicle's box on the change's frame and a label."""

    box: Box
    label: str = ""


@dataclass
class OpenFlag:
    """An open flag as its stage keeps it: kind, what it is about, when it started and was last reported.

    Build it with ``OpenFlag.raise_on(...)``: the builder names the flag from ``raised_on`` (the
    key of the frame it was raised on) and ``subject`` (track, zone/track, plate/track), so the
    same flag gets the same id on every replay (see ``gatewatch.vision.ids``).
    """

    kind: FlagKind
    started_ts: float
    started_at: datetime
    subject: str = ""
    raised_on: str = ""
    last_emit_ts: float = 0.0

    @classmethod
    def raise_on(cls, kind: FlagKind, frame: Frame, subject: str, started_ts: float | None = None) -> OpenFlag:
        """A flag raised on ``frame`` for ``subject``; it may have started earlier (``started_ts``)."""
        started_ts = frame.ts if started_ts is None else started_ts
        return cls(FlagKind(kind), started_ts, time_at(frame, started_ts), subject, frame.key)

    def change(
        self,
        phase: FlagPhase,
        frame: Frame,
        ts: float,
        *,
        zone: str | None = None,
        track_id: int | None = None,
        vehicle_class: str | None = None,
        box: Box | np.ndarray | None = None,
        plate: PlateRead | None = None,
        details: dict[str, Any] | None = None,
        evidence: EvidenceShot | None = None,
    ) -> FlagChange:
        """This flag's ``phase`` on ``frame``, dated at stream time ``ts`` (an end may be dated earlier)."""
        self.last_emit_ts = ts
        return FlagChange(
            self, FlagPhase(phase), frame, ts, zone=zone, track_id=track_id, vehicle_class=vehicle_class,
            box=as_box(box) if box is not None else None,
            plate=plate, details=details or {}, evidence=evidence,
        )


@dataclass(frozen=True)
class FlagChange:
    """A flag starts, updates or ends on ``frame`` at stream time ``ts``."""

    flag: OpenFlag
    phase: FlagPhase
    frame: Frame
    ts: float
    zone: str | None = None
    track_id: int | None = None
    vehicle_class: str | None = None
    box: Box | None = None
    plate: PlateRead | None = None
    details: dict[str, Any] = field(default_factory=dict)
    evidence: EvidenceShot | None = None  # a start keeps a snapshot and crop of this box


def track_ids(tracks: sv.Detections) -> np.ndarray:
    """The ``tracker_id`` column of ``tracks``; empty when the rows carry no track ids."""
    return tracks.tracker_id if tracks.tracker_id is not None else np.zeros(0, dtype=int)


def track_plates(tracks: sv.Detections) -> np.ndarray | None:
    """The ``plate`` column of ``tracks`` (``PlateRead | None`` per track), or ``None`` without a plate stage."""
    plates = tracks.data.get("plate")
    return plates if isinstance(plates, np.ndarray) else None


class PlateBook:
    """The latest plate of each live track, as the plate stage reported it (``PlateUpdate``)."""

    def __init__(self) -> None:
        self._plates: dict[int, PlateRead] = {}

    def apply(self, updates: Iterable[PlateUpdate]) -> None:
        for update in updates:
            if update.plate is None:
                self._plates.pop(update.track_id, None)
            else:
                self._plates[update.track_id] = update.plate

    def get(self, track_id: int) -> PlateRead | None:
        return self._plates.get(int(track_id))

    def annotate(self, tracks: sv.Detections) -> None:
        """Set the ``plate`` column of ``tracks`` for the stages after the plate stage."""
        ids: Iterable[int] = tracks.tracker_id if tracks.tracker_id is not None else []
        column = np.empty(len(tracks), dtype=object)
        for k, track_id in enumerate(ids):  # one by one: a PlateRead is iterable, numpy would unpack it
            column[k] = self._plates.get(int(track_id))
        tracks.data["plate"] = column

    def forget(self, track_ids: Iterable[int]) -> None:
        for track_id in track_ids:
            self._plates.pop(int(track_id), None)

    def __len__(self) -> int:
        return len(self._plates)


__all__ = [
    "Box", "Crossing", "EvidenceShot", "FlagChange", "OpenFlag", "PlateBook", "PlateUpdate", "Stage", "time_at",
    "track_plates",
]
