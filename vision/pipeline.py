"""The edge pipeline: frames -> detections -> tracks -> what the stages decide -> events -> sinks.

``GatePipeline.process(frame)`` runs one frame: detect, track, run the stages, hand what they
decided to the event builder, hand the events to the publisher; ``run(source)`` drives a whole
source with a progress line and returns a ``RunSummary``.

The stages after tracking share one lifecycle (``gatewatch.vision.stages.Stage``: ``update``,
``forget``, ``finish``) and one currency in, ``supervision.Detections`` with ``tracker_id``; each
returns small values (no names, no files):

- gate lines (``GateLine``) -> ``Crossing``;
- the optional plate stage -> ``PlateUpdate``; the latest plate of each track is set on the
  tracks' ``plate`` column for the stages after it, and a crossing waits up to ``plate_wait_s``
  (or until its track is out of view) for its plate;
- flag stages (held vehicles, hold list, empty trucks) -> ``FlagChange``.

Where and when the detector runs is ``detect.roi`` and ``detect.schedule``
(``gatewatch.vision.schedule``): with ``roi`` the detector sees the gate region only and its boxes
are mapped back to the frame; with ``schedule.mode: motion`` frames the scheduler skips are not
detected and the tracks coast (``VehicleTracker.coast``); the plate stage reads detected frames only.

``EventBuilder`` (``gatewatch.vision.publish``) makes the events and writes evidence files;
``Publisher`` feeds the sink. When the tracker lets a track go, every stage forgets it in the
same frame, so memory follows what is in view, not the run's length.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import supervision as sv

from gatewatch.config import CameraConfig, Roi
from gatewatch.events import CrossingEvent, FlagEvent
from gatewatch.sinks import EventSink
from gatewatch.vision.annotate import AnnotatedVideo, GateAnnotator
from gatewatch.vision.detector import Detector
from gatewatch.vision.flags.held import HeldStage
from gatewatch.vision.latency import LatencyHistogram
from gatewatch.vision.lines import GateLine
from gatewatch.vision.publish import EventBuilder, Publisher
from gatewatch.vision.schedule import DetectionScheduler, detection_roi
from gatewatch.vision.sources import Frame, FrameSource, Prefetcher
from gatewatch.vision.stages import Crossing, FlagChange, PlateBook, PlateUpdate, Stage
from gatewatch.vision.tracking import VehicleTracker

log = logging.getLogger(__name__)


class PlateStage(Stage[PlateUpdate], Protocol):
    """Reads plates of tracked vehicles (see ``gatewatch.vision.plates``); ``stats()`` for the summary."""

    def stats(self) -> dict[str, int]: ...


class TrackStage(Stage[FlagChange], Protocol):
    """A flag stage: held vehicles, hold list, empty trucks (see ``gatewatch.vision.flags``)."""


@dataclass
class FrameResult:
    """What one frame produced (the events already handed to the publisher)."""

    frame: Frame
    tracks: sv.Detections
    crossings: list[CrossingEvent]
    flags: list[FlagEvent]
    latency_ms: float
    detected: bool = True  # the detector ran on this frame (else the tracks coasted)
    counted: list[Crossing] = field(default_factory=list)  # tracks counted on this frame (events may wait for a plate)


@dataclass
class RunSummary:
    """Totals of a run, printed as a table at the end."""

    gate: str
    camera: str
    frames: int = 0
    detected_frames: int = 0  # frames the detector ran on (all of them unless detect.schedule skips some)
    corrupt_frames: int = 0
    dropped_frames: int = 0
    source_frames: int = 0  # frames the source delivered
    expected_frames: int | None = None  # frames the file says it holds
    ended_early: bool = False  # the file stopped well before its stated length
    seconds: float = 0.0
    latencies: LatencyHistogram = field(default_factory=LatencyHistogram)  # per frame, in constant memory
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (lane, direction, class)
    flags: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, phase)
    model: dict[str, Any] = field(default_factory=dict)
    crossings_with_plate: int = 0
    plates: dict[str, int] = field(default_factory=dict)  # the plate stage's stats(), when there is one

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def latency(self, q: float) -> float:
        """The ``q``-th percentile of per-frame latency in ms (within 0.5 %; 0 before the first frame)."""
        return self.latencies.percentile(q)

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
            f"frames {self.frames} (detected {self.detected_frames}, corrupt skipped {self.corrupt_frames}, "
            f"dropped {self.dropped_frames}) in "
            f"{self.seconds:.1f} s: {self.fps:.1f} FPS, latency p50 {self.latency(50):.1f} ms, p95 {self.latency(95):.1f} ms"
        )
        return "\n".join(out)


class GatePipeline:
    """Detect, track, decide and publish for one camera's frames.

    Args:
        config: the camera config (gate, camera, lanes, output, flags' evidence folder).
        detector: anything with ``predict(frame) -> sv.Detections``.
        sink: where events go (a ``FanoutSink`` for several; see ``Publisher`` for failures).
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
        self.plate_book = PlateBook() if plates is not None else None
        self.builder = EventBuilder.for_camera(config, self.plate_book, plate_wait_s)
        self.publisher = Publisher(sink)
        self.roi: Roi | None = None  # the rectangle the detector sees, set from the first frame's size
        self.scheduler: DetectionScheduler | None = None  # with detect.schedule.mode 'motion'
        self._size: tuple[int, int] | None = None

    def _setup(self, frame: Frame) -> None:
        """ROI and scheduler for this frame size (the first frame's)."""
        height, width = frame.image.shape[:2]
        self._size = (width, height)
        self.roi = detection_roi(self.config, self._size)
        schedule = self.config.detect.schedule
        if schedule.mode == "motion":
            self.scheduler = DetectionScheduler(schedule, self.config, self._size, self.tracker.max_coast_frames,
                                                self.tracker.fps)

    def detection_input(self, image: np.ndarray) -> np.ndarray:
        """What the detector sees of ``image``: its ROI when set, else the whole frame."""
        if self.roi is None:
            return image
        x0, y0, x1, y1 = self.roi
        return image[y0:y1, x0:x1]

    def to_frame(self, detections: sv.Detections) -> sv.Detections:
        """Boxes found on ``detection_input`` moved back to frame pixels."""
        if self.roi is not None and len(detections):
            x0, y0 = self.roi[:2]
            detections.xyxy = detections.xyxy + np.array([x0, y0, x0, y0], dtype=detections.xyxy.dtype)
        return detections

    def detect(self, image: np.ndarray) -> sv.Detections:
        """The detector on ``image`` (on its ROI only, when set), boxes in frame pixels."""
        return self.to_frame(self.detector.predict(self.detection_input(image)))

    def wants_detection(self, frame: Frame) -> bool:
        """Whether the detector runs on ``frame`` (the motion scheduler may skip it); ask once per frame, in order."""
        if self._size is None:
            self._setup(frame)
        return self.scheduler is None or self.scheduler.should_detect(frame.image)

    def process(self, frame: Frame, detections: sv.Detections | None = None, detect_ms: float = 0.0) -> FrameResult:
        """Run one frame through detection (or coasting), tracking and the stages; publish its events.

        ``detections``: this frame's, already found (``DetectAhead``, ``detect.overlap``), taking
        ``detect_ms``; the frame's latency is then that plus the rest of this call.
        """
        start = time.perf_counter() - detect_ms / 1000
        if detections is None and self.wants_detection(frame):
            detections = self.detect(frame.image)
        return self.complete(frame, detections, start)

    def complete(self, frame: Frame, detections: sv.Detections | None, start: float) -> FrameResult:
        """``process`` after detection: track ``detections`` (``None``: not detected, tracks coast), run the stages.

        A site runner detects several cameras' frames in one batch, then completes each camera's frame
        here; ``start`` is the ``time.perf_counter()`` the frame's latency counts from.
        """
        scheduler = self.scheduler
        detected = detections is not None
        if detections is not None:
            tracks = self.tracker.update(detections, frame.ts)
        else:
            tracks = self.tracker.coast(frame.ts)
        if scheduler is not None:
            scheduler.observe(tracks, self.tracker.unconfirmed_boxes)
        if self.plates is not None and self.plate_book is not None:
            if detected:  # plates are read on detected boxes, not predicted ones
                self.plate_book.apply(self.plates.update(frame, tracks))
            self.plate_book.annotate(tracks)
        crossings = [c for line in self.lines for c in line.update(frame, tracks)]
        changes = [c for stage in self.flag_stages for c in stage.update(frame, tracks)]
        update_flags = self.builder.flags(changes)
        in_view = set(tracks.tracker_id.tolist()) if tracks.tracker_id is not None else set()
        released = self.builder.crossings(frame, crossings, in_view)  # ended tracks' crossings go out here
        ended_flags = self.builder.flags(self._forget(frame, self.tracker.ended))
        self.publisher.publish([*update_flags, *released, *ended_flags])
        return FrameResult(frame, tracks, released, update_flags + ended_flags, (time.perf_counter() - start) * 1000,
                           detected, crossings)  # fmt: skip

    @property
    def overlaps(self) -> bool:
        """Detection runs a frame ahead on its own thread (``detect.overlap``, every frame detected)."""
        return self.config.detect.overlap and self.config.detect.schedule.mode == "every_frame"

    def _forget(self, frame: Frame, ended: list[int]) -> list[FlagChange]:
        """Every stage drops the state of tracks that ended; flags they held may end now."""
        if not ended:
            return []
        for line in self.lines:
            line.forget(frame, ended)
        if self.plates is not None and self.plate_book is not None:
            self.plate_book.apply(self.plates.forget(frame, ended))
            self.plate_book.forget(ended)
        return [c for stage in self.flag_stages for c in stage.forget(frame, ended)]

    def finish(self, last: Frame | None) -> list[CrossingEvent | FlagEvent]:
        """End of stream: crossings still waiting for a plate go out, open flags end, every track ends."""
        for line in self.lines:  # a crossing goes out when it happens: lines have nothing left to say
            line.finish(last)
        if self.plates is not None and self.plate_book is not None:
            self.plate_book.apply(self.plates.finish(last))
        out: list[CrossingEvent | FlagEvent] = list(self.builder.crossings(None, []))
        for stage in self.flag_stages:
            out.extend(self.builder.flags(stage.finish(last)))
        if last is not None:  # every track ends with the stream; their state goes with them
            out.extend(self.builder.flags(self._forget(last, self.tracker.end_all())))
        self.publisher.publish(out)
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
        writer = self._annotated_video(annotate, source) if annotate else None
        reader = Prefetcher(source)
        ahead = DetectAhead(self, reader, threads=self.config.detect.overlap_threads) if self.overlaps else None
        start = last_log = time.perf_counter()
        last: Frame | None = None
        try:
            for frame, detections, detect_ms in ahead if ahead is not None else ((f, None, 0.0) for f in reader):
                result = self.process(frame, detections, detect_ms)
                last = frame
                self.record(summary, result)
                if writer:
                    writer.write(frame, result.tracks, result.counted)
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
            if ahead is not None:
                ahead.stop()  # it stops taking frames before the reader is closed under it
            reader.close()  # stops the source and waits until the reader thread has left it
            if ahead is not None:
                ahead.close()
            if writer:
                writer.close()
        self.close_summary(summary, last, source, reader)
        summary.seconds = time.perf_counter() - start
        return summary

    def record(self, summary: RunSummary, result: FrameResult) -> None:
        """Add one processed frame to ``summary``."""
        summary.frames += 1
        summary.detected_frames += result.detected
        summary.latencies.add(result.latency_ms)
        self._tally(summary, result.crossings, result.flags)

    def close_summary(self, summary: RunSummary, last: Frame | None, source: FrameSource, reader: Prefetcher) -> None:
        """End of stream (``finish``) tallied into ``summary``, with the source's and reader's counts."""
        for event in self.finish(last):
            self._tally(summary, [event] if isinstance(event, CrossingEvent) else [],
                        [event] if isinstance(event, FlagEvent) else [])
        summary.corrupt_frames = source.stats.corrupt
        summary.dropped_frames = reader.dropped
        summary.source_frames = source.stats.frames
        summary.expected_frames = source.stats.expected_frames
        summary.ended_early = source.stats.ended_early
        if self.plates is not None:
            summary.plates = self.plates.stats()

    def _annotated_video(self, path: str, source: FrameSource) -> AnnotatedVideo:
        zones = [zone for stage in self.flag_stages if isinstance(stage, HeldStage) for zone in stage.zones]
        return AnnotatedVideo(path, source, GateAnnotator(source.size, self.lines, zones))

    def _tally(self, summary: RunSummary, crossings: list[CrossingEvent], flags: list[FlagEvent]) -> None:
        for event in crossings:
            summary.counts[(event.lane, str(event.direction), event.vehicle_class)] += 1
            summary.crossings_with_plate += event.plate is not None
        for flag in flags:
            summary.flags[(str(flag.flag_kind), str(flag.phase))] += 1


class DetectAhead:
    """Detects the frames ahead on their own threads while the caller tracks and publishes frame t.

    onnxruntime and OpenCV release the GIL, so the letterbox and the model run beside the
    tracker, the stages and the sinks. One thread reads the frames and hands each to a pool of
    ``threads`` (``detect.overlap_threads``): that many frames are in the model at once, each on
    its own thread (an onnxruntime session runs concurrent calls; with one intra-op thread each
    call computes on its caller's thread), so a one-thread session uses every core without
    intra-op synchronisation. One FIFO keeps the
    frames in order: the caller gets ``(frame, detections, detect_ms)`` exactly as the source
    gave the frames, so tracks and counts are those of the plain loop. Only for every-frame
    detection: the motion scheduler decides from the last frame's tracks, which a frame ahead
    does not have yet.
    """

    _END = object()

    def __init__(self, pipeline: GatePipeline, frames: Iterable[Frame], depth: int = 2, threads: int = 1) -> None:
        self.pipeline = pipeline
        self.frames = frames
        self.threads = threads
        self.queue: queue.Queue[object] = queue.Queue(maxsize=max(depth, threads + 1))
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="detect-ahead", daemon=True)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="detect-ahead")
        self._in_flight: set[Future[tuple[sv.Detections, float]]] = set()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _detect(self, frame: Frame) -> tuple[sv.Detections, float]:
        t0 = time.perf_counter()
        return self.pipeline.detect(frame.image), (time.perf_counter() - t0) * 1000

    def _run(self) -> None:
        pipeline = self.pipeline
        try:
            for frame in self.frames:
                if self._stop.is_set():
                    return
                if pipeline._size is None:
                    pipeline._setup(frame)
                job = self._pool.submit(self._detect, frame)  # this thread only reads and hands out frames
                self._in_flight.add(job)
                job.add_done_callback(self._in_flight.discard)
                if not self._put((frame, job)):
                    return
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
        finally:
            self._put(self._END)

    def __iter__(self) -> Iterator[tuple[Frame, sv.Detections, float]]:
        self._thread.start()
        while True:
            item = self.queue.get()
            if item is self._END:
                break
            frame: Frame = item[0]  # type: ignore[index]
            job: Future[tuple[sv.Detections, float]] = item[1]  # type: ignore[index]
            detections, detect_ms = job.result()
            yield frame, detections, detect_ms
        self._thread.join(timeout=5)
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Take no further frame (a run cut short); frames already detected are dropped."""
        self._stop.set()

    def close(self) -> None:
        """Stop and wait for the detection thread to leave."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)  # frames not started are dropped
        _, left = wait(list(self._in_flight), timeout=5)  # a model call under way gets 5 s
        if left:
            log.warning("%d detection(s) still running 5 s after the run ended; left to finish", len(left))
