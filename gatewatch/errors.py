"""Errors that stop a run at start, each with a one-line message and an exit code."""

from __future__ import annotations


class GatewatchError(Exception):
    """Base class: ``str(err)`` is the one-line message shown to the user."""

    exit_code = 1


class ConfigError(GatewatchError):
    """A camera config or setting is missing or invalid."""

    exit_code = 2


class ModelError(GatewatchError):
    """A model cannot be found, loaded or run."""

    exit_code = 3


class SourceError(GatewatchError):
    """A frame source cannot be opened (missing file, unreachable stream, not a video)."""

    exit_code = 4
