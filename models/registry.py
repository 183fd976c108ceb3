"""Resolve a model by name or path.

A name is looked up in the model folders (``GATEWATCH_MODEL_DIR``, ``<assets>/weights``,
the cache) under each of its known file names; a path is used as it is. Offline first:
nothing touches the network unless the caller asks for a download (``download=True``;
``model.download: true`` / ``gatewatch run --download-model``), in which case an Ultralytics
checkpoint of that name is fetched and exported to ONNX in the cache.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from gatewatch.assets import cache_dir, model_dirs
from gatewatch.errors import ModelError

log = logging.getLogger(__name__)

# name -> file names relative to a model folder, best first.
KNOWN_MODELS: dict[str, tuple[str, ...]] = {
    "yolov8n": ("yolov8n.onnx", "coco/yolov8n_fp32_from_int8.onnx", "coco/yolov8n_int8.onnx"),
    "yolov8n-fp32": ("yolov8n.onnx", "coco/yolov8n_fp32_from_int8.onnx"),
    "yolov8n-int8-dynamic": ("coco/yolov8n_int8.onnx",),
    "yolov8n-int8": ("yolov8n_int8_qdq.onnx",),
    "yolov8n-batch": ("yolov8n_fp32_batch.onnx",),
    "plate-yolov8n": ("plate_detector/fastanpr_yolov8n_license_plate.onnx", "fastanpr_yolov8n_license_plate.onnx"),
}
# name -> checkpoint a missing ONNX file can be exported from (relative to a model folder).
KNOWN_SOURCES: dict[str, tuple[str, ...]] = {
    "yolov8n": ("yolov8n.pt",),
    "plate-yolov8n": ("plate_detector/fastanpr_yolov8n_license_plate.pt",),
}
# name -> fp32 model it is quantised from, on first use, with frames of these shared videos.
BUILDABLE: dict[str, str] = {"yolov8n-int8": "yolov8n-fp32"}
# name -> fixed-batch model it is made batch-dynamic from, on first use (several cameras in one call).
BATCH_BUILDABLE: dict[str, str] = {"yolov8n-batch": "yolov8n-fp32"}
CALIBRATION_VIDEOS = (
    "india_road_mixed_traffic_trucks_buses_motorbikes.mp4",
    "street_parked_and_passing_vehicles_73s.mp4",
    "bgslibrary_topdown_road.avi",
)


def build_int8(name: str) -> Path:
    """Quantise ``name`` from its fp32 source into the cache (offline, about a minute, once).

    Calibration uses shared videos that the counting benchmark does not score on. Raises
    ``ModelError`` when it cannot be built here or the copy is over its tolerance (nothing is cached).
    """
    from gatewatch.assets import asset_dir
    from gatewatch.models.quantize import quantize_static_int8

    source = find_model(BUILDABLE[name])
    assets = asset_dir()
    videos = [assets / "videos" / v for v in CALIBRATION_VIDEOS] if assets else []
    videos = [v for v in videos if v.is_file()]
    if source is None or not videos:
        raise ModelError(
            f"model '{name}' is not built and cannot be built here (needs {BUILDABLE[name]} and calibration videos); "
            f"run: gatewatch models quantize --calib <videos>"
        )
    target = cache_dir() / KNOWN_MODELS[name][0]
    log.warning("building %s once from %s (static INT8 calibration, about a minute)", target.name, source.name)
    return quantize_static_int8(source, target, videos).path


def build_batch_dynamic(name: str) -> Path:
    """Make a batch-dynamic copy of ``name``'s fixed-batch source in the cache (offline, seconds, once)."""
    from gatewatch.models.export import export_batch_dynamic

    source = find_model(BATCH_BUILDABLE[name])
    if source is None:
        raise ModelError(f"model '{name}' cannot be built here: its source {BATCH_BUILDABLE[name]} is not found")
    target = cache_dir() / KNOWN_MODELS[name][0]
    log.warning("building %s once from %s (batch dimension made dynamic)", target.name, source.name)
    return export_batch_dynamic(source, target).path


def find_model(name: str) -> Path | None:
    """First existing file for a known or bare model name, or ``None``."""
    candidates = KNOWN_MODELS.get(name, (name if name.endswith(".onnx") else f"{name}.onnx",))
    for folder in model_dirs():
        for rel in candidates:
            path = folder / rel
            if path.is_file():
                return path
    return None


def find_source_checkpoint(name: str) -> Path | None:
    """The ``.pt`` checkpoint a model name can be exported from, if one is on disk."""
    for folder in model_dirs():
        for rel in KNOWN_SOURCES.get(name, (f"{name}.pt",)):
            if (folder / rel).is_file():
                return folder / rel
    return None


