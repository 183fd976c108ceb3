"""Flags for the operator: held vehicles, plates on the hold list, empty trucks.

``build_flag_stages(config, fps, frame_size)`` turns a camera's ``flags:`` section into
pipeline stages (``TrackStage``: ``update(frame, tracks)`` / ``finish(frame)`` returning
``FlagEvent`` lists). See ``README.md`` beside this file for the fields and the limits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatewatch.errors import ConfigError
from gatewatch.events import PlateRead
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
    plate_for: Callable[[int], PlateRead | None] | None = None,
) -> list[Any]:
    """The flag stages a camera's ``flags:`` section asks for.

    Args:
        config: the camera config (``config.flags`` was validated with it).
        fps: the source's frame rate; frame_size: ``(width, height)``.
        plate_for: optional plate lookup; the hold-list stage needs it, the held stage uses it
            to attach plates and re-associate.
    """
    from gatewatch.vision.flags.cargo import EmptyTruckStage
    from gatewatch.vision.flags.common import EvidenceWriter
    from gatewatch.vision.flags.held import HeldStage
    from gatewatch.vision.flags.holds import HoldListSource, HoldListStage

    flags = parse_flags_config(config.flags)
    width, height = frame_size
    if flags.held:
        for zone in flags.held.zones:
            outside = [(x, y) for x, y in zone.polygon if not (0 <= x <= width and 0 <= y <= height)]
            if outside:
                raise ConfigError(f"flags.held.zones.{zone.id}.polygon: {outside[0]} is outside the {width}x{height} frame")
    evidence_dir = flags.evidence_dir
    if evidence_dir:
        evidence_dir = str(Path(evidence_dir) / config.camera)
    evidence = EvidenceWriter(evidence_dir, flags.jpeg_quality)
    stages: list[Any] = []
    if flags.held:
        stages.append(HeldStage(flags.held, config.gate, config.camera, fps, evidence, flags.update_interval_s, plate_for))
    if flags.hold_list:
        if plate_for is None:
            log.warning("flags.hold_list is configured but no plate lookup was given: hold-list flags are off")
        else:
            source = HoldListSource(flags.hold_list)
            log.info("hold list: %d plates from %s", len(source.holds), source.loaded_from)
            stages.append(HoldListStage(lambda: source.holds, plate_for, config.gate, config.camera,
                                        flags.hold_list.grace_s, flags.update_interval_s))
    if flags.empty_truck:
        stages.append(EmptyTruckStage(flags.empty_truck, config.gate, config.camera, fps, frame_size, evidence,
                                      flags.update_interval_s))
    return stages


__all__ = [
    "CargoClassifier", "DwellZone", "EmptyTruckConfig", "EmptyTruckStage", "EvidenceWriter", "FlagsConfig",
    "HeldConfig", "HeldStage", "Hold", "HoldList", "HoldListConfig", "HoldListSource", "HoldListStage",
    "SceneBackground", "ZoneConfig", "build_flag_stages", "cargo_fill", "match_plate", "parse_flags_config",
]
