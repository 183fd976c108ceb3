"""Deterministic ids for what the edge reports: the same crossing or flag gets the same id.

Ids are UUIDv5 under one gatewatch namespace, named from what identifies the moment at the
gate: gate, camera, the frame's key (``Frame.key``: a file's content identity and the frame
index, or a live frame's UTC time), the track, and what happened. Replaying a file, or
restarting after a crash and reading the same file again, yields the same ids, so the API
stores each crossing once; another file, camera or gate yields other ids.

Example::

    >>> crossing_id("huu-nghi", "cam-1", "file:2160675-357b...#310", 7, "import-1", "entry")
    UUID('...')  # the same on every run
"""

from __future__ import annotations

import uuid

GATEWATCH_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://gatewatch.invalid/edge-event-ids/v1")


def _name(*parts: object) -> str:
    # "\x1f" (unit separator) cannot occur in gate or camera names typed in a YAML file by accident.
    return "\x1f".join(str(p) for p in parts)


def crossing_id(gate: str, camera: str, frame_key: str, track_id: int, lane: str, direction: str) -> uuid.UUID:
    """Event id of a crossing of ``lane`` by ``track_id`` on the frame ``frame_key``."""
    return uuid.uuid5(GATEWATCH_NAMESPACE, _name("crossing", gate, camera, frame_key, track_id, lane, direction))


def flag_id(gate: str, camera: str, kind: str, frame_key: str, subject: str) -> uuid.UUID:
    """Id of a flag of ``kind`` raised on the frame ``frame_key`` for ``subject`` (track, zone, plate)."""
    return uuid.uuid5(GATEWATCH_NAMESPACE, _name("flag", gate, camera, kind, frame_key, subject))


def flag_event_id(flag: uuid.UUID, phase: str, frame_key: str) -> uuid.UUID:
    """Event id of one phase (start, update, end) of a flag, emitted on the frame ``frame_key``."""
    return uuid.uuid5(GATEWATCH_NAMESPACE, _name("flag-event", flag, phase, frame_key))


__all__ = ["GATEWATCH_NAMESPACE", "crossing_id", "flag_event_id", "flag_id"]
