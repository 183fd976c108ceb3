"""Assemble a camera's pipeline from its config: detector, source, sinks, optional stages."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatewatch.config import CameraConfig
from gatewatch.errors import ConfigError, ModelError
from gatewatch.models.onnx import OnnxModel, SessionTuning, choose_providers
from gatewatch.models.registry import half_precision_model, input_size, resized_model, resolve_model
from gatewatch.models.resize import trimmed_imgsz
from gatewatch.sinks import EventSink, FanoutSink, JsonlSink
from gatewatch.vision.detector import YoloDetector
from gatewatch.vision.pipeline import GatePipeline, RunSummary
from gatewatch.vision.schedule import detection_roi
from gatewatch.vision.sources import FrameSource, open_source

if TYPE_CHECKING:
    from gatewatch.vision.plates.stage import PlateStage

log = logging.getLogger(__name__)


def trimmed_model(path: Path, frame_size: tuple[int, int]) -> Path:
    """``path`` resized to the trimmed letterbox of a ``frame_size`` (width, height) image (``model.imgsz: auto``).

    Raises ``ModelError`` for whatever stops it: no ``onnx`` package, a file onnx cannot read, an input with no
    fixed size, a graph that is not a YOLO detect head.
    """
    own = input_size(path)
    if min(own) <= 0:
        raise ModelError(f"{Path(path).name} has no fixed input size to trim")
    return resized_model(path, trimmed_imgsz(*frame_size, longest=max(own)))


def model_settings(config: CameraConfig, frame_size: tuple[int, int] | None = None) -> tuple[Path, SessionTuning]:
    """The detector file the config names (resized or halved copy when asked) and its session settings.

    ``frame_size`` (width, height): the camera's frames, needed for ``model.imgsz: auto`` (sized for what the
    detector sees: the frame, or ``detect.roi`` when set).
    """
    m = config.model
    path = resolve_model(m.name, download=m.download)
    if m.imgsz == "auto":
        if frame_size is None:
            raise ConfigError("model.imgsz: 'auto' needs the camera's frame size (open the source first)")
        roi = detection_roi(config, frame_size)  # the detector sees the ROI, not the frame, when one is set
        path = trimmed_model(path, (roi[2] - roi[0], roi[3] - roi[1]) if roi is not None else frame_size)
    elif m.imgsz is not None:
        path = resized_model(path, m.imgsz)
    tuning = SessionTuning(inter_op_threads=m.inter_op_threads, spinning=m.spinning, execution_mode=m.execution_mode,
                           graph_optimization=m.graph_optimization, io_binding=m.io_binding, trt_fp16=m.fp16)
    if m.fp16 and choose_providers(m.providers)[0] != "TensorrtExecutionProvider":
        path = half_precision_model(path)  # TensorRT halves the fp32 file itself (trt_fp16)
    return Path(path), tuning


def build_detector(
    config: CameraConfig, model: OnnxModel | None = None, frame_size: tuple[int, int] | None = None
) -> YoloDetector:
    """The vehicle detector the config names (model resolved, session warmed up); ``model``: a shared session;
    ``frame_size`` (width, height): for ``model.imgsz: auto``."""
    if model is None:
        path, tuning = model_settings(config, frame_size)
        model = OnnxModel(path, providers=config.model.providers, threads=config.model.threads, tuning=tuning)
    return YoloDetector(model, classes=config.detect.classes, confidence=config.detect.confidence, iou=config.detect.iou,
                        agnostic_nms=config.detect.agnostic_nms)


def check_lanes(config: CameraConfig, source: FrameSource) -> None:
    """Every lane's line must lie inside the frame, and inside ``detect.roi`` when one is given."""
    width, height = source.size
    for lane in config.lanes:
        for x, y in lane.line:
            if not (0 <= x <= width and 0 <= y <= height):
                raise ConfigError(
                    f"lanes.{lane.id}.line: point ({x:g}, {y:g}) is outside the {width}x{height} frame of {config.source.uri}"
                )
    roi = config.detect.roi
    if isinstance(roi, tuple):
        x0, y0, x1, y1 = roi
        if x1 > width or y1 > height:
            raise ConfigError(f"detect.roi: {list(roi)} reaches outside the {width}x{height} frame of {config.source.uri}")
        for lane in config.lanes:
            outside = [(x, y) for x, y in lane.line if not (x0 <= x <= x1 and y0 <= y <= y1)]
            if outside:
                raise ConfigError(f"detect.roi: {list(roi)} leaves out lanes.{lane.id}.line point {outside[0]}: "
                                  "the detector would not see vehicles crossing it")


