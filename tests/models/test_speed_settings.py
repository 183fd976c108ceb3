"""The detector's speed settings on the real COCO YOLOv8n: session options, another input size, providers.

- ``SessionTuning`` (``model.inter_op_threads``, ``spinning``, ``execution_mode``,
  ``graph_optimization``, ``io_binding``) reaches the onnxruntime session and changes no output;
- ``resize_yolo_input`` / ``model.imgsz``: the same weights at 384x640 find the same vehicles
  on a 1280x720 motorway frame as at 640x640 (fp32 and the static INT8 build);
- providers: a GPU provider this onnxruntime lacks is refused by name; I/O binding on the CPU is
  the plain path.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from gatewatch.config import parse_config
from gatewatch.errors import ConfigError, ModelError
from gatewatch.models import OnnxModel, choose_providers
from gatewatch.models.onnx import SessionTuning
from gatewatch.models.registry import resized_model
from gatewatch.models.resize import anchor_count, resize_yolo_input, trimmed_imgsz
from gatewatch.vision.detector import YoloDetector
from tests.conftest import asset

VEHICLES = ["car", "truck", "bus", "motorcycle"]


@pytest.fixture(scope="module")
def motorway_frame() -> np.ndarray:
    cap = cv2.VideoCapture(str(asset("videos/highway_720p_cars.mp4")))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = np.maximum(a[:2], b[:2])
    x1, y1 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def test_session_tuning_reaches_onnxruntime_and_keeps_the_outputs(vehicle_model, motorway_frame):
    tuning = SessionTuning(inter_op_threads=2, spinning=False, execution_mode="parallel", graph_optimization="basic")
    tuned = OnnxModel(vehicle_model.path, providers="cpu", threads=2, tuning=tuning)
    options = tuned.session.get_session_options()
    assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 2
    assert options.execution_mode == ort.ExecutionMode.ORT_PARALLEL
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert tuned.describe()["tuning"]["spinning"] is False
    plain = YoloDetector(vehicle_model, classes=VEHICLES).predict(motorway_frame)
    other = YoloDetector(tuned, classes=VEHICLES).predict(motorway_frame)
    assert len(plain) >= 3 and len(other) == len(plain)
    np.testing.assert_allclose(other.xyxy, plain.xyxy, atol=0.5)


@pytest.mark.parametrize(
    ("tuning", "message"),
    [({"execution_mode": "async"}, "execution_mode"), ({"graph_optimization": "max"}, "graph_optimization")],
)
def test_session_tuning_refuses_unknown_values(tuning, message):
    with pytest.raises(ModelError, match=message):
        SessionTuning(**tuning)


@pytest.mark.parametrize(
    ("model", "field"),
    [({"imgsz": [380, 640]}, "model.imgsz"), ({"imgsz": "native"}, "model.imgsz"),
     ({"execution_mode": "async"}, "model.execution_mode"),
     ({"spinning": "sometimes"}, "model.spinning")],
)
def test_config_checks_the_speed_settings(model, field):
    data = {"gate": "g", "camera": "c", "source": {"uri": "x.mp4"}, "model": model,
            "lanes": [{"id": "a", "line": [[0, 10], [100, 10]], "entry_heading": "down"}]}
    with pytest.raises(ConfigError, match=field):
        parse_config(data)


@pytest.mark.parametrize(
    ("frame", "longest", "imgsz"),
    [((1280, 720), 640, (384, 640)), ((320, 240), 640, (480, 640)), ((768, 432), 640, (384, 640)),
     ((1920, 1080), 640, (384, 640)), ((720, 1280), 640, (640, 384)), ((640, 640), 640, (640, 640)),
     ((1280, 720), 320, (192, 320)), ((4000, 10), 640, (32, 640))],
)
def test_trimmed_imgsz_keeps_the_letterbox_scale_and_drops_the_padding(frame, longest, imgsz):
    assert trimmed_imgsz(*frame, longest=longest) == imgsz


def test_imgsz_auto_picks_the_cameras_trimmed_size_and_needs_the_frame(vehicle_model, motorway_frame, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    from gatewatch.vision.runner import build_detector, model_settings

    data = {"gate": "g", "camera": "c", "source": {"uri": "x.mp4"}, "model": {"name": str(vehicle_model.path), "imgsz": "auto"},
            "lanes": [{"id": "a", "line": [[0, 10], [100, 10]], "entry_heading": "down"}]}
    config = parse_config(data)
    with pytest.raises(ConfigError, match="model.imgsz: 'auto' needs the camera's frame size"):
        model_settings(config)
    height, width = motorway_frame.shape[:2]
    detector = build_detector(config, frame_size=(width, height))
    assert detector.model.imgsz == trimmed_imgsz(width, height) and detector.model.path.parent == tmp_path
    square = YoloDetector(vehicle_model, classes=VEHICLES, confidence=0.4).predict(motorway_frame)
    trimmed = YoloDetector(detector.model, classes=VEHICLES, confidence=0.4).predict(motorway_frame)
    assert len(square) >= 3 and len(trimmed) == len(square)


def one_node_model(path: Path, shape: list) -> Path:
    """A one-node ONNX file (Relu) whose input has ``shape`` (a str is a dynamic side)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["images"], ["out"])], "g",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)])
    onnx.save(helper.make_model(graph), str(path))
    return path


