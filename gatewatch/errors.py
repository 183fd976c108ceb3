"""Errors that stop a run at start, each with a one-line message and an exit code."""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Union

if TYPE_CHECKING:
    from pydantic import ValidationError


class GatewatchError(Exception):
    """Base class: ``str(err)`` is the message shown to the user, one line per problem."""

    exit_code = 1


class ConfigError(GatewatchError):
    """A camera config or setting is missing or invalid."""

    exit_code = 2

    @classmethod
    def from_validation(
        cls, err: ValidationError, source: str | None = None, section: Sequence[str] = (), model: Any = None
    ) -> ConfigError:
        """The one formatter for config validation errors: one line per error, ``source: section.field: why``.

        Args:
            err: the pydantic error.
            source: the file (or other origin) named first; ``None`` leaves it out.
            section: where the validated data sits in the camera YAML, e.g. ``("flags",)``.
            model: the model that was validated; with it, list items read ``zones[0]`` and the
                tag of a discriminated union (``reader: {type: rapidocr}``) is left out of the path.
        """
        lines = []
        for e in err.errors():
            path = field_path(model, e["loc"], section) or "(top level)"
            why = "unknown field" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, ")
            line = f"{path}: {' '.join(why.split())}"
            line = f"{source}: {line}" if source else line
            if line not in lines:
                lines.append(line)
        return cls("\n".join(lines))


class ModelError(GatewatchError):
    """A model cannot be found, loaded or run."""

    exit_code = 3


class SourceError(GatewatchError):
    """A frame source cannot be opened (missing file, unreachable stream, not a video)."""

    exit_code = 4


def field_path(model: Any, loc: Sequence[str | int], section: Sequence[str] = ()) -> str:
    """Dotted path of a pydantic error location: ``flags.held.zones[0].polygon``.

    Walks ``model``'s fields along ``loc`` so that the names pydantic adds for union members
    (a discriminator tag such as ``rapidocr``, a type name such as ``list[str]``) are dropped.
    """
    from pydantic import BaseModel

    path = ".".join(section)
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            current = _item_type(current)
            continue
        target = _unwrap(current)
        if isinstance(target, type) and issubclass(target, BaseModel) and part in target.model_fields:
            path += f".{part}" if path else part
            current = target.model_fields[part].annotation
            continue
        members = _union_members(target)
        if members:  # pydantic names the union member it tried: not a field of the config
            current = next((m for m in members if _has_literal(m, part)), None)
            continue
        path += f".{part}" if path else part
        current = None
    return path


def _unwrap(annotation: Any) -> Any:
    """``X`` from ``Annotated[X, ...]`` and from ``X | None``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    members = _union_members(annotation, keep_none=True)
    if members is not None:
        rest = [m for m in members if m is not type(None)]
        if len(rest) == 1:
            return _unwrap(rest[0])
    return annotation


def _union_members(annotation: Any, keep_none: bool = False) -> list[Any] | None:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) not in (Union, types.UnionType):
        return None
    members = [m for m in typing.get_args(annotation) if keep_none or m is not type(None)]
    return [_unwrap(m) for m in members]


def _item_type(annotation: Any) -> Any:
    """Element type of ``list[X]`` / ``tuple[X, ...]``; ``None`` when not known."""
    annotation = _unwrap(annotation)
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (list, tuple, set, frozenset) and args:
        return args[0]
    return None


def _has_literal(model: Any, value: str) -> bool:
    """Whether a model has a ``Literal`` field allowing ``value`` (the tag of a discriminated union)."""
    fields = getattr(model, "model_fields", None) or {}
    return any(
        typing.get_origin(f.annotation) is Literal and value in typing.get_args(f.annotation) for f in fields.values()
    )
