"""Several cameras of a gate in one process: one decode thread each, one shared detector, batched inference.

``run_site(cameras, ...)`` opens every camera's source, sink and ``GatePipeline`` (each keeps its own
tracker, lines, stages, scheduler and event stream) and one ``OnnxModel`` per distinct model file and
session settings, shared by the cameras that name it. Each round the loop takes the next frame of every
camera that has one ready; the frames their pipelines want detected (``GatePipeline.wants_detection``:
with ``schedule.mode: motion`` only some) go through ``predict_batch`` per shared model: one inference
call when the model's batch dimension is dynamic, one call per frame on the same session otherwise;
then each camera's frame is tracked and published (``GatePipeline.complete``).

``workers`` > 1 splits the cameras round-robin over that many such loops, each on its own thread with
its own sessions: on a small CPU two loops with a one-thread session each keep both cores busy
(inference of one loop runs beside the letterbox, tracking and publishing of the other), which one
loop with a two-thread session does not. Detection ``detect.overlap`` is for single-camera runs only.

Isolation: a camera whose source fails to open, raises mid-stream, or gives no frame for ``stall_s``
is reported (``CameraRun.state``) and left behind, its sinks flushed and closed; the others go on.
So is a camera whose frame fails in the detector (a failed batch is retried frame by frame), its
pipeline or its annotated video. A file that ends simply finishes. SIGTERM / SIGINT stop every
camera cleanly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import supervision as sv

from gatewatch.config import BatchConfig, CameraConfig
from gatewatch.models.onnx import OnnxModel, SessionTuning
from gatewatch.sinks import FanoutSink
from gatewatch.vision.annotate import AnnotatedVideo
from gatewatch.vision.detector import YoloDetector, predict_batch
from gatewatch.vision.latency import peak_rss_mb
from gatewatch.vision.pipeline import FrameResult, GatePipeline, RunSummary
from gatewatch.vision.runner import (
    build_detector,
    build_flag_stages,
    build_plate_stage,
    build_sinks,
    check_lanes,
    model_settings,
    on_stop_signals,
)
from gatewatch.vision.sources import Frame, FrameSource, Prefetcher, open_source

log = logging.getLogger(__name__)

ModelKey = tuple[str, tuple[str, ...] | str, int, SessionTuning]  # resolved file, providers, threads, tuning


@dataclass
class CameraRun:
    """One camera of a site run: its pipeline and where it stands (``running``, ``finished``, ``stalled``, ``failed``)."""

    config: CameraConfig
    summary: RunSummary
    state: str = "running"
    reason: str = ""  # why it stalled or failed
    source: FrameSource | None = None
    reader: Prefetcher | None = None
    pipeline: GatePipeline | None = None
    detector: YoloDetector | None = None
    model_key: ModelKey | None = None
    sink: FanoutSink | None = None
    writer: AnnotatedVideo | None = None
    last: Frame | None = None
    last_frame_at: float = 0.0  # time.monotonic() of its latest frame (or of the start)
    started: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.config.gate}/{self.config.camera}"


@dataclass
class SiteSummary:
    """Per-camera summaries and the site's totals."""

    cameras: list[CameraRun] = field(default_factory=list)
    seconds: float = 0.0
    batches: int = 0  # detector calls (a batch of one frame counts too)
    batched_frames: int = 0  # frames those calls detected
    rounds: int = 0  # loop rounds that processed frames (one frame per camera at most)
    peak_rss_mb: float = 0.0
    models: list[dict[str, object]] = field(default_factory=list)
    workers: int = 1  # detection loops (threads), each with its own sessions and share of the cameras

    @property
    def frames(self) -> int:
        return sum(c.summary.frames for c in self.cameras)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def mean_batch(self) -> float:
        return self.batched_frames / self.batches if self.batches else 0.0

    @property
    def failed(self) -> list[CameraRun]:
        """Cameras that failed or stalled."""
        return [c for c in self.cameras if c.state in ("failed", "stalled")]

    def format_table(self) -> str:
        """Each camera's table (with its state when it did not finish), then the site line."""
        out: list[str] = []
        for camera in self.cameras:
            out.append(camera.summary.format_table())
            if camera.state != "finished":
                out.append(f"camera {camera.state}: {camera.reason}")
            out.append("")
        out.append(
            f"site: {len(self.cameras)} cameras ({len(self.failed)} failed or stalled)"
            f"{f', {self.workers} workers' if self.workers > 1 else ''}, frames {self.frames} in "
            f"{self.seconds:.1f} s: {self.fps:.1f} FPS, {self.frames / max(self.rounds, 1):.2f} frames per round, "
            f"{self.batches} detector calls, mean batch {self.mean_batch:.2f}, peak RSS {self.peak_rss_mb:.0f} MB"
        )
        return "\n".join(out)


