"""``gatewatch flags dataset`` and ``gatewatch flags train`` (empty-truck classifier)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    flags = subparsers.add_parser("flags", help="flag tools: empty-truck classifier dataset and training")
    sub = flags.add_subparsers(dest="flags_command", metavar="ACTION")

    dataset = sub.add_parser("dataset", help="reviewed empty_truck flags (JSONL + crops) -> empty/ loaded/ folders")
    dataset.add_argument("reviewed", help="JSON-lines file of reviewed flags (see vision/flags/README.md)")
    dataset.add_argument("--out", required=True, help="dataset folder to write (train/ and val/)")
    dataset.add_argument("--val-fraction", type=float, default=0.2, help="share of flags held out (stable by flag id)")
    dataset.set_defaults(handler=_dataset)

    train = sub.add_parser("train", help="train a yolov8n-cls on a dataset folder and export it to ONNX")
    train.add_argument("--data", required=True, help="dataset folder from `gatewatch flags dataset`")
    train.add_argument("--out", required=True, help="ONNX file to write")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--imgsz", type=int, default=96)
    train.add_argument("--batch", type=int, default=16)
    train.add_argument("--weights", help="local .pt checkpoint to start from (default: from scratch)")
    train.set_defaults(handler=_train)


def _dataset(args: argparse.Namespace) -> int:
    from gatewatch.vision.flags.training import build_dataset

    summary = build_dataset(args.reviewed, args.out, args.val_fraction)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(summary.skipped.items())) or "none"
    print(f"{summary.root}: {counts} (skipped: {skipped})")
    return 0


def _train(args: argparse.Namespace) -> int:
    from gatewatch.vision.flags.training import train_classifier

    result = train_classifier(args.data, args.out, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
                              weights=args.weights)
    top1 = f"{result.top1:.3f}" if result.top1 is not None else "n/a"
    print(f"{result.onnx_path}: classes {result.names}, val top-1 {top1}, ONNX parity max |diff| "
          f"{result.parity_max_abs:.1e} on {result.parity_images} images (output spread {result.output_spread:.2f})")
    print(f"use it with flags.empty_truck.classifier.model: {result.onnx_path}")
    return 0
