"""Camera configuration: one YAML file per camera, validated with pydantic.

Every section is a typed model composed into ``CameraConfig`` (``plates``, ``flags``,
``delivery`` and ``mqtt`` included), so the whole file is checked before any source opens or
any model loads; a wrong field fails with one line per error, ``file: section.field: why``
(``ConfigError``). The source path is relative to the file itself; ``asset://`` paths resolve
through the asset folder setting (``GATEWATCH_ASSET_DIR``, falling back to ``../shared/assets``).

Example (``samples/highway_cctv.yaml``)::

    gate: huu-nghi
    camera: cam-01
    source: {uri: asset://videos/highway_cctv_trucks_320x240.avi}
    lanes:
      - id: southbound
        line: [[40, 150], [170, 150]]
        entry_heading: down
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from gatewatch.errors import ConfigError
from gatewatch.events import Name
from gatewatch.sinks.config import DeliveryConfig, MqttConfig
from gatewatch.strict import Strict, validate_section
from gatewatch.vision.flags.config import FlagsConfig
from gatewatch.vision.plates.config import PlatesConfig

Point = tuple[float, float]
Heading = Literal["up", "down", "left", "right"]
HEADING_VECTORS: dict[str, tuple[float, float]] = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}
VEHICLE_CLASSES = ("car", "truck", "bus", "motorcycle")


class ReconnectConfig(Strict):
    """Backoff for live streams that drop."""

    initial_s: float = Field(1.0, gt=0, le=60, description="First wait before reconnecting.")
    max_s: float = Field(30.0, gt=0, le=600, description="Longest wait between attempts.")
    max_attempts: int = Field(0, ge=0, description="Give up after this many failed attempts (0: never).")


class SourceConfig(Strict):
    """Where frames come from."""

    uri: str = Field(description="Video file, image folder, rtsp:// or http(s):// URL, or a webcam index ('0').")
    kind: Literal["auto", "file", "folder", "stream", "webcam"] = Field(
        "auto", description="Source type; 'auto' decides from the uri."
    )
    start_time: datetime | None = Field(
        None, description="Wall-clock time of the first frame of a file (UTC if no zone); default: the file's modification "
        "time (the same on every replay, so replayed events are duplicates at the API)."
    )
    folder_fps: float = Field(10.0, gt=0, le=240, description="Frame rate assumed for an image folder.")
    realtime: bool = Field(
        False, description="Files only: pace frames at their own rate, as a live camera would deliver them."
    )
    max_corrupt_in_row: int = Field(
        50, ge=1, le=10_000, description="Consecutive unreadable frames after which a file is treated as ended."
    )
    reconnect: ReconnectConfig = ReconnectConfig()


class ModelConfig(Strict):
    """The vehicle detector."""

    name: str = Field("yolov8n", description="Model name (looked up in the model folders) or path to an .onnx file.")
    providers: str | list[str] = Field("auto", description="'auto', or providers in order: tensorrt, cuda, openvino, cpu.")
    threads: int = Field(1, ge=0, le=64, description="onnxruntime intra-op threads (0: onnxruntime decides).")
    inter_op_threads: int = Field(
        1, ge=0, le=64, description="onnxruntime inter-op threads (used with execution_mode 'parallel'; 0: it decides)."
    )
    spinning: bool = Field(
        False, description="Idle onnxruntime threads busy-wait for work (onnxruntime's own default); off (measured: "
        "benchmarks/results/changes.md), they sleep and leave the core to decoding. Matters only with threads > 1."
    )
    execution_mode: Literal["sequential", "parallel"] = Field(
        "sequential", description="onnxruntime execution mode: 'parallel' runs independent graph branches at once."
    )
    graph_optimization: Literal["disabled", "basic", "extended", "all"] = Field(
        "all", description="onnxruntime graph optimisation level."
    )
    io_binding: bool = Field(
        False, description="GPU providers: bind the input and outputs (one copy each way); no effect on the CPU."
    )
    fp16: bool = Field(
        False, description="Half precision on a GPU: CUDA runs an fp16 copy of the (fp32) file, made once in the "
        "model cache; TensorRT builds fp16 engines. Slower, not faster, on most CPUs."
    )
    imgsz: tuple[int, int] | Literal["auto"] | None = Field(
        None, description="Detector input [height, width], multiples of 32 (e.g. [384, 640] for 16:9 frames), or "
        "'auto': the file's square size less the letterbox padding of this camera's frame (640x384 for 1280x720); "
        "the same weights with the detect head rewritten for that size, made once in the model cache; default: the "
        "file's own (640x640)."
    )
    download: bool = Field(
        False, description="Fetch an unknown model name from the Ultralytics hub (network); default: offline only."
    )


    @field_validator("imgsz")
    @classmethod
    def _multiple_of_32(cls, imgsz: tuple[int, int] | str | None) -> tuple[int, int] | str | None:
        if isinstance(imgsz, tuple) and any(v % 32 or not 32 <= v <= 2048 for v in imgsz):
            raise ValueError("[height, width] must be multiples of 32, from 32 to 2048")
        return imgsz


class ScheduleConfig(Strict):
    """When the detector runs (``detect.schedule``); tracks coast on their motion model in between.

    ``every_frame`` runs it on every frame. ``motion`` runs it only when it can change the answer:
    a track near a gate line at its speed across it (a crossing frame is never skipped); a track
    not yet confirmed or settled, or motion in the gate region that no track explains (a new
    vehicle), once it could reach a line or dwell zone soon (``lead_frames``); the first frame, or
    ``max_interval_frames`` since the last detection (stationary queues are refreshed).
    """

    mode: Literal["every_frame", "motion"] = Field(
        "every_frame", description="'every_frame', or 'motion': detect only when motion, a gate line or time asks for it."
    )
    max_interval_frames: int = Field(
        5, ge=1, le=50, description="The detector runs at least every this many frames (1: every frame), kept under "
        "the tracker's lost-track time; in between, tracks coast."
    )
    line_margin_px: float = Field(
        32.0, ge=0, le=1000, description="A track whose anchor comes this close to a gate line (plus its speed across "
        "the line over the frames a crossing needs) is detected on every frame."
    )
    lead_frames: int = Field(
        3, ge=1, le=100, description="A track not yet confirmed, or motion no track explains, is detected on every frame "
        "once it could reach a gate line or dwell zone within this many frames (moving at max_speed_box_per_s) plus "
        "those a crossing needs; farther away it waits (3: two detections for an id, one on its side of the line)."
    )
    max_speed_box_per_s: float = Field(
        10.0, gt=0, le=100, description="The fastest a vehicle is taken to move, in its own box sizes (the box's larger "
        "side) per second: 10 is a 4.5 m car at 160 km/h across the view."
    )
    motion_width: int = Field(160, ge=32, le=640, description="Width in pixels of the grey image motion is found on.")
    motion_threshold: int = Field(
        25, ge=1, le=255, description="Grey-level change from the running background that counts as motion."
    )
    min_motion_px: int = Field(
        6, ge=1, le=10_000, description="Changed pixels (at motion_width) a motion blob needs to count."
    )
    background_alpha: float = Field(
        0.1, gt=0, le=1, description="How fast the running background follows the frame (0-1; larger: faster)."
    )


Roi = tuple[int, int, int, int]


class DetectConfig(Strict):
    """Detector thresholds, the classes to keep, where (ROI) and when (schedule) it runs."""

    confidence: float = Field(0.25, gt=0, lt=1, description="Minimum detection score.")
    iou: float = Field(0.5, gt=0, lt=1, description="NMS IoU threshold.")
    classes: list[str] = Field(list(VEHICLE_CLASSES), min_length=1, description="Model class names to keep.")
    agnostic_nms: bool = Field(
        True, description="Overlapping boxes suppress each other whatever their class: one box per vehicle."
    )
    roi: Literal["full", "auto"] | Roi = Field(
        "full", description="Part of the frame the detector sees: 'full', 'auto' (the bounding rectangle of the "
        "lanes' lines and the dwell zones, padded by region_pad_px) or [x0, y0, x1, y1] in frame pixels."
    )
    region_pad_px: int = Field(
        96, ge=0, le=4096, description="Padding around the lines and zones for the 'auto' ROI and the motion region."
    )
    overlap: bool = Field(
        False, description="Detect the next frame on its own thread while this one is tracked and published "
        "(every_frame schedule only; same tracks and counts)."
    )
    overlap_threads: int = Field(
        1, ge=1, le=8, description="With overlap: frames in the model at once, each on its own thread (2 on a "
        "2-core box with model.threads 1 uses both cores; same tracks and counts)."
    )
    schedule: ScheduleConfig = ScheduleConfig()

    @field_validator("roi")
    @classmethod
    def _roi_box(cls, roi: str | Roi) -> str | Roi:
        if isinstance(roi, tuple):
            x0, y0, x1, y1 = roi
            if min(roi) < 0:
                raise ValueError("coordinates must not be negative")
            if x1 - x0 < 32 or y1 - y0 < 32:
                raise ValueError("[x0, y0, x1, y1] needs x1 > x0 and y1 > y0, at least 32 pixels each way")
        return roi

    @model_validator(mode="after")
    def _overlap_threads_need_overlap(self) -> DetectConfig:
        if self.overlap_threads > 1 and not self.overlap:
            raise ValueError("overlap_threads: frames are detected ahead only with overlap: true")
        return self


class TrackerConfig(Strict):
    """ByteTrack settings (the ``trackers`` library), times in seconds of stream time."""

    lost_track_s: float = Field(1.0, gt=0, le=60, description="How long a lost track is kept for re-association (seconds of stream time, at any frame rate).")
    activation_confidence: float = Field(0.35, gt=0, lt=1, description="Score a detection needs to start a track.")
    high_confidence: float = Field(0.5, gt=0, lt=1, description="ByteTrack's first-stage (high) score threshold.")
    min_iou: float = Field(0.1, gt=0, lt=1, description="Minimum IoU for matching a detection to a track.")
    min_frames: int = Field(2, ge=1, le=30, description="Frames a track must be seen before it gets an id.")
    class_vote: bool = Field(
        True, description="A track's class is the confidence-weighted vote over its detections so far."
    )


class LaneConfig(Strict):
    """One lane and its gate line."""

    id: Name = Field(description="Lane name, e.g. 'import-1'.")
    line: tuple[Point, Point] = Field(description="Gate line from its first to its second point, frame pixels.")
    entry_heading: Heading = Field(
        description="Image direction of travel that counts as entry (import); the opposite is exit (export)."
    )
    anchor: Literal["center", "bottom_center", "corners"] = Field(
        "center", description="Point(s) of the box that must cross the line."
    )
    min_crossing_frames: int = Field(
        2, ge=1, le=30, description="Frames a vehicle must stay on the new side before the crossing counts."
    )
    classes: list[str] | None = Field(None, description="Only count these classes on this lane (default: all).")

    @model_validator(mode="after")
    def _check_geometry(self) -> LaneConfig:
        (x1, y1), (x2, y2) = self.line
        if (x1, y1) == (x2, y2):
            raise ValueError("line: both points are the same")
        hx, hy = HEADING_VECTORS[self.entry_heading]
        if abs((x2 - x1) * hy - (y2 - y1) * hx) < 1e-9:
            raise ValueError(f"entry_heading: '{self.entry_heading}' runs along the line, so it cannot tell sides apart")
        return self


class OutputConfig(Strict):
    """Files the run writes."""

    events: str = Field("gatewatch-events.jsonl", description="JSON-lines file for events ('-' for stdout, '' for none).")
    crops_dir: str | None = Field(None, description="Save a crop of each crossing vehicle here.")
    annotate: str | None = Field(None, description="Write an annotated video here (.mp4).")
    jpeg_quality: int = Field(90, ge=10, le=100, description="JPEG quality of crops and snapshots.")


class CameraConfig(Strict):
    """Everything one edge camera needs."""

    gate: Name = Field(description="Gate name, e.g. 'huu-nghi'.")
    camera: Name = Field(description="Camera id at that gate.")
    source: SourceConfig
    model: ModelConfig = ModelConfig()
    detect: DetectConfig = DetectConfig()
    tracker: TrackerConfig = TrackerConfig()
    lanes: list[LaneConfig] = Field(min_length=1, description="Lanes with their gate lines.")
    output: OutputConfig = OutputConfig()
    plates: PlatesConfig | None = Field(None, description="Plate reading (see gatewatch.vision.plates); {} = on, defaults.")
    flags: FlagsConfig | None = Field(None, description="Held-vehicle, hold-list and empty-truck flags.")
    delivery: DeliveryConfig | None = Field(None, description="Outbox delivery to the gate API.")
    mqtt: MqttConfig | None = Field(None, description="MQTT publishing.")

    @field_validator("lanes")
    @classmethod
    def _unique_lanes(cls, lanes: list[LaneConfig]) -> list[LaneConfig]:
        ids = [lane.id for lane in lanes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"lane ids must be unique, repeated: {dupes}")
        return lanes

    @model_validator(mode="after")
    def _lane_classes_detected(self) -> CameraConfig:
        for lane in self.lanes:
            extra = set(lane.classes or ()) - set(self.detect.classes)
            if extra:
                raise ValueError(f"lane '{lane.id}' counts classes {sorted(extra)} that detect.classes does not keep")
        return self


def parse_config(data: dict[str, Any], source: str = "<config>", base: Path | None = None) -> CameraConfig:
    """Validate a config dict; a relative source path resolves against ``base``.

    Output paths stay relative to the working directory of the run.
    """
    from gatewatch.assets import resolve_asset

    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    config = validate_section(CameraConfig, data, source)
    updates: dict[str, Any] = {"source": config.source.model_copy(update={"uri": resolve_asset(config.source.uri, base)})}
    return config.model_copy(update=updates)


def read_yaml(path: Path, what: str = "config") -> Any:
    """A YAML file's data; ``ConfigError`` when it is missing (``<what> file not found``) or not YAML (with its line)."""
    if not path.is_file():
        raise ConfigError(f"{what} file not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None


def load_config(path: str | Path) -> CameraConfig:
    """Read and validate a camera YAML file, every section; raises ``ConfigError`` naming each bad field."""
    path = Path(path)
    return parse_config(read_yaml(path), str(path), base=path.parent.resolve())


class BatchConfig(Strict):
    """How a site runner batches frames of several cameras into one detector call."""

    max_size: int = Field(8, ge=1, le=64, description="Most frames in one inference call (batch-dynamic models only).")
    wait_ms: float = Field(
        0.0, ge=0, le=1000, description="Wait this long for more cameras' frames before detecting a partial batch "
        "(0: detect what is ready; a backlog fills batches by itself when inference is the bottleneck)."
    )


class SiteConfig(Strict):
    """One edge box running several cameras of a gate in one process (``gatewatch run --site``)."""

    gate: Name = Field(description="Gate name; every camera config must name the same gate.")
    cameras: list[str] = Field(min_length=1, description="Camera config files, relative to the site file.")
    model: ModelConfig | None = Field(None, description="Detector for every camera (overrides their own 'model').")
    batch: BatchConfig = BatchConfig()
    stall_s: float = Field(
        5.0, gt=0, le=3600, description="A camera with no new frame for this long is reported stalled and left behind."
    )
    workers: int = Field(
        1, ge=1, le=64, description="Detection loops, each on its own thread with its own sessions and a round-robin "
        "share of the cameras (2 on a 2-core box with model.threads 1 keeps both cores busy)."
    )


@dataclass(frozen=True)
class Site:
    """A validated site: its settings and each camera's config, in the listed order."""

    config: SiteConfig
    cameras: list[CameraConfig]
    path: Path | None = None


def check_cameras(cameras: list[CameraConfig], source: str) -> None:
    """Cameras run together need distinct ids per gate and distinct event files; raises ``ConfigError``."""
    errors: list[str] = []
    ids = [(c.gate, c.camera) for c in cameras]
    repeated = sorted({f"{g}/{c}" for g, c in ids if ids.count((g, c)) > 1})
    if repeated:
        errors.append(f"{source}: cameras: camera ids must be unique, repeated: {repeated}")
    for what, paths in (("events file", [c.output.events for c in cameras if c.output.events not in ("", "-")]),
                        ("annotated video", [c.output.annotate for c in cameras if c.output.annotate])):
        resolved = [str(Path(f).resolve()) for f in paths]  # out/a.jsonl and ./out/a.jsonl are one file
        shared = sorted({f for f, r in zip(paths, resolved, strict=True) if resolved.count(r) > 1})
        if shared:
            errors.append(f"{source}: cameras: two cameras write the same {what}: {shared}")
    if errors:
        raise ConfigError("\n".join(errors))


def load_site(path: str | Path) -> Site:
    """Read and validate a site file and every camera config it lists; raises ``ConfigError`` naming each problem."""
    path = Path(path)
    data = read_yaml(path, "site")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    site = validate_section(SiteConfig, data, str(path))
    base = path.parent.resolve()
    cameras: list[CameraConfig] = []
    errors: list[str] = []
    for k, rel in enumerate(site.cameras):
        camera_path = Path(rel).expanduser()
        camera_path = camera_path if camera_path.is_absolute() else base / camera_path
        if not camera_path.is_file():
            errors.append(f"{path}: cameras.{k}: camera config not found: {camera_path}")
            continue
        try:
            camera = load_config(camera_path)
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        if camera.gate != site.gate:
            errors.append(f"{path}: cameras.{k}: {camera_path.name} is at gate '{camera.gate}', the site is '{site.gate}'")
        cameras.append(camera.model_copy(update={"model": site.model}) if site.model is not None else camera)
    if errors:
        raise ConfigError("\n".join(errors))
    check_cameras(cameras, str(path))
    return Site(site, cameras, path)
