"""From what the stages decided to events on their way out: the event builder and the publisher.

``EventBuilder`` is the one place that turns stage values (``Crossing``, ``FlagChange``; see
``gatewatch.vision.stages``) into ``CrossingEvent`` / ``FlagEvent``: gate and camera names,
deterministic ids (``gatewatch.vision.ids``), times from the frame, and evidence files (crossing
crops, flag snapshots and crops; see ``gatewatch.vision.evidence``). With a plate stage, a
crossing waits up to ``plate_wait_s`` of stream time, or until its track is out of view, for
the vehicle's plate, and goes out with the plate it has then.

``Publisher`` hands the built events, in order, to the sink, once per frame. Policy for a sink
that fails: the publisher's sink decides, explicitly. ``Publisher([a, b])`` (and ``gatewatch run``,
which publishes through a ``FanoutSink``) logs and counts a failing sink, every other sink still
gets the event and the run goes on (``FanoutSink(on_failure="continue")``); a single sink given
alone is not guarded: its exception ends the run, as any bug would.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gatewatch.config import CameraConfig
from gatewatch.events import CrossingEvent, FlagEvent, FlagKind, FlagPhase
from gatewatch.sinks import Event, EventSink, FanoutSink
from gatewatch.vision.evidence import CrossingCrops, EvidenceWriter
from gatewatch.vision.ids import crossing_id, flag_event_id, flag_id
from gatewatch.vision.sources import Frame
from gatewatch.vision.stages import Crossing, FlagChange, PlateBook, time_at

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    event: CrossingEvent
    due_ts: float


class EventBuilder:
    """Builds one camera's events from stage values; owns evidence files and crossings waiting for plates.

    Args:
        gate, camera: the names every event carries.
        crops: writes crossing crops (``CrossingCrops(None)``: none).
        evidence: writes flag snapshots and crops (``None``: none).
        plates: the tracks' plates (``None``: no plate stage, crossings go out at once).
        plate_wait_s: how long a crossing waits for its vehicle's plate.
    """

    def __init__(
        self,
        gate: str,
        camera: str,
        crops: CrossingCrops | None = None,
        evidence: EvidenceWriter | None = None,
        plates: PlateBook | None = None,
        plate_wait_s: float = 2.0,
    ) -> None:
        self.gate, self.camera = gate, camera
        self.crops = crops or CrossingCrops(None)
        self.evidence = evidence or EvidenceWriter(None)
        self.plates = plates
        self.plate_wait_s = plate_wait_s
        self._pending: list[_Pending] = []
        self._evidence_paths: dict[Any, tuple[str | None, str | None]] = {}  # open flag id -> (snapshot, crop)

    @classmethod
    def for_camera(cls, config: CameraConfig, plates: PlateBook | None = None, plate_wait_s: float = 2.0) -> EventBuilder:
        """The builder a camera config asks for: crops in ``output.crops_dir``, evidence in ``flags.evidence_dir``."""
        crops = CrossingCrops(config.output.crops_dir, config.output.jpeg_quality)
        evidence = None
        if config.flags is not None:
            from gatewatch.vision.flags import flag_evidence

            evidence = flag_evidence(config)
        return cls(config.gate, config.camera, crops, evidence, plates, plate_wait_s)

    @property
    def pending(self) -> int:
        """Crossings waiting for their plate."""
        return len(self._pending)

    def crossing(self, c: Crossing) -> CrossingEvent:
        """The event of a crossing (crop written now, from the crossing's frame), without a plate."""
        frame = c.frame
        # Same file, frame, track and line: same id on every run (a replay is idempotent at the API).
        event_id = crossing_id(self.gate, self.camera, frame.key, c.track_id, c.lane, c.direction)
        return CrossingEvent(
            event_id=event_id, gate=self.gate, camera=self.camera, lane=c.lane, direction=c.direction,
            vehicle_class=c.vehicle_class, track_id=c.track_id, confidence=c.confidence,
            frame_time=frame.time, stream_ts=frame.ts, frame_index=frame.index, box=c.box,
            crop_path=self.crops.save(frame.image, c.box, event_id),
        )

    def crossings(self, frame: Frame | None, new: Iterable[Crossing], in_view: set[int] | None = None) -> list[CrossingEvent]:
        """Crossings ready to go out on ``frame`` (``None``: the stream ended, every waiting one goes).

        Without a plate stage a crossing goes out at once; with one it waits until its plate's
        time is up (``plate_wait_s``) or its track is no longer ``in_view``.
        """
        built = [self.crossing(c) for c in new]
        if self.plates is None:
            return built
        now = frame.ts if frame is not None else float("inf")
        alive = in_view or set()
        self._pending.extend(_Pending(e, e.stream_ts + self.plate_wait_s) for e in built)
        ready = [p for p in self._pending if p.due_ts <= now or p.event.track_id not in alive]
        self._pending = [p for p in self._pending if p not in ready]
        out = []
        for p in ready:
            plate = self.plates.get(p.event.track_id)
            out.append(p.event.model_copy(update={"plate": plate}) if plate is not None else p.event)
        return out

    def flag(self, change: FlagChange) -> FlagEvent:
        """The event of one flag change (a start with an evidence shot writes its snapshot and crop)."""
        open_flag, frame, ts = change.flag, change.frame, change.ts
        fid = flag_id(self.gate, self.camera, FlagKind(open_flag.kind).value, open_flag.raised_on, open_flag.subject)
        if change.evidence is not None:
            self._evidence_paths[fid] = self.evidence.save(frame.image, change.evidence.box, fid, change.evidence.label)
        snapshot, crop = (self._evidence_paths.pop(fid, (None, None)) if change.phase == FlagPhase.END
                          else self._evidence_paths.get(fid, (None, None)))
        return FlagEvent(
            event_id=flag_event_id(fid, FlagPhase(change.phase).value, frame.key),
            flag_id=fid,
            flag_kind=open_flag.kind,
            phase=change.phase,
            gate=self.gate,
            camera=self.camera,
            zone=change.zone,
            track_id=change.track_id,
            vehicle_class=change.vehicle_class,
            started_at=open_flag.started_at,
            frame_time=time_at(frame, ts),
            stream_ts=max(0.0, ts),
            duration_s=max(0.0, ts - open_flag.started_ts),
            box=change.box,
            plate=change.plate,
            snapshot_path=snapshot,
            crop_path=crop,
            details=change.details,
        )

    def flags(self, changes: Iterable[FlagChange]) -> list[FlagEvent]:
        return [self.flag(c) for c in changes]


class Publisher:
    """Hands events to the sink in the order they were built (failures: see the module docstring).

    Args:
        sink: one sink, or several (fanned out with ``on_failure="continue"``).
    """

    def __init__(self, sink: EventSink | Sequence[EventSink]) -> None:
        self.sink: EventSink = FanoutSink(list(sink), on_failure="continue") if isinstance(sink, Sequence) else sink
        self.published = 0

    def publish(self, events: Iterable[Event]) -> None:
        for event in events:
            self.sink.emit(event)
            self.published += 1

    def close(self) -> None:
        self.sink.close()
