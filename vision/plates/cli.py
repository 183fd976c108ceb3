"""``gatewatch plates train``: train gatewatch's own plate line recogniser (needs torch; see ``train.py``)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    plates = subparsers.add_parser("plates", help="plate tools: train gatewatch's own plate recogniser")
    sub = plates.add_subparsers(dest="plates_command", metavar="ACTION")
    train = sub.add_parser(
        "train", help="train the `own` line recogniser on synthetic plates (+ the VN dev crops), export ONNX, write a card"
    )
    train.add_argument("--out", required=True, help="folder for the .onnx, the .pt, train_log.txt and MODEL_CARD.md")
    train.add_argument("--seed", type=int, default=0, help="seed of the weights and the data stream")
    train.add_argument("--steps", type=_bounded(1, 1_000_000), default=2000, help="optimiser steps (the schedule's length)")
    train.add_argument("--minutes", type=float, default=40.0, help="wall-clock cap: stop early (logged) when reached")
    train.add_argument("--batch", type=_bounded(2, 1024), default=48, help="text lines per step")
    train.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
    train.add_argument("--real-dev", action="store_true",
                       help="also train on the dev half of the shared VN crops (never the held-out half)")
    train.add_argument("--threads", type=_bounded(1, 64), default=1, help="torch threads (1: the card's runs)")
    train.add_argument("--eval-every", type=_bounded(1, 1_000_000), default=500, help="steps between evaluations")
    train.set_defaults(handler=_train)


def _bounded(low: int, high: int) -> type[int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in {low}..{high}")
        return value

    return parse  # type: ignore[return-value]


def _train(args: argparse.Namespace) -> int:
    from gatewatch.vision.plates.train import TrainSettings, train

    settings = TrainSettings(out=args.out, seed=args.seed, steps=args.steps, minutes=args.minutes, batch=args.batch,
                             lr=args.lr, real_dev=args.real_dev, eval_every=args.eval_every, threads=args.threads)
    result = train(settings)
    print(f"wrote {result.onnx} ({result.steps_done} steps, {result.seconds / 60:.1f} min; "
          f"ONNX parity {result.parity_max_rel:.1e}, same decode {result.parity_same_decode})")
    return 0