@pytest.mark.parametrize(
    ("imgsz", "model", "expected"),
    [
        ("auto", "coco", (384, 640)),  # 1280x720: the file's 640x640 less the letterbox padding
        (None, "coco", (640, 640)),  # null (default): the file itself
        # A file that cannot be trimmed is refused with a ModelError saying why, never a raw onnx traceback.
        ("auto", "crnn", "no YOLO detect-head anchors"),  # fixed input, not a YOLO head (the plate recogniser)
        ("auto", "corrupt", "model.onnx: not a readable ONNX file"),  # was a protobuf DecodeError traceback
        ((384, 640), "corrupt", "model.onnx: not a readable ONNX file"),  # an explicit size: the same
        ("auto", "dynamic", "has no fixed input size to trim"),  # was sized from a 0 side: 32x32
        ("auto", "flat", "its input is not an image batch"),  # was an IndexError
    ],
)
def test_imgsz_auto_trims_a_yolo_file_and_refuses_others_with_a_model_error(imgsz, model, expected, vehicle_model,
                                                                            tmp_path, monkeypatch):
    from gatewatch.vision.runner import model_settings

    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    corrupt = tmp_path / "model.onnx"
    corrupt.write_bytes(b"\x00" * 1000)
    crnn = Path(__file__).resolve().parents[2] / "vision" / "plates" / "weights" / "gatewatch_plate_crnn.onnx"
    files = {"coco": vehicle_model.path, "crnn": crnn, "corrupt": corrupt}
    if model in ("dynamic", "flat"):
        files[model] = one_node_model(tmp_path / f"{model}.onnx", [1, 3, "h", "w"] if model == "dynamic" else [1, 8])
    name = files[model]
    data = {"gate": "g", "camera": "c", "source": {"uri": "x.mp4"}, "model": {"name": str(name), "imgsz": imgsz},
            "lanes": [{"id": "a", "line": [[0, 10], [100, 10]], "entry_heading": "down"}]}
    config = parse_config(data)
    if isinstance(expected, str):
        with pytest.raises(ModelError, match=expected):
            model_settings(config, (1280, 720))
        return
    path, _ = model_settings(config, (1280, 720))
    assert OnnxModel(path, warmup=False).imgsz == expected
    assert (path == vehicle_model.path) == (imgsz is None)


def test_io_binding_on_the_cpu_is_the_plain_path(vehicle_model, motorway_frame):
    bound = OnnxModel(vehicle_model.path, providers="cpu", tuning=SessionTuning(io_binding=True))
    assert bound._binding is None  # a CPU session gains nothing from a binding
    np.testing.assert_allclose(
        YoloDetector(bound, classes=VEHICLES).predict(motorway_frame).xyxy,
        YoloDetector(vehicle_model, classes=VEHICLES).predict(motorway_frame).xyxy, atol=0.5)


@pytest.mark.parametrize("provider", ["cuda", "tensorrt"])
def test_a_gpu_provider_this_onnxruntime_lacks_is_refused_by_name(provider):
    if f"{'CUDA' if provider == 'cuda' else 'Tensorrt'}ExecutionProvider" in ort.get_available_providers():
        pytest.skip(f"this onnxruntime has {provider}: the refusal cannot be shown here")
    with pytest.raises(ModelError, match="not available"):
        choose_providers([provider, "cpu"])
    assert choose_providers("auto")[-1] == "CPUExecutionProvider"


@pytest.fixture(scope="module")
def int8_model(vehicle_model, tmp_path_factory):
    """The static INT8 (QDQ) detector: the cached build, else a quick real one (24 calibration frames)."""
    from gatewatch.models.quantize import quantize_static_int8
    from gatewatch.models.registry import find_model

    cached = find_model("yolov8n-int8")
    if cached is not None:
        return cached
    videos = [asset("videos/bgslibrary_topdown_road.avi"), asset("videos/india_road_mixed_traffic_trucks_buses_motorbikes.mp4")]
    return quantize_static_int8(vehicle_model.path, tmp_path_factory.mktemp("int8") / "int8.onnx", videos, per_video=12).path


@pytest.mark.parametrize("which", ["fp32", "int8"])
def test_the_same_weights_at_384x640_find_the_same_vehicles(which, vehicle_model, int8_model, motorway_frame, tmp_path):
    source = vehicle_model.path if which == "fp32" else int8_model
    square = OnnxModel(source, providers="cpu")
    rect = OnnxModel(resize_yolo_input(source, tmp_path / "rect.onnx", (384, 640)), providers="cpu")
    assert rect.imgsz == (384, 640)
    assert rect.session.get_outputs()[0].shape[-1] == anchor_count(384, 640) == 5040
    a = YoloDetector(square, classes=VEHICLES, confidence=0.4).predict(motorway_frame)
    b = YoloDetector(rect, classes=VEHICLES, confidence=0.4).predict(motorway_frame)
    assert len(a) >= 3 and len(b) == len(a)
    for box in a.xyxy:  # each vehicle found at 640x640 is found at 384x640, within a few pixels
        assert max(iou(box, other) for other in b.xyxy) > 0.9