def model_key(config: CameraConfig, frame_size: tuple[int, int] | None = None) -> ModelKey:
    """What makes two cameras' detector sessions the same: the file that runs (``model.imgsz: auto`` picks it
    from the camera's ``frame_size``) and the session settings."""
    path, tuning = model_settings(config, frame_size)
    providers = (
        config.model.providers if isinstance(config.model.providers, str) else tuple(config.model.providers)
    )
    return (str(path.resolve()), providers, config.model.threads, tuning)


class SiteRunner:
    """Runs several cameras; build with the camera configs, then ``run()`` once."""

    def __init__(
        self,
        cameras: Sequence[CameraConfig],
        batch: BatchConfig | None = None,
        stall_s: float = 5.0,
        max_frames: int | None = None,
        progress_every_s: float = 5.0,
        source_opener: Callable[[CameraConfig], FrameSource] | None = None,
        on_frame: Callable[[CameraRun, FrameResult], None] | None = None,
    ) -> None:
        self.on_frame = on_frame  # called after each camera's frame (benchmarks measure lag here)
        self.batch = batch or BatchConfig()
        self.stall_s = stall_s
        self.max_frames = max_frames
        self.progress_every_s = progress_every_s
        self.open_source = source_opener or (lambda config: open_source(config.source))
        self.models: dict[ModelKey, OnnxModel] = {}
        self.summary = SiteSummary(cameras=[CameraRun(c, RunSummary(c.gate, c.camera)) for c in cameras])
        self.frame_ready = threading.Event()
        self.stopping = threading.Event()
        self.close_grace_s = 30.0  # at the end, the wait for every reader still running, all together

    # -- setup -------------------------------------------------------------------------------------

    def _model(self, config: CameraConfig, frame_size: tuple[int, int]) -> tuple[OnnxModel, ModelKey]:
        key = model_key(config, frame_size)
        if key not in self.models:
            self.models[key] = OnnxModel(
                key[0], providers=config.model.providers, threads=config.model.threads, tuning=key[3]
            )
        return self.models[key], key

    def _open(self, camera: CameraRun) -> None:
        """Source, shared model, detector, stages, sinks and pipeline of one camera."""
        config = camera.config
        camera.source = source = self.open_source(config)
        check_lanes(config, source)
        model, camera.model_key = self._model(config, source.size)
        camera.detector = detector = build_detector(config, model)
        if config.detect.overlap:
            log.warning("camera %s: detect.overlap is for single-camera runs; in a site the loops detect "
                        "(set workers to use more cores)", camera.name)
        plate = build_plate_stage(config)
        flag_stages = build_flag_stages(config, source.fps, source.size, reads_plates=plate is not None)
        camera.sink = FanoutSink(build_sinks(config))
        camera.pipeline = pipeline = GatePipeline(
            config,
            detector,
            camera.sink,
            fps=source.fps,
            plates=plate[0] if plate else None,
            plate_wait_s=plate[1] if plate else 2.0,
            flag_stages=flag_stages,
        )
        if config.output.annotate:
            camera.writer = pipeline._annotated_video(config.output.annotate, source)
        camera.reader = Prefetcher(source, notify=self.frame_ready)

    # -- the loop ----------------------------------------------------------------------------------

    def run(self) -> SiteSummary:
        """Run every camera until its source ends, it fails or stalls, or a signal stops the site."""
        start = last_log = time.perf_counter()
        try:
            with on_stop_signals(self.stop, "finishing every camera"):  # also while cameras open
                for camera in self.summary.cameras:
                    if self.stopping.is_set():
                        self._finish(camera, "finished", "stopped before it started")
                        continue
                    try:
                        self._open(camera)
                    except Exception as exc:  # this camera only: a bad path, a dead stream, lines off its frame
                        self._leave(camera, "failed", f"could not start: {exc}")
                for camera in self._running():
                    assert camera.reader is not None
                    camera.started = camera.last_frame_at = time.monotonic()
                    camera.reader.start()
                while self._running() and not self.stopping.is_set():
                    self.frame_ready.clear()
                    ready = self._collect()
                    if not ready:
                        self.frame_ready.wait(0.05)
                        continue
                    self._process(ready)
                    now = time.perf_counter()
                    if now - last_log >= self.progress_every_s:
                        last_log = now
                        log.info(
                            "site: %d frames, %.1f FPS, mean batch %.2f, cameras running %d",
                            self.summary.frames,
                            self.summary.frames / (now - start),
                            self.summary.mean_batch,
                            len(self._running()),
                        )
        finally:
            # One grace for all the readers still running: a camera hung inside its decoder is waited
            # for at most ``close_grace_s`` in all, not that long once per camera (systemd's stop timeout).
            deadline = time.monotonic() + self.close_grace_s
            self.stop()  # every source stops at once, so every reader winds down under the one deadline
            for camera in self._running():
                self._finish(camera, "finished", close_timeout_s=max(0.2, deadline - time.monotonic()))
            self.summary.seconds = time.perf_counter() - start
            self.summary.peak_rss_mb = peak_rss_mb()
            self.summary.models = [m.describe() for m in self.models.values()]
        return self.summary

    def _running(self) -> list[CameraRun]:
        return [c for c in self.summary.cameras if c.state == "running"]

    def _collect(self) -> list[tuple[CameraRun, Frame]]:
        """The next frame of every running camera that has one; ended, failed and stalled cameras leave."""
        ready: list[tuple[CameraRun, Frame]] = []
        now = time.monotonic()
        for camera in self._running():
            assert camera.reader is not None
            try:
                frame = camera.reader.poll()
            except Exception as exc:  # the source raised on its reader thread: this camera only
                self._leave(camera, "failed", f"source error: {exc}")
                continue
            if frame is not None:
                camera.last_frame_at = now
                ready.append((camera, frame))
            elif camera.reader.ended:
                self._finish(camera, "finished")
            elif now - camera.last_frame_at > self.stall_s:
                self._leave(camera, "stalled", f"no frame for {now - camera.last_frame_at:.1f} s")
        wanted = len(self._running())
        if ready and self.batch.wait_ms > 0 and len(ready) < wanted:
            deadline = time.monotonic() + self.batch.wait_ms / 1000
            waiting = [c for c in self._running() if all(c is not r for r, _ in ready)]
            while waiting and time.monotonic() < deadline:
                self.frame_ready.wait(max(0.0, deadline - time.monotonic()))
                self.frame_ready.clear()
                for camera in list(waiting):
                    assert camera.reader is not None
                    try:
                        frame = camera.reader.poll()
                    except Exception as exc:
                        self._leave(camera, "failed", f"source error: {exc}")
                        waiting.remove(camera)
                        continue
                    if frame is not None:
                        camera.last_frame_at = time.monotonic()
                        ready.append((camera, frame))
                        waiting.remove(camera)
        return ready

    def _process(self, ready: list[tuple[CameraRun, Frame]]) -> None:
        """Detect the frames that want it, batched per shared model; then complete each camera's frame."""
        self.summary.rounds += 1
        started: dict[int, float] = {}
        wanted: dict[ModelKey, list[tuple[CameraRun, Frame]]] = {}
        skipped: list[tuple[CameraRun, Frame]] = []
        for camera, frame in ready:
            assert camera.pipeline is not None and camera.model_key is not None
            started[id(camera)] = time.perf_counter()
            try:
                detect = camera.pipeline.wants_detection(frame)
            except Exception as exc:
                self._leave(camera, "failed", f"pipeline error: {exc!r}")
                continue
            (wanted.setdefault(camera.model_key, []) if detect else skipped).append((camera, frame))
        for group in wanted.values():
            for (camera, frame), found in self._detect(group):
                assert camera.pipeline is not None
                self._complete(camera, frame, camera.pipeline.to_frame(found), started[id(camera)])
        for camera, frame in skipped:
            self._complete(camera, frame, None, started[id(camera)])

    def _detect(
        self, group: list[tuple[CameraRun, Frame]]
    ) -> list[tuple[tuple[CameraRun, Frame], sv.Detections]]:
        """One shared model's frames detected in batches; a failed batch is retried frame by frame, and a
        camera whose own frame fails is left behind (``failed``), not the whole site."""
        jobs = []
        for camera, frame in group:
            assert camera.pipeline is not None and camera.detector is not None
            jobs.append((camera.detector, camera.pipeline.detection_input(frame.image)))
        try:
            detections = predict_batch(jobs, self.batch.max_size)
        except Exception as exc:
            log.warning("a batch of %d frames failed in the detector (%r): retrying them one by one", len(jobs), exc)
        else:
            size = self.batch.max_size if jobs[0][0].model.batch_dynamic else 1
            self.summary.batches += -(-len(group) // size)  # inference calls predict_batch made
            self.summary.batched_frames += len(group)
            return list(zip(group, detections, strict=True))
        found: list[tuple[tuple[CameraRun, Frame], sv.Detections]] = []
        for item, (detector, image) in zip(group, jobs, strict=True):
            try:
                found.append((item, detector.predict(image)))
            except Exception as exc:
                self._leave(item[0], "failed", f"detector error: {exc!r}")
                continue
            self.summary.batches += 1
            self.summary.batched_frames += 1
        return found

    def _complete(
        self, camera: CameraRun, frame: Frame, detections: sv.Detections | None, start: float
    ) -> None:
        assert camera.pipeline is not None
        try:
            result: FrameResult = camera.pipeline.complete(frame, detections, start)
            camera.last = frame
            camera.pipeline.record(camera.summary, result)
            if camera.writer is not None:
                camera.writer.write(frame, result.tracks, result.counted)
        except Exception as exc:
            self._leave(camera, "failed", f"pipeline error: {exc!r}")
            return
        if self.on_frame is not None:
            self.on_frame(camera, result)
        if self.max_frames is not None and camera.summary.frames >= self.max_frames:
            self._finish(camera, "finished")

    # -- leaving -----------------------------------------------------------------------------------

    def _leave(self, camera: CameraRun, state: str, reason: str) -> None:
        log.error("camera %s %s: %s; the other cameras go on", camera.name, state, reason)
        self._finish(camera, state, reason)

    def _finish(self, camera: CameraRun, state: str, reason: str = "", close_timeout_s: float | None = None) -> None:
        """Stop the camera's reader, end its pipeline (open flags, waiting crossings), flush and close its sinks."""
        camera.state, camera.reason = state, reason
        reader, source = camera.reader, camera.source
        if reader is not None:
            # A stalled source may be stuck inside its decoder: wait briefly, never release it under the thread.
            if close_timeout_s is None:
                close_timeout_s = 1.0 if state == "stalled" else self.close_grace_s
            reader.close(timeout_s=close_timeout_s)
        try:
            if camera.pipeline is not None and reader is not None and source is not None:
                camera.pipeline.close_summary(camera.summary, camera.last, source, reader)
        except Exception as exc:
            log.error("camera %s: ending its pipeline failed: %r", camera.name, exc)
        finally:
            if camera.writer is not None:
                camera.writer.close()
            if camera.sink is not None:
                camera.sink.close()
            if source is not None and not (reader is not None and reader.reading):
                source.close()
            if camera.started:
                camera.summary.seconds = time.monotonic() - camera.started
            if camera.detector is not None:
                camera.summary.model = camera.detector.model.describe()

    def stop(self) -> None:
        """Every source stops, the loop ends, every camera finishes cleanly (SIGTERM / SIGINT)."""
        self.stopping.set()
        for camera in self._running():
            if camera.source is not None:
                camera.source.stop()


def run_site(
    cameras: Sequence[CameraConfig],
    batch: BatchConfig | None = None,
    stall_s: float = 5.0,
    max_frames: int | None = None,
    progress_every_s: float = 5.0,
    source_opener: Callable[[CameraConfig], FrameSource] | None = None,
    workers: int = 1,
    on_frame: Callable[[CameraRun, FrameResult], None] | None = None,
) -> SiteSummary:
    """Run ``cameras`` in this process with one shared detector session per model and loop; see the module
    docstring. ``workers`` > 1: that many loops on threads, the cameras dealt round-robin, each loop with its
    own sessions (``on_frame`` is then called from those threads)."""
    groups = [list(cameras[k::workers]) for k in range(max(1, min(workers, len(cameras))))]
    runners = [SiteRunner(g, batch, stall_s, max_frames, progress_every_s, source_opener, on_frame) for g in groups]
    if len(runners) == 1:
        return runners[0].run()
    errors: list[BaseException] = []

    def work(runner: SiteRunner) -> None:
        try:
            runner.run()
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,), name=f"site-worker-{k}") for k, r in enumerate(runners)]
    start = time.perf_counter()

    def stop_all() -> None:
        for runner in runners:
            runner.stop()

    with on_stop_signals(stop_all, "finishing every camera"):
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)  # short joins: the main thread keeps taking signals
    if errors:
        raise errors[0]
    by_camera = {id(run.config): run for r in runners for run in r.summary.cameras}
    return SiteSummary(
        cameras=[by_camera[id(c)] for c in cameras],
        seconds=time.perf_counter() - start,
        batches=sum(r.summary.batches for r in runners),
        batched_frames=sum(r.summary.batched_frames for r in runners),
        rounds=sum(r.summary.rounds for r in runners),
        peak_rss_mb=peak_rss_mb(),
        models=[m for r in runners for m in r.summary.models],
        workers=len(runners),
    )
