"""Static INT8 (QDQ) builds: the vehicle detector and the plate recogniser.

Both calibrate with MinMax ranges on real or synthetic inputs, write a QDQ graph that ONNX
Runtime runs with INT8 kernels on CPU, and measure the copy against its fp32 source; the gate
(:func:`~gatewatch.models.build.build_checked`) refuses a copy over its tolerance.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gatewatch.errors import ModelError
from gatewatch.models.build import BuildResult, BuildUnavailable, build_checked
from gatewatch.models.onnx import OnnxModel
from gatewatch.models.preprocess import letterbox

log = logging.getLogger(__name__)

# Largest mean change of a live anchor's best class score (INT8 vs fp32) a detector build may show.
# 0.095 on 24 frames and lower on the default 72 (AVX2 CPU without VNNI; tests/models/test_models.py).
DETECTOR_INT8_TOLERANCE = 0.12
DETECTOR_INT8_MEASURE = "mean abs class-score change vs fp32"
# Largest share of time steps whose best class differs from fp32 a recogniser build may show.
RECOGNIZER_INT8_TOLERANCE = 0.05
RECOGNIZER_INT8_MEASURE = "share of time steps whose best class differs from fp32"


def _needs_onnx(what: str) -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime.quantization  # noqa: F401
    except ImportError as exc:
        raise BuildUnavailable(f"{what} needs the 'onnx' package (pip install onnx)") from exc


class CalibrationBatches:
    """onnxruntime ``CalibrationDataReader`` over prepared input batches (frames, text lines)."""

    def __init__(self, input_name: str, batches: Iterable[np.ndarray]) -> None:
        self.input_name = input_name
        self._iter: Iterator[np.ndarray] = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._iter, None)
        return None if batch is None else {self.input_name: batch}


def calibration_frames(videos: Iterable[str | Path], per_video: int, imgsz: int) -> list[np.ndarray]:
    """Evenly spaced letterboxed frames from each video."""
    import cv2

    batches = []
    for video in videos:
        cap = cv2.VideoCapture(str(video))
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or per_video
        for index in np.linspace(0, max(total - 1, 0), per_video).astype(int):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, frame = cap.read()
            if ok:
                batches.append(letterbox(frame, (imgsz, imgsz))[0])
        cap.release()
    if not batches:
        raise ModelError("no calibration frames could be read from the given videos")
    return batches


def head_nodes(model_path: str | Path) -> list[str]:
    """Nodes of a YOLOv8 detect head's decoding (DFL, box maths, final concat): kept fp32."""
    import onnx

    graph = onnx.load(str(model_path)).graph
    convs = [n for n in graph.node if n.op_type == "Conv"]
    head = convs[-1].name.split("/")[1] if convs and convs[-1].name.startswith("/") else None
    if head is None:
        return []
    return [n.name for n in graph.node if n.name.startswith(f"/{head}/") and n.op_type not in ("Conv",)]


def holds_qdq(path: Path) -> bool:
    """Whether a model is already quantised (holds QuantizeLinear/DequantizeLinear nodes)."""
    _needs_onnx("inspecting a model for INT8 nodes")
    import onnx

    return any(node.op_type in {"QuantizeLinear", "DequantizeLinear"} for node in onnx.load(str(path)).graph.node)


