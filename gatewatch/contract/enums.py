"""The closed vocabularies of the wire: event kinds, crossing directions, flag kinds and phases, classes."""

from __future__ import annotations

from enum import Enum


class EventKind(str, Enum):
    """What an event reports: a ``crossing`` of a lane's gate line or a ``flag`` phase."""

    CROSSING = "crossing"
    FLAG = "flag"


class Direction(str, Enum):
    """Direction of a crossing: ``entry`` (import, into the country) or ``exit`` (export)."""

    ENTRY = "entry"
    EXIT = "exit"


class FlagKind(str, Enum):
    """Why a vehicle needs an operator's look."""

    HELD = "held"
    HOLD_LIST = "hold_list"
    EMPTY_TRUCK = "empty_truck"


class FlagPhase(str, Enum):
    """Life cycle of a flag: raised, updated while it lasts, ended."""

    START = "start"
    UPDATE = "update"
    END = "end"


class VehicleClass(str, Enum):
    """The vehicle classes the stock detector names at a gate.

    ``vehicle_class`` on the wire stays free text (up to ``CLASS_MAX``): a site's own model may name
    other classes, and the API stores whatever the edge's model said.
    """

    CAR = "car"
    TRUCK = "truck"
    BUS = "bus"
    MOTORCYCLE = "motorcycle"