def check_in_frame(config: CameraConfig, source: FrameSource) -> None:
    """Lane lines and dwell-zone corners must lie inside the source's frame (``config check``)."""
    check_lanes(config, source)
    held = config.flags.held if config.flags is not None else None
    width, height = source.size
    for zone in held.zones if held is not None else ():
        outside = [(x, y) for x, y in zone.polygon if not (0 <= x <= width and 0 <= y <= height)]
        if outside:
            raise ConfigError(f"flags.held.zones.{zone.id}.polygon: {outside[0]} is outside the {width}x{height} frame")


def build_sinks(config: CameraConfig) -> list[EventSink]:
    """The outbox and MQTT sinks when configured, then JSON lines.

    The outbox comes first: an event is on disk for delivery before anything else sees it.
    """
    sinks: list[EventSink] = []
    if config.delivery is not None or config.mqtt is not None:
        try:
            from gatewatch.sinks.factory import build_sinks as build_remote
        except ImportError as exc:
            raise ConfigError(f"delivery/mqtt configured but unavailable ({exc}); pip install 'gatewatch[delivery]'") from exc
        sinks.extend(build_remote(config.delivery, config.mqtt, config.gate, config.camera))
    if config.output.events:
        sinks.append(JsonlSink(config.output.events))
    return sinks


def build_plate_stage(config: CameraConfig) -> tuple[PlateStage, float] | None:
    """The plate stage and how long a crossing waits for its plate (``plates.wait_s``), when plates are on."""
    if config.plates is None or not config.plates.enabled:
        return None
    try:
        from gatewatch.vision.plates.stage import PlateStage
    except ImportError as exc:
        raise ConfigError(f"plates configured but unavailable ({exc}); pip install 'gatewatch[plates]'") from exc
    return PlateStage(config.plates), config.plates.wait_s


def build_flag_stages(
    config: CameraConfig, fps: float, frame_size: tuple[int, int], reads_plates: bool = False
) -> list[Any]:
    """Flag stages (held vehicles, hold list, empty trucks) when ``flags:`` is configured."""
    if config.flags is None:
        return []
    try:
        from gatewatch.vision.flags import build_flag_stages as build
    except ImportError as exc:
        raise ConfigError(f"flags configured but unavailable ({exc})") from exc
    return list(build(config, fps=fps, frame_size=frame_size, reads_plates=reads_plates))


@contextmanager
def on_stop_signals(stop: Callable[[], None], doing: str = "finishing the current frame") -> Iterator[None]:
    """While inside, SIGTERM / SIGINT call ``stop`` (the run then ends cleanly: sinks flush and close).

    Only the main thread may set signal handlers: elsewhere (a test or a benchmark's thread) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        log.warning("received %s: %s and shutting down", signal.Signals(signum).name, doing)
        stop()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def stop_on_signals(source: FrameSource) -> AbstractContextManager[None]:
    """SIGTERM / SIGINT end the run cleanly: the source stops, sinks flush and close."""
    return on_stop_signals(source.stop)


def run_camera(config: CameraConfig, max_frames: int | None = None, progress_every_s: float = 5.0) -> RunSummary:
    """Open everything the config names, run the source to its end, close the sinks."""
    source = open_source(config.source)
    try:
        check_lanes(config, source)
        detector = build_detector(config, frame_size=source.size)
        plate = build_plate_stage(config)
        flag_stages = build_flag_stages(config, source.fps, source.size, reads_plates=plate is not None)
        sink = FanoutSink(build_sinks(config))
        pipeline = GatePipeline(
            config, detector, sink, fps=source.fps,
            plates=plate[0] if plate else None, plate_wait_s=plate[1] if plate else 2.0, flag_stages=flag_stages,
        )
        try:
            with stop_on_signals(source):
                summary = pipeline.run(source, max_frames=max_frames, progress_every_s=progress_every_s,
                                       annotate=config.output.annotate)
        finally:
            sink.close()
        summary.model = detector.model.describe()
        return summary
    finally:
        source.close()