@dataclass(frozen=True)
class DetectorInt8Build:
    """Static QDQ INT8 of a YOLOv8 detector (u8 activations, s8 per-channel weights), head decode in fp32.

    Calibrates on evenly spaced frames of ``videos``; ``error`` is the mean absolute change of
    each anchor's best class score over the anchors scoring at least 0.1 in fp32 (the ones that
    can become detections), on the first 8 calibration frames.
    """

    videos: tuple[str | Path, ...]
    per_video: int = 24
    tolerance: float = DETECTOR_INT8_TOLERANCE

    def build(self, source: Path, out: Path) -> BuildResult:
        _needs_onnx("quantising a detector")
        import onnx
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process

        start = time.perf_counter()
        fp32 = OnnxModel(source, providers="cpu", threads=0, warmup=False)
        frames = calibration_frames(self.videos, self.per_video, fp32.imgsz[0])
        with tempfile.TemporaryDirectory(prefix=f"{out.stem}.", dir=out.parent) as work:
            pre = Path(work) / "pre.onnx"
            quant_pre_process(str(source), str(pre), skip_symbolic_shape=True)
            quantize_static(
                str(pre),
                str(out),
                CalibrationBatches(fp32.input_name, frames),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
                calibrate_method=CalibrationMethod.MinMax,
                nodes_to_exclude=head_nodes(pre),
            )
        # Carry the Ultralytics metadata over so names, stride and imgsz still come from the file.
        source_meta = [(p.key, p.value) for p in onnx.load(str(source)).metadata_props]
        model = onnx.load(str(out))
        del model.metadata_props[:]
        for key, value in source_meta:
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, str(out))
        int8 = OnnxModel(out, providers="cpu", threads=0, warmup=False)
        diffs = []
        for batch in frames[:8]:
            ref, new = fp32.run(batch)[0][0, 4:].max(axis=0), int8.run(batch)[0][0, 4:].max(axis=0)
            live = ref >= 0.1  # anchors that can become detections
            if live.any():
                diffs.append(float(np.abs(ref[live] - new[live]).mean()))
        mae = float(np.mean(diffs)) if diffs else 0.0
        return BuildResult(
            out, source, mae, self.tolerance, DETECTOR_INT8_MEASURE, len(frames), time.perf_counter() - start
        )


def quantize_static_int8(
    source: str | Path,
    out: str | Path,
    videos: Iterable[str | Path],
    per_video: int = 24,
    tolerance: float = DETECTOR_INT8_TOLERANCE,
) -> BuildResult:
    """Quantise a detector to ``out`` (:class:`DetectorInt8Build`), gated on ``tolerance``."""
    result = build_checked(DetectorInt8Build(tuple(videos), per_video, tolerance), source, out)
    log.info("quantised %s", result.summary())
    return result


@dataclass(frozen=True)
class RecognizerInt8Build:
    """Static QDQ INT8 of a text-line recogniser: Conv and MatMul, u8 activations, u8 per-channel weights.

    u8 x u8: ONNX Runtime's u8 x s8 kernels on x86 CPUs with AVX2 or AVX-512 but no VNNI can
    saturate (VPMADDUBSW), which cost 3-7 points of plate exact match on such a CPU. Calibrates
    with MinMax ranges on the batches ``calibration()`` returns; ``error`` is the share of time
    steps, over those batches, whose best class differs from the fp32 model's.

    Attributes:
        input_name: the recogniser's input.
        calibration: prepared input batches, made only when a build runs.
        input_size: ``(h, w)`` of a line for the sessions that measure the copy.
        tolerance: the largest accepted ``error``.
    """

    input_name: str
    calibration: Callable[[], Sequence[np.ndarray]]
    input_size: tuple[int, int]
    tolerance: float = RECOGNIZER_INT8_TOLERANCE

    def build(self, source: Path, out: Path) -> BuildResult:
        _needs_onnx("building the INT8 recogniser")
        import onnx
        from onnx import version_converter
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process

        start = time.perf_counter()
        model = onnx.load(str(source))
        batches = list(self.calibration())
        with tempfile.TemporaryDirectory(prefix=f"{out.stem}.", dir=out.parent) as tmp:
            work = Path(tmp)
            opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=13)
            if opset < 13:  # per-channel DequantizeLinear needs opset 13
                model = version_converter.convert_version(model, 13)
            onnx.save(model, str(work / "op13.onnx"))
            quant_pre_process(str(work / "op13.onnx"), str(work / "pre.onnx"), skip_symbolic_shape=True)
            quantize_static(
                str(work / "pre.onnx"), str(work / "int8.onnx"), CalibrationBatches(self.input_name, batches),
                quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8, weight_type=QuantType.QUInt8,
                per_channel=True, op_types_to_quantize=["Conv", "MatMul"], calibrate_method=CalibrationMethod.MinMax,
            )
            (work / "int8.onnx").replace(out)
        fp32 = OnnxModel(source, providers="cpu", threads=0, warmup=False, input_size=self.input_size)
        int8 = OnnxModel(out, providers="cpu", threads=0, warmup=False, input_size=self.input_size)
        changed = steps = 0
        for batch in batches:
            ref, new = fp32.run(batch)[0].argmax(axis=-1), int8.run(batch)[0].argmax(axis=-1)
            changed += int((ref != new).sum())
            steps += ref.size
        error = changed / steps if steps else 0.0
        return BuildResult(
            out, source, error, self.tolerance, RECOGNIZER_INT8_MEASURE, len(batches), time.perf_counter() - start
        )
