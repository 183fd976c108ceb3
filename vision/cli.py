"""``gatewatch run`` and ``gatewatch config check``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatewatch.config import CameraConfig

EXIT_INPUT_INCOMPLETE = 5  # --strict: the input ended early or had unreadable frames


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="run the edge pipeline on one camera config, or several in one process")
    what = run.add_mutually_exclusive_group(required=True)
    what.add_argument("--config", "-c", action="append", metavar="CAMERA.yaml",
                      help="camera YAML file; repeat it to run several cameras in one process (one shared detector)")
    what.add_argument("--site", metavar="SITE.yaml", help="site file: a gate and the camera configs it runs together")
    run.add_argument("--annotate", metavar="OUT.mp4", help="write an annotated video")
    run.add_argument("--workers", type=_workers, metavar="N",
                     help="several cameras: detection loops on N threads, each with its own sessions "
                          "(default: the site file's workers, else 1)")
    run.add_argument("--crops", metavar="DIR", help="save a crop of each crossing vehicle")
    run.add_argument("--events", metavar="FILE", help="JSON-lines output ('-' for stdout; overrides the config)")
    run.add_argument("--model", help="model name or .onnx path (overrides the config)")
    run.add_argument("--download-model", action="store_true",
                     help="allow fetching an unknown model name from the Ultralytics hub (default: offline only)")
    run.add_argument("--strict", action="store_true",
                     help=f"exit {EXIT_INPUT_INCOMPLETE} when the input ended early or had unreadable frames")
    run.add_argument("--max-frames", type=int, help="stop after this many frames")
    run.add_argument("--progress", type=float, default=5.0, metavar="SECONDS", help="progress line interval")
    run.set_defaults(handler=_run)

    config = subparsers.add_parser("config", help="camera config tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION")
    check = config_sub.add_parser(
        "check", help="validate every section of a camera YAML (no model loads), then open its source"
    )
    check.add_argument("path")
    check.add_argument("--no-source", action="store_true",
                       help="validate the file only; do not open the source to check lines and zones against its frame")
    check.set_defaults(handler=_check)


def _workers(text: str) -> int:
    """``--workers``: 1 to 64."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value}: from 1 to 64")
    return value


def _load_with_overrides(args: argparse.Namespace, path: str) -> CameraConfig:
    from gatewatch.config import load_config

    config = load_config(path)
    output = {k: v for k, v in (("annotate", args.annotate), ("crops_dir", args.crops), ("events", args.events)) if v is not None}
    updates: dict[str, object] = {}
    if output:
        updates["output"] = config.output.model_copy(update=output)
    model = {k: v for k, v in (("name", args.model), ("download", args.download_model or None)) if v}
    if model:
        updates["model"] = config.model.model_copy(update=model)
    return config.model_copy(update=updates) if updates else config


def _run(args: argparse.Namespace) -> int:
    if args.site or len(args.config) > 1:
        return _run_site(args)
    from gatewatch.errors import ConfigError
    from gatewatch.vision.runner import run_camera

    if args.workers is not None and args.workers > 1:
        raise ConfigError(f"--workers {args.workers}: for several cameras (-c twice or --site); one camera uses "
                          "both cores with model.threads: 2, or detect.overlap: true with detect.overlap_threads: 2, in its config")
    config = _load_with_overrides(args, args.config[0])
    summary = run_camera(config, max_frames=args.max_frames, progress_every_s=args.progress)
    # Events on stdout stay pure JSON lines: the summary then goes to stderr.
    print(summary.format_table(), file=sys.stderr if config.output.events == "-" else sys.stdout)
    if args.strict and (summary.ended_early or summary.corrupt_frames):
        return EXIT_INPUT_INCOMPLETE
    return 0


def _run_site(args: argparse.Namespace) -> int:
    """Several cameras in one process; exit 1 when a camera failed or stalled (the others still ran)."""
    from gatewatch.config import BatchConfig, check_cameras, load_site
    from gatewatch.errors import ConfigError
    from gatewatch.vision.site import run_site

    per_camera = [name for name, value in (("--annotate", args.annotate), ("--crops", args.crops),
                                           ("--events", args.events)) if value]
    if per_camera:
        raise ConfigError(f"{', '.join(per_camera)}: one file per camera; set output.* in each camera config instead")
    if args.site:
        site = load_site(args.site)
        cameras, batch, stall_s = site.cameras, site.config.batch, site.config.stall_s
        workers = args.workers or site.config.workers
        if args.model or args.download_model:
            cameras = [c.model_copy(update={"model": c.model.model_copy(
                update={k: v for k, v in (("name", args.model), ("download", args.download_model or None)) if v})})
                for c in cameras]
    else:
        cameras = [_load_with_overrides(args, path) for path in args.config]
        check_cameras(cameras, "--config")
        batch, stall_s, workers = BatchConfig(), 5.0, args.workers or 1
    summary = run_site(cameras, batch=batch, stall_s=stall_s, max_frames=args.max_frames,
                       progress_every_s=args.progress, workers=workers)
    to_stderr = any(c.output.events == "-" for c in cameras)
    print(summary.format_table(), file=sys.stderr if to_stderr else sys.stdout)
    if summary.failed:
        return 1
    if args.strict and any(c.summary.ended_early or c.summary.corrupt_frames for c in summary.cameras):
        return EXIT_INPUT_INCOMPLETE
    return 0


def _check(args: argparse.Namespace) -> int:
    """Validate every section (one ``file: section.field: why`` line per error), then the geometry on the frame."""
    from gatewatch.config import load_config

    config = load_config(args.path)
    sections = [name for name in ("plates", "flags", "delivery", "mqtt") if getattr(config, name) is not None]
    summary = f"{config.gate}/{config.camera}, {len(config.lanes)} lane(s), sections: {', '.join(sections) or 'core only'}"
    if args.no_source:
        print(f"{args.path}: ok ({summary}; source not opened)")
        return 0
    from gatewatch.vision.runner import check_in_frame
    from gatewatch.vision.sources import open_source

    source = open_source(config.source)
    try:
        check_in_frame(config, source)
    finally:
        source.close()
    print(f"{args.path}: ok ({summary}, source {source.size[0]}x{source.size[1]} @ {source.fps:.2f} fps)")
    return 0
