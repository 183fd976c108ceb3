"""The base of every camera-config section, and the one place a section is validated.

Each section of the camera YAML (``source``, ``lanes``, ``plates``, ``flags``, ``delivery``,
``mqtt``, ...) is a frozen pydantic model that refuses unknown fields, so a misspelt gate
setting fails at start. ``validate_section`` turns a failed validation into one
``ConfigError`` whose lines read ``file: section.field: why``.

This module imports pydantic and the standard library only: config models stay light enough
for ``gatewatch config check`` on a bare edge box (no onnxruntime, OpenCV, httpx or paho).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from gatewatch.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """A config section: unknown fields are refused, values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def validate_section(model: type[M], data: Any, source: str | None = None, section: Sequence[str] = ()) -> M:
    """``model`` validated from ``data``; raises ``ConfigError`` with one ``file: section.field: why`` line per error.

    Example::

        >>> validate_section(FlagsConfig, {"held": {"zones": []}}, "cam.yaml", ["flags"])
        ConfigError: cam.yaml: flags.held.zones: List should have at least 1 item after validation, not 0
    """
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError.from_validation(err, source, section, model) from None
