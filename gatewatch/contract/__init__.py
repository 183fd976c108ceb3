"""The wire contract between the edge box and the gate API, in one place.

Both sides import from here: the edge builds and sends these records, the API parses and stores
them with the same models.

- ``events``: ``CrossingEvent``, ``FlagEvent``, ``PlateRead``, the one ``Event`` union and
  ``event_adapter`` (discriminated on ``kind``), and the wire form without edge-local file paths;
- ``holds``: one hold-list entry (``HoldEntry``) and the list an edge box fetches (``HoldsForEdge``);
- ``plates``: ``plate_key``, the one form of a plate both sides match and search on, and the
  look-alike map fuzzy matching folds through (never the key itself);
- ``enums``: event kinds, directions, flag kinds and phases, vehicle classes;
- ``limits``: field sizes and time range that match the API's columns, and their checks.
"""

from __future__ import annotations

from gatewatch.contract.enums import Direction, EventKind, FlagKind, FlagPhase, VehicleClass
from gatewatch.contract.events import (
    EDGE_LOCAL_FIELDS,
    Box,
    CrossingEvent,
    Event,
    FlagEvent,
    GateEvent,
    PlateRead,
    event_adapter,
    parse_event,
    strip_edge_local,
    wire_body,
    wire_dict,
)
from gatewatch.contract.holds import HoldEntry, HoldsForEdge
from gatewatch.contract.limits import (
    CLASS_MAX,
    DETAILS_MAX_BYTES,
    DETAILS_MAX_DEPTH,
    DETAILS_MAX_ITEMS,
    DETAILS_MAX_KEY,
    DETAILS_MAX_TEXT,
    EARLIEST,
    INT32_MAX,
    JSON_INT_MAX,
    LATEST,
    MAX_EVENT_BYTES,
    NAME_MAX,
    PATH_MAX,
    PLATE_MAX,
    PLATE_RAW_MAX,
    check_details,
    check_free_text,
    check_text,
    check_time,
    fit_text,
)
from gatewatch.contract.plates import LOOKALIKES, fold_lookalikes, lookalike_class, plate_key

__all__ = [
    "CLASS_MAX", "DETAILS_MAX_BYTES", "DETAILS_MAX_DEPTH", "DETAILS_MAX_ITEMS", "DETAILS_MAX_KEY", "DETAILS_MAX_TEXT",
    "EARLIEST", "EDGE_LOCAL_FIELDS", "INT32_MAX", "JSON_INT_MAX", "LATEST", "LOOKALIKES", "MAX_EVENT_BYTES",
    "NAME_MAX", "PATH_MAX", "PLATE_MAX", "PLATE_RAW_MAX",
    "Box", "CrossingEvent", "Direction", "Event", "EventKind", "FlagEvent", "FlagKind", "FlagPhase", "GateEvent",
    "HoldEntry", "HoldsForEdge", "PlateRead", "VehicleClass",
    "check_details", "check_free_text", "check_text", "check_time", "event_adapter", "fit_text", "fold_lookalikes",
    "lookalike_class", "parse_event", "plate_key", "strip_edge_local", "wire_body", "wire_dict",
]
