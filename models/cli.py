"""``gatewatch models``: list, export (with parity) and quantise models."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="list, export and quantise models")
    sub = models.add_subparsers(dest="models_command", metavar="ACTION")

    ls = sub.add_parser("list", help="known model names and where they resolve")
    ls.set_defaults(handler=_list)

    export = sub.add_parser("export", help="Ultralytics .pt -> ONNX, checked for parity in onnxruntime")
    export.add_argument("checkpoint", help="path to an Ultralytics .pt checkpoint")
    export.add_argument("--out", help="ONNX file to write (default: the cache folder)")
    export.add_argument("--imgsz", type=int, default=640)
    export.add_argument("--opset", type=int)
    export.add_argument("--tolerance", type=float, default=1e-3, help="largest relative output difference allowed")
    export.set_defaults(handler=_export)

    quant = sub.add_parser("quantize", help="static INT8 (QDQ) calibrated on real frames")
    quant.add_argument("source", nargs="?", default="yolov8n-fp32", help="fp32 model name or path")
    quant.add_argument("--out", help="ONNX file to write (default: <cache>/yolov8n_int8_qdq.onnx)")
    quant.add_argument("--calib", nargs="+", help="videos to calibrate on (default: shared videos not used for scoring)")
    quant.add_argument("--frames-per-video", type=int, default=24)
    quant.add_argument("--tolerance", type=float,
                       help="largest mean abs class-score change vs fp32 allowed (default 0.12); over it nothing is written")
    quant.set_defaults(handler=_quantize)


def _list(args: argparse.Namespace) -> int:
    from gatewatch.assets import cache_dir, model_dirs
    from gatewatch.models.registry import KNOWN_MODELS, find_model, find_source_checkpoint

    print("model folders: " + (", ".join(str(d) for d in model_dirs()) or "(none)"))
    print(f"cache: {cache_dir()}")
    for name in KNOWN_MODELS:
        path = find_model(name)
        source = find_source_checkpoint(name)
        where = str(path) if path else (f"not built (export {source})" if source else "missing")
        print(f"  {name:22s} {where}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gatewatch.assets import cache_dir
    from gatewatch.models.export import export_checkpoint

    out = args.out or str(cache_dir() / (Path(args.checkpoint).stem + ".onnx"))
    result = export_checkpoint(args.checkpoint, out=out, imgsz=args.imgsz, opset=args.opset, tolerance=args.tolerance)
    print(f"exported {result.source} -> {result.path}")
    print(f"parity: relative max diff {result.error:.2e} (tolerance {result.tolerance:.0e}) in {result.seconds:.1f} s")
    return 0


def _quantize(args: argparse.Namespace) -> int:
    from gatewatch.assets import asset_dir, cache_dir
    from gatewatch.errors import ConfigError
    from gatewatch.models.quantize import DETECTOR_INT8_TOLERANCE, quantize_static_int8
    from gatewatch.models.registry import resolve_model

    videos = args.calib
    if not videos:
        assets = asset_dir()
        if assets is None:
            raise ConfigError("no --calib videos given and no asset folder found (GATEWATCH_ASSET_DIR)")
        from gatewatch.models.registry import CALIBRATION_VIDEOS

        videos = [str(assets / "videos" / name) for name in CALIBRATION_VIDEOS]
    out = args.out or str(cache_dir() / "yolov8n_int8_qdq.onnx")
    result = quantize_static_int8(
        resolve_model(args.source), out, videos, per_video=args.frames_per_video,
        tolerance=DETECTOR_INT8_TOLERANCE if args.tolerance is None else args.tolerance,
    )
    print(f"quantised {result.source} -> {result.path} on {result.samples} frames "
          f"in {result.seconds:.0f} s; mean abs class-score change vs fp32: {result.error:.4f}")
    return 0
