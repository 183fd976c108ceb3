"""Flags for the operator: held vehicles, plates on the hold list, empty trucks.

``build_flag_stages(config, fps, frame_size)`` turns a camera's ``flags:`` section into
pipeline stages (``gatewatch.vision.stages.Stage``: ``update(frame, tracks)``, ``forget(frame, ids)``
and ``finish(frame)`` returning ``FlagChange`` lists; the event builder makes the events and
writes the evidence ``flag_evidence(config)`` names). See ``README.md`` beside this file for the
fields and the limits.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatewatch.errors import ConfigError
from gatewatch.strict import validate_section
from gatewatch.vision.flags.config import (
    EmptyTruckConfig,
    FlagsConfig,
    HeldConfig,
    HoldListConfig,
    ZoneConfig,
)

if TYPE_CHECKING:
    from gatewatch.config import CameraConfig

# The stages pull in OpenCV/supervision; they load on first use so that ``gatewatch --help``
# (which imports this package for its CLI) stays fast.
_LAZY = {
    "CargoClassifier": "cargo", "EmptyTruckStage": "cargo", "SceneBackground": "cargo", "cargo_fill": "cargo",
    "EvidenceWriter": "common", "DwellZone": "held", "HeldStage": "held", "Hold": "holds", "HoldList": "holds",
    "HoldListSource": "holds", "HoldListStage": "holds", "match_plate": "holds",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


log = logging.getLogger(__name__)


def parse_flags_config(data: FlagsConfig | dict[str, Any] | None) -> FlagsConfig:
    """A ``flags:`` section as ``FlagsConfig``; a bad field raises ``ConfigError`` naming ``flags.<field>``."""
    return validate_section(FlagsConfig, data or {}, section=["flags"])


def build_flag_stages(
    config: CameraConfig,
    fps: float,
    frame_size: tuple[int, int],
    reads_plates: bool = False,
) -> list[Any]:
    """The flag stages a camera's ``flags:`` section asks for.

    Args:
        config: the camera config (``config.flags`` was validated with it).
        fps: the source's frame rate; frame_size: ``(width, height)``.
        reads_plates: the camera has a plate stage (its plates come with the tracks); the
            hold-list stage needs it, the held stage uses plates to re-associate.
    """
    from gatewatch.vision.flags.cargo import EmptyTruckStage
    from gatewatch.vision.flags.held import HeldStage
    from gatewatch.vision.flags.holds import HoldListSource, HoldListStage

    flags = parse_flags_config(config.flags)
    width, height = frame_size
    if flags.held:
        for zone in flags.held.zones:
            outside = [(x, y) for x, y in zone.polygon if not (0 <= x <= width and 0 <= y <= height)]
            if outside:
                raise ConfigError(f"flags.held.zones.{zone.id}.polygon: {outside[0]} is outside the {width}x{height} frame")
    stages: list[Any] = []
    if flags.held:
        stages.append(HeldStage(flags.held, fps, flags.update_interval_s))
    if flags.hold_list:
        if not reads_plates:
            log.warning("flags.hold_list is configured but the camera reads no plates: hold-list flags are off")
        else:
            source = HoldListSource(flags.hold_list)
            log.info("hold list: %d plates from %s", len(source.holds), source.loaded_from)
            stages.append(HoldListStage(lambda: source.holds, flags.hold_list.grace_s, flags.update_interval_s))
    if flags.empty_truck:
        stages.append(EmptyTruckStage(flags.empty_truck, fps, frame_size, flags.update_interval_s))
    return stages


def flag_evidence(config: CameraConfig) -> Any:
    """The ``EvidenceWriter`` for a camera's flags: ``<flags.evidence_dir>/<camera>``, or off."""
    from gatewatch.vision.evidence import EvidenceWriter

    flags = parse_flags_config(config.flags)
    folder = str(Path(flags.evidence_dir) / config.camera) if flags.evidence_dir else None
    return EvidenceWriter(folder, flags.jpeg_quality)


__all__ = [
    "CargoClassifier", "DwellZone", "EmptyTruckConfig", "EmptyTruckStage", "EvidenceWriter", "FlagsConfig",
    "HeldConfig", "HeldStage", "Hold", "HoldList", "HoldListConfig", "HoldListSource", "HoldListStage",
    "SceneBackground", "ZoneConfig", "build_flag_stages", "cargo_fill", "flag_evidence", "match_plate",
    "parse_flags_config",
]