def test_imgsz_auto_is_sized_for_the_roi_the_detector_sees(vehicle_model, tmp_path, monkeypatch):
    """A tall 700x1080 lane ROI of a 1920x1080 frame: 640x416 (its own trimmed size), not the frame's 384x640."""
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    from gatewatch.vision.runner import model_settings

    data = {"gate": "g", "camera": "c", "source": {"uri": "x.mp4"},
            "model": {"name": str(vehicle_model.path), "imgsz": "auto"}, "detect": {"roi": [600, 0, 1300, 1080]},
            "lanes": [{"id": "a", "line": [[700, 500], [1200, 500]], "entry_heading": "down"}]}
    path, _ = model_settings(parse_config(data), (1920, 1080))
    assert OnnxModel(path, warmup=False).imgsz == trimmed_imgsz(700, 1080) == (640, 416)


def test_a_resized_copy_can_be_made_batch_dynamic(int8_model, tmp_path, monkeypatch):
    """The batch export checks parity on inputs of the model's own (h, w), not a square."""
    from gatewatch.models.export import export_batch_dynamic

    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    result = export_batch_dynamic(resized_model(int8_model, (384, 640)), tmp_path / "rect_batch.onnx")
    batched = OnnxModel(result.path, warmup=False)
    assert batched.batch_dynamic and batched.imgsz == (384, 640) and result.error <= result.tolerance


def test_two_models_of_the_same_name_never_share_a_derived_copy(vehicle_model, int8_model, tmp_path, monkeypatch):
    """Ultralytics names every export ``best.onnx``: the resized and fp16 copies are keyed by content, not name."""
    import shutil

    import onnx

    from gatewatch.models.registry import half_precision_model

    def ops(path):
        return {n.op_type for n in onnx.load(str(path)).graph.node}

    a, b = tmp_path / "a" / "best.onnx", tmp_path / "b" / "best.onnx"
    for src, dst in ((vehicle_model.path, a), (int8_model, b)):
        dst.parent.mkdir()
        shutil.copyfile(src, dst)
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    ra, rb = resized_model(a, (384, 640)), resized_model(b, (384, 640))
    assert ra != rb
    assert "QuantizeLinear" in ops(rb) and "QuantizeLinear" not in ops(ra), "each copy holds its own source's weights"
    fp16 = half_precision_model(a)
    shutil.copyfile(vehicle_model.path, b)  # b now holds a's weights: the same content, the same copies
    assert half_precision_model(b) == fp16 and resized_model(b, (384, 640)) == ra


def test_resized_model_is_made_once_and_refuses_sizes_off_the_stride(vehicle_model, tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    first = resized_model(vehicle_model.path, (256, 320))
    assert first.parent == tmp_path and OnnxModel(first, warmup=False).imgsz == (256, 320)
    made = first.stat().st_mtime_ns
    assert resized_model(vehicle_model.path, (256, 320)).stat().st_mtime_ns == made
    assert resized_model(vehicle_model.path, (640, 640)) == vehicle_model.path
    with pytest.raises(ModelError, match="multiples of 32"):
        resize_yolo_input(vehicle_model.path, tmp_path / "bad.onnx", (360, 640))


def test_tensorrt_gets_an_engine_cache_and_fp16_the_others_their_defaults(tmp_path, monkeypatch):
    from gatewatch.models.onnx import provider_options

    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    trt, cuda, cpu = provider_options(
        ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"], SessionTuning(trt_fp16=True))
    assert trt["trt_engine_cache_enable"] == "True" and trt["trt_fp16_enable"] == "True"
    assert trt["trt_engine_cache_path"] == str(tmp_path / "trt-engines") and (tmp_path / "trt-engines").is_dir()
    assert cuda == {} and cpu == {}


def test_fp16_copy_finds_the_same_vehicles_and_int8_is_refused(vehicle_model, int8_model, motorway_frame, tmp_path,
                                                               monkeypatch):
    from gatewatch.models.registry import half_precision_model

    int8 = int8_model  # the real cache's build (or a quick one), before the cache moves to tmp_path
    monkeypatch.setenv("GATEWATCH_CACHE_DIR", str(tmp_path))
    half = half_precision_model(vehicle_model.path)
    assert half.parent == tmp_path and half.stat().st_size < vehicle_model.path.stat().st_size * 0.6
    a = YoloDetector(vehicle_model, classes=VEHICLES, confidence=0.4).predict(motorway_frame)
    b = YoloDetector(OnnxModel(half, providers="cpu"), classes=VEHICLES, confidence=0.4).predict(motorway_frame)
    assert len(a) >= 3 and len(b) == len(a)
    for box in a.xyxy:
        assert max(iou(box, other) for other in b.xyxy) > 0.95
    with pytest.raises(ModelError, match="quantised"):
        half_precision_model(int8)
