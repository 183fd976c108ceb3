"""The edge pipeline: frames -> detections -> tracks -> gate-line crossings (and flags).

``GatePipeline.process(frame)`` runs one frame through every stage and returns what
happened; ``run(source)`` drives a whole source with a progress line and returns a
``RunSummary``. Stages after tracking share one currency, ``supervision.Detections``
with ``tracker_id`` set. Optional stages plug in by interface:

- a plate stage (``update(image, index, tracks)``, ``plate_for(track_id)``, ``forget(ids)``, ``stats()``):
  crossings then wait up to ``plate_wait_s`` (or until the track is gone) for a settled plate;
- flag stages (``TrackStage``): ``update(frame, tracks) -> list[FlagEvent]``,
  ``forget(frame, track_ids) -> list[FlagEvent]`` and ``finish(frame) -> list[FlagEvent]``
  at the end of the stream.

When the tracker lets a track go, every stage that keeps state per track (lines, plates,
flags) forgets it in the same frame, so memory follows what is in view, not the run's length.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import supervision as sv

from gatewatch.config import CameraConfig
from gatewatch.events import CrossingEvent, FlagEvent, PlateRead
from gatewatch.sinks import EventSink
from gatewatch.vision.detector import Detector
from gatewatch.vision.ids import crossing_id
from gatewatch.vision.lines import GateLine
from gatewatch.vision.sources import Frame, FrameSource, Prefetcher
from gatewatch.vision.tracking import VehicleTracker

log = logging.getLogger(__name__)



def _write_jpeg(path: Path, image: np.ndarray, params: list[int]) -> bool:
    """Write a JPEG whole or not at all (a full disk leaves no truncated crop behind); False on failure."""
    ok, data = cv2.imencode(".jpg", image, params)
    try:
        if not ok:
            raise OSError("JPEG encoding failed")
        path.write_bytes(data.tobytes())
        return True
    except OSError as exc:
        path.unlink(missing_ok=True)
        log.warning("could not write crop %s: %s; the crossing is reported without it", path, exc)
        return False

class PlateStage(Protocol):
    """Reads plates of tracked vehicles (see ``gatewatch.vision.plates``)."""

    def update(self, frame_bgr: np.ndarray, frame_index: int, tracks: sv.Detections) -> None: ...

    def plate_for(self, track_id: int) -> PlateRead | None: ...

    def forget(self, track_ids: Iterable[int]) -> None: ...

    def stats(self) -> dict[str, int]: ...


class TrackStage(Protocol):
    """Watches tracks and raises flags (held vehicles, hold list, empty trucks)."""

    def update(self, frame: Frame, tracks: sv.Detections) -> list[FlagEvent]: ...

    def forget(self, frame: Frame, track_ids: list[int]) -> list[FlagEvent]: ...

    def finish(self, frame: Frame | None) -> list[FlagEvent]: ...


@dataclass
class FrameResult:
    """What one frame produced."""

    frame: Frame
    tracks: sv.Detections
    crossings: list[CrossingEvent]
    flags: list[FlagEvent]
    latency_ms: float


@dataclass
class _PendingCrossing:
    event: CrossingEvent
    due_ts: float


@dataclass
class RunSummary:
    """Totals of a run, printed as a table at the end."""

    gate: str
    camera: str
    frames: int = 0
    corrupt_frames: int = 0
    dropped_frames: int = 0
    source_frames: int = 0  # frames the source delivered
    expected_frames: int | None = None  # frames the file says it holds
    ended_early: bool = False  # the file stopped well before its stated length
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (lane, direction, class)
    flags: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, phase)
    model: dict[str, Any] = field(default_factory=dict)
    crossings_with_plate: int = 0
    plates: dict[str, int] = field(default_factory=dict)  # the plate stage's stats(), when there is one

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def latency(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0

    @property
    def crossings(self) -> int:
        return sum(self.counts.values())

    def lane_totals(self) -> dict[tuple[str, str], int]:
        totals: Counter[tuple[str, str]] = Counter()
        for (lane, direction, _), n in self.counts.items():
            totals[(lane, direction)] += n
        return dict(totals)

    def format_table(self) -> str:
        """Counts by lane, direction and class, then frames and speed."""
        classes = sorted({c for _, _, c in self.counts}) or ["-"]
        rows = sorted({(lane, d) for lane, d, _ in self.counts})
        header = ["lane", "direction", *classes, "total"]
        lines = [header]
        for lane, direction in rows:
            per = [self.counts.get((lane, direction, c), 0) for c in classes]
            lines.append([lane, direction, *map(str, per), str(sum(per))])
        lines.append(["all", "", *(str(sum(v for (_, _, c), v in self.counts.items() if c == k)) for k in classes),
                      str(self.crossings)])
        widths = [max(len(str(r[i])) for r in lines) for i in range(len(header))]
        out = [f"Crossings at {self.gate}/{self.camera}"]
        for i, row in enumerate(lines):
            out.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=False)))
            if i == 0:
                out.append("  ".join("-" * w for w in widths))
        if self.flags:
            out.append("flags: " + ", ".join(f"{k} {p}: {n}" for (k, p), n in sorted(self.flags.items())))
        if self.plates:
            out.append(f"plates: {self.crossings_with_plate} of {self.crossings} crossings with a plate; "
                       + ", ".join(f"{k} {n}" for k, n in self.plates.items()))
        if self.ended_early:
            out.append(f"ended early: {self.source_frames} of {self.expected_frames} frames")
        out.append(
            f"frames {self.frames} (corrupt skipped {self.corrupt_frames}, dropped {self.dropped_frames}) in "
            f"{self.seconds:.1f} s: {self.fps:.1f} FPS, latency p50 {self.latency(50):.1f} ms, p95 {self.latency(95):.1f} ms"
        )
        return "\n".join(out)


class GatePipeline:
    """Detect, track and count one camera's frames.

    Args:
        config: the camera config (gate, camera, lanes, output).
        detector: anything with ``predict(frame) -> sv.Detections``.
        sink: where events go.
        fps: the source's frame rate (sizes the tracker's memory).
        plates: optional plate stage; flag_stages: optional flag stages.
        plate_wait_s: how long a crossing waits for its vehicle's plate to settle.
    """

    def __init__(
        self,
        config: CameraConfig,
        detector: Detector,
        sink: EventSink,
        fps: float,
        plates: PlateStage | None = None,
        flag_stages: Sequence[TrackStage] = (),
        plate_wait_s: float = 2.0,
    ) -> None:
        self.config = config
        self.detector = detector
        self.sink = sink
        self.tracker = VehicleTracker(config.tracker, fps)
        self.lines = [GateLine(lane) for lane in config.lanes]
        self.plates = plates
        self.flag_stages = list(flag_stages)
        self.plate_wait_s = plate_wait_s
        self._pending: list[_PendingCrossing] = []
        self.crops_dir = Path(config.output.crops_dir) if config.output.crops_dir else None
        if self.crops_dir:
            self.crops_dir.mkdir(parents=True, exist_ok=True)
        self._jpeg = [int(cv2.IMWRITE_JPEG_QUALITY), config.output.jpeg_quality]

    def process(self, frame: Frame) -> FrameResult:
        """Run one frame through detection, tracking, lines and the optional stages."""
        start = time.perf_counter()
        detections = self.detector.predict(frame.image)
        tracks = self.tracker.update(detections, frame.ts)
        if self.plates is not None:
            self.plates.update(frame.image, frame.index, tracks)
        crossings: list[CrossingEvent] = []
        for line in self.lines:
            entry, exit_ = line.trigger(tracks)
            for i in np.flatnonzero(entry | exit_):
                crossings.append(self._crossing(frame, tracks, int(i), line.id, "entry" if entry[i] else "exit"))
        flags: list[FlagEvent] = []
        for stage in self.flag_stages:
            flags.extend(stage.update(frame, tracks))
        for event in flags:
            self.sink.emit(event)
        emitted = self._emit_crossings(crossings, frame, tracks)  # ended tracks' crossings go out here
        for event in self._forget(frame, self.tracker.ended):
            self.sink.emit(event)
            flags.append(event)
        return FrameResult(frame, tracks, emitted, flags, (time.perf_counter() - start) * 1000)

    def _forget(self, frame: Frame, ended: list[int]) -> list[FlagEvent]:
        """Every stage drops the state of tracks that ended; flags they held may end now."""
        if not ended:
            return []
        for line in self.lines:
            line.forget(ended)
        if self.plates is not None:
            self.plates.forget(ended)
        flags: list[FlagEvent] = []
        for stage in self.flag_stages:
            flags.extend(stage.forget(frame, ended))
        return flags

    def _crossing(self, frame: Frame, tracks: sv.Detections, i: int, lane: str, direction: str) -> CrossingEvent:
        # Same file, frame, track and line: same id on every run (a replay is idempotent at the API).
        event_id = crossing_id(self.config.gate, self.config.camera, frame.key, int(tracks.tracker_id[i]), lane, direction)
        box = tuple(float(v) for v in tracks.xyxy[i])
        crop_path = None
        if self.crops_dir is not None:
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            crop = frame.image[max(y1, 0) : y2, max(x1, 0) : x2]
            if crop.size:
                path = self.crops_dir / f"{event_id}.jpg"
                crop_path = str(path) if _write_jpeg(path, crop, self._jpeg) else None
        names = tracks.data.get("class_name")
        return CrossingEvent(
            event_id=event_id,
            gate=self.config.gate,
            camera=self.config.camera,
            lane=lane,
            direction=direction,
            vehicle_class=str(names[i]) if names is not None else str(tracks.class_id[i]),
            track_id=int(tracks.tracker_id[i]),
            confidence=float(tracks.confidence[i]) if tracks.confidence is not None else 1.0,
            frame_time=frame.time,
            stream_ts=frame.ts,
            frame_index=frame.index,
            box=box,  # type: ignore[arg-type]
            crop_path=crop_path,
        )

    def _emit_crossings(self, new: list[CrossingEvent], frame: Frame | None, tracks: sv.Detections | None) -> list[CrossingEvent]:
        """Emit crossings now, or (with a plate stage) once their plate settled or the wait ran out."""
        if self.plates is None:
            for event in new:
                self.sink.emit(event)
            return new
        now = frame.ts if frame is not None else float("inf")
        self._pending.extend(_PendingCrossing(e, e.stream_ts + self.plate_wait_s) for e in new)
        alive = set(tracks.tracker_id.tolist()) if tracks is not None and tracks.tracker_id is not None else set()
        ready = [p for p in self._pending if p.due_ts <= now or p.event.track_id not in alive]
        self._pending = [p for p in self._pending if p not in ready]
        emitted = []
        for p in ready:
            plate = self.plates.plate_for(p.event.track_id)
            event = p.event.model_copy(update={"plate": plate}) if plate is not None else p.event
            self.sink.emit(event)
            emitted.append(event)
        return emitted

    def finish(self, last: Frame | None) -> list[CrossingEvent | FlagEvent]:
        """End of stream: emit crossings still waiting for a plate and end open flags."""
        out: list[CrossingEvent | FlagEvent] = list(self._emit_crossings([], None, None)) if self.plates else []
        for stage in self.flag_stages:
            for event in stage.finish(last):
                self.sink.emit(event)
                out.append(event)
        if last is not None:  # every track ends with the stream; their state goes with them
            for event in self._forget(last, self.tracker.end_all()):
                self.sink.emit(event)
                out.append(event)
        return out

    def run(
        self,
        source: FrameSource,
        max_frames: int | None = None,
        progress_every_s: float = 5.0,
        annotate: str | None = None,
        on_frame: Any = None,
    ) -> RunSummary:
        """Process a whole source (decoding on a reader thread) and return the totals."""
        summary = RunSummary(self.config.gate, self.config.camera)
        writer = _Annotator(annotate, source, self.lines) if annotate else None
        reader = Prefetcher(source)
        start = last_log = time.perf_counter()
        last: Frame | None = None
        try:
            for frame in reader:
                result = self.process(frame)
                last = frame
                summary.frames += 1
                summary.latencies_ms.append(result.latency_ms)
                self._tally(summary, result.crossings, result.flags)
                if writer:
                    writer.write(frame, result.tracks)
                if on_frame is not None:
                    on_frame(result)
                now = time.perf_counter()
                if now - last_log >= progress_every_s:
                    last_log = now
                    total = f"/{source.total_frames}" if source.total_frames else ""
                    log.info("frame %d%s, %.1f FPS, crossings %d, corrupt %d", frame.index + 1, total,
                             summary.frames / (now - start), summary.crossings, source.stats.corrupt)
                if max_frames is not None and summary.frames >= max_frames:
                    break  # frames already read ahead are dropped, not processed
        finally:
            source.stop()
            if writer:
                writer.close()
        for event in self.finish(last):
            self._tally(summary, [event] if isinstance(event, CrossingEvent) else [],
                        [event] if isinstance(event, FlagEvent) else [])
        summary.seconds = time.perf_counter() - start
        summary.corrupt_frames = source.stats.corrupt
        summary.dropped_frames = reader.dropped
        summary.source_frames = source.stats.frames
        summary.expected_frames = source.stats.expected_frames
        summary.ended_early = source.stats.ended_early
        if self.plates is not None:
            summary.plates = self.plates.stats()
        return summary

    def _tally(self, summary: RunSummary, crossings: list[CrossingEvent], flags: list[FlagEvent]) -> None:
        for event in crossings:
            summary.counts[(event.lane, str(event.direction), event.vehicle_class)] += 1
            summary.crossings_with_plate += event.plate is not None
        for flag in flags:
            summary.flags[(str(flag.flag_kind), str(flag.phase))] += 1


class _Annotator:
    """Writes frames with boxes, track ids and the gate lines with their counts."""

    def __init__(self, path: str, source: FrameSource, lines: list[GateLine]) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), source.fps or 25.0, source.size)
        self.lines = lines
        scale = max(source.size[1] / 720, 0.35)
        self.boxes = sv.BoxAnnotator(thickness=max(1, round(2 * scale)))
        self.labels = sv.LabelAnnotator(text_scale=0.8 * scale, text_padding=2, text_thickness=1)
        self.text_scale = 0.9 * scale

    def write(self, frame: Frame, tracks: sv.Detections) -> None:
        image = frame.image.copy()
        if len(tracks):
            names = tracks.data.get("class_name", np.array(["?"] * len(tracks)))
            labels = [f"#{t} {n}" for t, n in zip(tracks.tracker_id, names, strict=False)]
            image = self.boxes.annotate(image, tracks)
            image = self.labels.annotate(image, tracks, labels=labels)
        for line in self.lines:
            (x1, y1), (x2, y2) = ((int(x), int(y)) for x, y in line.lane.line)
            cv2.line(image, (x1, y1), (x2, y2), (0, 255, 255), 2, cv2.LINE_AA)
            label = f"{line.id} entry {line.entry_count} exit {line.exit_count}"
            cv2.putText(image, label, (min(x1, x2), max(min(y1, y2) - 6, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                        self.text_scale, (0, 255, 255), 1, cv2.LINE_AA)
        self.writer.write(image)

    def close(self) -> None:
        self.writer.release()
