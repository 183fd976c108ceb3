"""The ``gatewatch`` command.

Each feature area registers its own sub-commands through a ``register(subparsers)``
function in its ``cli`` module (listed in ``COMMAND_MODULES``); heavy imports happen inside
the command handlers, so ``gatewatch --help`` stays fast and works on a bare edge install.
A handler returns an exit code; a ``GatewatchError`` becomes its exit code and one
``gatewatch: error:`` line per problem (a config with three bad fields: three lines).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from gatewatch import __version__
from gatewatch.errors import GatewatchError

COMMAND_MODULES = (
    "gatewatch.vision.cli",  # run, config check
    "gatewatch.models.cli",  # models export / quantize / list
    "gatewatch.api.cli",  # serve, users, keys
    "gatewatch.sinks.cli",  # outbox status
    "gatewatch.vision.flags.cli",  # flags dataset / train
    "gatewatch.vision.plates.cli",  # plates train
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatewatch", description="Vehicle counting and flagging at border gates.")
    parser.add_argument("--version", action="version", version=f"gatewatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that feature is not part of this install
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except GatewatchError as exc:
        for line in str(exc).splitlines() or [""]:
            print(f"gatewatch: error: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
