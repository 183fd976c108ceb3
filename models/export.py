"""Export an Ultralytics checkpoint to ONNX, checked for parity against PyTorch in onnxruntime.

The export is a :class:`~gatewatch.models.build.ModelBuild`; :func:`export_checkpoint` runs it
through the gate, so a model that drifts is caught when it is built rather than at the gate.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from gatewatch.errors import ModelError
from gatewatch.models.build import BuildResult, BuildUnavailable, build_checked
from gatewatch.models.onnx import OnnxModel
from gatewatch.models.preprocess import letterbox

log = logging.getLogger(__name__)

EXPORT_MEASURE = "relative max output difference vs PyTorch"


def _parity_inputs(imgsz: int | tuple[int, int], count: int = 2) -> list[np.ndarray]:
    """Letterboxed real frames (``imgsz``: a square side or ``(h, w)``) when the shared videos exist, else seeded noise."""
    size = (imgsz, imgsz) if isinstance(imgsz, int) else imgsz
    from gatewatch.assets import asset_dir

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
                batches.append(letterbox(frame, size)[0])
        cap.release()
    rng = np.random.default_rng(0)
    while len(batches) < count:
        batches.append(rng.random((1, 3, *size), dtype=np.float32))
    return batches


@dataclass(frozen=True)
class CheckpointExport:
    """Ultralytics ``.pt`` -> ONNX; ``error`` is the largest absolute output difference vs PyTorch.

    Both run on the same letterboxed frames; the difference of the raw output is relative to its
    scale (boxes are in pixels, scores in 0..1), so ``tolerance`` is a fraction.
    """

    imgsz: int = 640
    opset: int | None = None
    simplify: bool = True
    tolerance: float = 1e-3

    def build(self, source: Path, out: Path) -> BuildResult:
        if not source.is_file():
            raise ModelError(f"checkpoint not found: {source}")
        try:
            import torch
            from ultralytics import YOLO
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise BuildUnavailable("exporting needs the 'export' extra: pip install 'gatewatch[export]'") from exc

        start = time.perf_counter()
        kwargs: dict[str, object] = {"format": "onnx", "imgsz": self.imgsz, "simplify": self.simplify, "dynamic": False}
        if self.opset:
            kwargs["opset"] = self.opset
        with tempfile.TemporaryDirectory(prefix="gatewatch-export-") as tmp:
            # Ultralytics writes the .onnx beside the checkpoint: export from a private copy so a
            # (possibly read-only, shared) model folder is never written to.
            private = Path(tmp) / source.name
            shutil.copy2(source, private)
            try:
                yolo = YOLO(str(private))
            except Exception as exc:
                raise ModelError(f"{source}: not a loadable Ultralytics checkpoint ({exc})") from exc
            shutil.move(str(yolo.export(**kwargs)), str(out))

        onnx_model = OnnxModel(out, providers="cpu", threads=0, warmup=False)
        # Ultralytics types ``model`` from its __init__ (None, or the checkpoint's name); once loaded it is the network
        torch_model = cast(torch.nn.Module, yolo.model).float().eval()
        worst = 0.0
        inputs = _parity_inputs(self.imgsz)
        for batch in inputs:
            with torch.no_grad():
                reference = torch_model(torch.from_numpy(batch))
            reference = reference[0] if isinstance(reference, (list, tuple)) else reference
            reference = reference.numpy()
            result = onnx_model.run(batch)[0]
            if result.shape != reference.shape:
                raise ModelError(f"export parity: output shape {result.shape} != source {reference.shape}")
            scale = float(np.abs(reference).max()) or 1.0
            worst = max(worst, float(np.abs(result - reference).max()) / scale)
        return BuildResult(out, source, worst, self.tolerance, EXPORT_MEASURE, len(inputs), time.perf_counter() - start)


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path | None = None,
    imgsz: int = 640,
    opset: int | None = None,
    simplify: bool = True,
    tolerance: float = 1e-3,
) -> BuildResult:
    """Export an Ultralytics ``.pt`` to ONNX (default: ``<checkpoint>.onnx`` beside it), gated on parity.

    Raises ``ModelError`` when the checkpoint cannot be exported or parity is over ``tolerance``.
    """
    checkpoint = Path(checkpoint)
    target = Path(out) if out is not None else checkpoint.with_suffix(".onnx")
    result = build_checked(CheckpointExport(imgsz, opset, simplify, tolerance), checkpoint, target)
    log.info("exported %s", result.summary())
    return result


BATCH_MEASURE = "relative max output difference, batch of 2 vs one image at a time"


@dataclass(frozen=True)
class BatchDynamicExport:
    """A fixed-batch YOLOv8/11 ONNX -> the same graph with a symbolic batch dimension.

    Static Ultralytics exports reshape the detect head with a literal batch of 1; those shape
    constants get 0 ("keep the input's dimension"), the input and output get a ``batch`` dimension.
    Weights are untouched: the check runs two real frames as one batch and one at a time.
    """

    tolerance: float = 1e-4

    def build(self, source: Path, out: Path) -> BuildResult:
        try:
            import onnx
            from onnx import numpy_helper
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise BuildUnavailable("a batch-dynamic export needs the 'onnx' package") from exc
        start = time.perf_counter()
        graph_model = onnx.load(str(source))
        graph = graph_model.graph
        shapes = {i.name: i for i in graph.initializer}
        changed: set[str] = set()
        for node in graph.node:
            name = node.input[1] if node.op_type == "Reshape" and len(node.input) > 1 else ""
            # Conv-bias reshapes ([1, -1, 1, 1], weights only) broadcast over any batch: left as they are.
            if name in shapes and name not in changed and not name.endswith("bias_reshape_shape"):
                shape = numpy_helper.to_array(shapes[name]).copy()
                if shape.size and shape[0] == 1:
                    shape[0] = 0
                    shapes[name].CopyFrom(numpy_helper.from_array(shape, name))
                    changed.add(name)
        for value in (*graph.input, *graph.output):
            value.type.tensor_type.shape.dim[0].dim_param = "batch"
        del graph.value_info[:]  # inferred shapes with batch 1 would contradict the new dimension
        onnx.save(graph_model, str(out))

        single = OnnxModel(source, providers="cpu", threads=0, warmup=False)
        batched = OnnxModel(out, providers="cpu", threads=0, warmup=False)
        if not batched.batch_dynamic:
            raise ModelError(f"{source}: the input's batch dimension could not be made dynamic")
        inputs = _parity_inputs(single.imgsz)
        reference = np.concatenate([single.run(batch)[0] for batch in inputs])
        result = batched.run(np.concatenate(inputs))[0]
        if result.shape != reference.shape:
            raise ModelError(f"batch export: output shape {result.shape} != {reference.shape}")
        scale = float(np.abs(reference).max()) or 1.0
        error = float(np.abs(result - reference).max()) / scale
        return BuildResult(out, source, error, self.tolerance, BATCH_MEASURE, len(inputs), time.perf_counter() - start)


def export_batch_dynamic(model: str | Path, out: str | Path) -> BuildResult:
    """Write a batch-dynamic copy of a fixed-batch YOLO ONNX to ``out``, gated on batch-vs-single parity."""
    result = build_checked(BatchDynamicExport(), Path(model), Path(out))
    log.info("batch-dynamic export %s", result.summary())
    return result
