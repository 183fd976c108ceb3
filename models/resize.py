"""The same YOLOv8/11 detect network at another input size: a rectangle (640x384 for 16:9) or a smaller square.

A static Ultralytics ONNX export bakes its input size into the detect head: the anchor points and
strides (constants of ``N`` columns, ``N`` = 8400 at 640x640) and the shapes of two reshapes.
The convolutions take any size that is a multiple of the largest stride (32). ``resize_yolo_input``
rewrites those few constants for the new size and leaves every weight as it was (fp32 or INT8
QDQ alike): the same model at another input size, the way ``yolo export imgsz=[384, 640]`` would
write it from the checkpoint. The copy's metadata ``imgsz`` says its size, so ``OnnxModel`` and
Ultralytics letterbox to it.

Example::

    >>> resize_yolo_input("yolov8n_int8_qdq.onnx", "yolov8n_int8_qdq_384x640.onnx", (384, 640))
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from gatewatch.errors import ModelError

STRIDES = (8, 16, 32)


def trimmed_imgsz(width: int, height: int, longest: int = 640) -> tuple[int, int]:
    """Input ``(h, w)`` for a ``width`` x ``height`` frame: the scale a ``longest`` square letterbox gives it,
    its padding trimmed to the next multiple of 32 (1280x720 -> 384x640, 320x240 -> 480x640).

    The detector sees the pixels it saw at ``longest`` x ``longest``, without most of the grey padding
    rows (measured: -33 % / -21 % CPU a frame on the 720p / CCTV clips, same counts,
    ``benchmarks/results/changes.md``; 320x256 for the 320x240 clip, no doubling, missed 2 more of 43
    crossings). Recall is not always the same: on the 640x360 street clip, parked cars near the frame's
    top and bottom edges drop out often enough that 3 of its 6 held stays end early (2 start again as
    new flags), which the 640x640 file does not do. So ``model.imgsz`` stays opt-in.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size {width}x{height}")
    scale = longest / max(width, height)
    h, w = (max(32, -(-round(side * scale) // 32) * 32) for side in (height, width))
    return h, w


def anchor_count(h: int, w: int, strides: tuple[int, ...] = STRIDES) -> int:
    """Detect-head columns at input ``h`` x ``w`` (8400 at 640x640)."""
    return sum((h // s) * (w // s) for s in strides)


def anchor_grid(h: int, w: int, strides: tuple[int, ...] = STRIDES) -> tuple[np.ndarray, np.ndarray]:
    """Ultralytics' ``make_anchors``: cell centres ``(1, 2, N)`` in cells, and each column's stride ``(1, N)``."""
    points, stride_cols = [], []
    for s in strides:
        ys, xs = np.meshgrid(np.arange(h // s) + 0.5, np.arange(w // s) + 0.5, indexing="ij")
        points.append(np.stack([xs.ravel(), ys.ravel()]))
        stride_cols.append(np.full((h // s) * (w // s), s, dtype=np.float32))
    return np.concatenate(points, axis=1)[None].astype(np.float32), np.concatenate(stride_cols)[None]


def resize_yolo_input(source: str | Path, out: str | Path, imgsz: tuple[int, int]) -> Path:
    """Write ``source`` with input ``(1, 3, h, w)``; raises ``ModelError`` if the graph is not a YOLO detect head."""
    import onnx
    from onnx import numpy_helper

    h, w = imgsz
    stride = STRIDES[-1]
    if h % stride or w % stride or min(h, w) < stride:
        raise ModelError(f"input size {h}x{w}: both sides must be multiples of {stride}")
    model = onnx.load(str(source))
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4 or not all(d.HasField("dim_value") for d in dims[2:]):
        raise ModelError(f"{source}: needs a static (1, 3, H, W) input")
    old_h, old_w = dims[2].dim_value, dims[3].dim_value
    old_n, new_n = anchor_count(old_h, old_w), anchor_count(h, w)
    old_points, old_strides = anchor_grid(old_h, old_w)
    new_points, new_strides = anchor_grid(h, w)
    changed = {"points": 0, "strides": 0, "shapes": 0}
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype == np.int64 and array.ndim == 1 and old_n in array.tolist():
            init.CopyFrom(
                numpy_helper.from_array(np.where(array == old_n, new_n, array).astype(np.int64), init.name)
            )
            changed["shapes"] += 1
        elif array.dtype == np.float32 and array.shape == old_points.shape and np.allclose(array, old_points):
            init.CopyFrom(numpy_helper.from_array(new_points, init.name))
            changed["points"] += 1
        elif (
            array.dtype == np.float32 and array.shape == old_strides.shape and np.allclose(array, old_strides)
        ):
            init.CopyFrom(numpy_helper.from_array(new_strides, init.name))
            changed["strides"] += 1
    if not changed["points"] or not changed["strides"] or not changed["shapes"]:
        raise ModelError(f"{source}: no YOLO detect-head anchors for {old_h}x{old_w} found ({changed})")
    dims[2].dim_value, dims[3].dim_value = h, w
    for output in graph.output:
        out_dims = output.type.tensor_type.shape.dim
        if out_dims and out_dims[-1].HasField("dim_value") and out_dims[-1].dim_value == old_n:
            out_dims[-1].dim_value = new_n
    del graph.value_info[:]  # intermediate shapes of the old size; onnxruntime infers them again
    for prop in model.metadata_props:
        if prop.key == "imgsz":
            prop.value = str([h, w])
    if not any(p.key == "imgsz" for p in model.metadata_props):
        model.metadata_props.add(key="imgsz", value=str([h, w]))
    names = {p.key: p.value for p in model.metadata_props}.get("names")
    if names is not None:
        ast.literal_eval(names)  # still a readable Ultralytics metadata block
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    return out