def resolve_model(name_or_path: str, download: bool = False) -> Path:
    """Path of an ONNX model given a name (``yolov8n``) or a path.

    Raises ``ModelError`` with what was searched when nothing is found; only with
    ``download=True`` is an unknown name looked up on the Ultralytics hub first.
    """
    as_path = Path(name_or_path).expanduser()
    if as_path.suffix or "/" in name_or_path:
        if as_path.is_file():
            return as_path.resolve()
        raise ModelError(f"model file not found: {as_path}")
    found = find_model(name_or_path)
    if found is not None:
        return found
    if name_or_path in BUILDABLE:
        return build_int8(name_or_path)
    if name_or_path in BATCH_BUILDABLE:
        return build_batch_dynamic(name_or_path)
    checkpoint = find_source_checkpoint(name_or_path)
    if checkpoint is not None:
        raise ModelError(
            f"model '{name_or_path}' exists only as a checkpoint ({checkpoint}); "
            f"run: gatewatch models export {checkpoint}"
        )
    if download:
        path = _download_and_export(name_or_path)
        if path is not None:
            return path
    searched = ", ".join(str(d) for d in model_dirs()) or "(no model folder exists)"
    hint = "" if download else " (or allow a download: model.download: true / --download-model)"
    raise ModelError(
        f"model '{name_or_path}' not found in {searched}; set GATEWATCH_MODEL_DIR to a folder holding "
        f"{KNOWN_MODELS.get(name_or_path, (name_or_path + '.onnx',))[0]}{hint}"
    )


def _download_and_export(name: str) -> Path | None:
    """Online fallback: fetch an Ultralytics checkpoint and export it (needs the export extra)."""
    try:
        from ultralytics.utils.downloads import attempt_download_asset
    except ImportError:
        return None
    from gatewatch.models.export import export_checkpoint

    target = cache_dir() / f"{name}.pt"
    try:
        downloaded = Path(attempt_download_asset(str(target)))
    except Exception as exc:  # offline boxes end here
        log.warning("could not download %s.pt (%s)", name, exc)
        return None
    if not downloaded.is_file():
        return None
    return export_checkpoint(downloaded, out=cache_dir() / f"{name}.onnx").path


def input_size(path: Path) -> tuple[int, int]:
    """The ``(h, w)`` of an image model file's first input (0 where the file leaves a side dynamic).

    Raises ``ModelError`` when the file cannot be read (or the ``onnx`` package is missing) and when its first
    input is not an image batch ``(N, C, H, W)``.
    """
    try:
        import onnx
        from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelError(f"reading a model's input size needs the onnx package: {exc} "
                         "(pip install 'gatewatch[quantize]')") from exc
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except (DecodeError, OSError, ValueError) as exc:
        raise ModelError(f"{Path(path).name}: not a readable ONNX file ({exc})") from exc
    dims = graph.input[0].type.tensor_type.shape.dim if graph.input else []
    if len(dims) != 4:
        raise ModelError(f"{Path(path).name}: its input is not an image batch (N, C, H, W)")
    return int(dims[2].dim_value), int(dims[3].dim_value)


def resized_model(path: Path, imgsz: tuple[int, int]) -> Path:
    """``path`` with input ``imgsz`` (h, w): itself when it already has that size, else a copy made once in the cache."""
    from gatewatch.models.cache import content_key
    from gatewatch.models.resize import resize_yolo_input

    if input_size(path) == tuple(imgsz):
        return path
    target = cache_dir() / f"{path.stem}_{imgsz[0]}x{imgsz[1]}_{content_key(path)}.onnx"
    if not target.is_file():
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        resize_yolo_input(path, tmp, imgsz)
        os.replace(tmp, target)
        log.info("made %s (%s at %dx%d input)", target.name, path.name, *imgsz)
    return target


def half_precision_model(path: Path) -> Path:
    """An fp16 copy of an fp32 ``path`` (inputs and outputs stay fp32), made once in the cache; for GPUs.

    Raises ``ModelError`` for a quantised (INT8 QDQ / integer) model: its weights are not floats to halve.
    """
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from gatewatch.models.cache import content_key

    target = cache_dir() / f"{path.stem}_fp16_{content_key(path)}.onnx"
    if target.is_file():
        return target
    model = onnx.load(str(path))
    quantised = {n.op_type for n in model.graph.node} & {"QuantizeLinear", "DequantizeLinear", "ConvInteger", "MatMulInteger"}
    if quantised:
        raise ModelError(f"{path.name} is quantised ({sorted(quantised)[0]}): model.fp16 needs an fp32 model")
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    onnx.save(convert_float_to_float16(model, keep_io_types=True), str(tmp))
    os.replace(tmp, target)
    log.info("made %s (fp16 weights of %s)", target.name, path.name)
    return target
