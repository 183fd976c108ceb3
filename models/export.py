"""Build ONNX models: export an Ultralytics checkpoint with a parity check, or quantise a
detector to static INT8 (QDQ) with frames from real video.

Both return a result that says how close the new model is to its source, so a model that
drifts is caught when it is built rather than at the gate.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gatewatch.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportResult:
    """An exported model and its parity against the source in onnxruntime."""

    onnx_path: Path
    source: Path
    max_abs_diff: float
    tolerance: float
    seconds: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


def _parity_inputs(imgsz: int, count: int = 2) -> list[np.ndarray]:
    """Letterboxed real frames when the shared videos exist, else seeded noise."""
    from gatewatch.assets import asset_dir
    from gatewatch.vision.detector import letterbox

    batches: list[np.ndarray] = []
    assets = asset_dir()
    video = assets / "videos" / "highway_cctv_trucks_320x240.avi" if assets else None
    if video is not None and video.is_file():
        import cv2

        cap = cv2.VideoCapture(str(video))
        for index in range(count):
            cap.set(cv2.CAP_PROP_POS_FRAMES, 100 + 200 * index)
            ok, frame = cap.read()
            if ok:
                batches.append(letterbox(frame, (imgsz, imgsz))[0])
        cap.release()
    rng = np.random.default_rng(0)
    while len(batches) < count:
        batches.append(rng.random((1, 3, imgsz, imgsz), dtype=np.float32))
    return batches


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path | None = None,
    imgsz: int = 640,
    opset: int | None = None,
    simplify: bool = True,
    tolerance: float = 1e-3,
) -> ExportResult:
    """Export an Ultralytics ``.pt`` to ONNX and compare outputs with the PyTorch model.

    The comparison runs both on the same letterboxed frames and takes the largest absolute
    difference of the raw output, relative to its scale (boxes are in pixels, scores in 0..1),
    so ``tolerance`` is a fraction. Raises ``ModelError`` when parity fails.
    """
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise ModelError(f"checkpoint not found: {checkpoint}")
    try:
        import torch
        from ultralytics import YOLO
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelError("exporting needs the 'export' extra: pip install 'gatewatch[export]'") from exc

    start = time.perf_counter()
    kwargs: dict[str, object] = {"format": "onnx", "imgsz": imgsz, "simplify": simplify, "dynamic": False}
    if opset:
        kwargs["opset"] = opset
    with tempfile.TemporaryDirectory(prefix="gatewatch-export-") as tmp:
        # Ultralytics writes the .onnx beside the checkpoint: with ``out`` given, export from a
        # private copy so a (possibly read-only, shared) model folder is never written to.
        source = checkpoint
        if out is not None:
            source = Path(tmp) / checkpoint.name
            shutil.copy2(checkpoint, source)
        try:
            yolo = YOLO(str(source))
        except Exception as exc:
            raise ModelError(f"{checkpoint}: not a loadable Ultralytics checkpoint ({exc})") from exc
        exported = Path(yolo.export(**kwargs))
        target = Path(out) if out else exported
        if target != exported:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(exported), str(target))

    from gatewatch.models.onnx import OnnxModel

    onnx_model = OnnxModel(target, providers="cpu", threads=0, warmup=False)
    torch_model = yolo.model.float().eval()
    worst = 0.0
    for batch in _parity_inputs(imgsz):
        with torch.no_grad():
            reference = torch_model(torch.from_numpy(batch))
        reference = reference[0] if isinstance(reference, (list, tuple)) else reference
        reference = reference.numpy()
        result = onnx_model.run(batch)[0]
        if result.shape != reference.shape:
            raise ModelError(f"export parity: output shape {result.shape} != source {reference.shape}")
        scale = float(np.abs(reference).max()) or 1.0
        worst = max(worst, float(np.abs(result - reference).max()) / scale)
    res = ExportResult(target, checkpoint, worst, tolerance, time.perf_counter() - start)
    if not res.ok:
        raise ModelError(f"export parity failed: relative max diff {worst:.2e} > {tolerance:.0e} ({target})")
    log.info("exported %s -> %s (parity %.2e)", checkpoint, target, worst)
    return res


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

    from gatewatch.vision.detector import letterbox

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


@dataclass(frozen=True)
class QuantizeResult:
    """A static INT8 model and how far its best-class scores move from the fp32 source.

    ``score_mae`` is the mean absolute change of each anchor's best class score, over the
    anchors scoring at least 0.1 in fp32 (the ones that can become detections).
    """

    onnx_path: Path
    source: Path
    calibration_frames: int
    score_mae: float
    seconds: float


def quantize_static_int8(
    source: str | Path,
    out: str | Path,
    videos: Iterable[str | Path],
    per_video: int = 24,
) -> QuantizeResult:
    """Static QDQ INT8 (u8 activations, s8 per-channel weights), head decode kept in fp32."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from gatewatch.models.onnx import OnnxModel

    start = time.perf_counter()
    source = Path(source)
    out = Path(out)
    fp32 = OnnxModel(source, providers="cpu", threads=0, warmup=False)
    frames = calibration_frames(videos, per_video, fp32.imgsz[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    pre = out.with_suffix(".pre.onnx")
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
    pre.unlink(missing_ok=True)
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
    result = QuantizeResult(out, source, len(frames), mae, time.perf_counter() - start)
    log.info("quantised %s -> %s on %d frames (score MAE %.4f)", source, out, len(frames), result.score_mae)
    return result
