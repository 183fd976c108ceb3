"""Starting again from a damaged outbox file: every event still readable in it goes into a fresh one.

The reading itself (tables, a rebuilt header, raw pages, a torn WAL) is ``gatewatch.sinks.salvage``;
this is the glue that puts what it found into the new outbox with the images that are still whole.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatewatch.contract import parse_event
from gatewatch.sinks.outbox.evidence import _IMAGE_TYPES, evidence_paths, sniff_image
from gatewatch.sinks.outbox.schema import _TOTALS
from gatewatch.sinks.salvage import carve_events, read_outbox

if TYPE_CHECKING:
    from gatewatch.sinks.outbox.store import Outbox

log = logging.getLogger(__name__)


def salvage_into(outbox: Outbox, aside: Path) -> None:
    """Copy every event still readable in the damaged file ``aside`` (tables, then raw pages) into ``outbox``.

    Images in the evidence folder that a recovered event names are kept and queued; those no
    recovered event names are moved to ``<aside>.evidence/``, never deleted.
    """
    found = read_outbox(aside)
    blobs = [Path(f"{aside}{suffix}").read_bytes() for suffix in ("", "-wal") if Path(f"{aside}{suffix}").is_file()]
    carved = carve_events(*blobs)
    now = time.time()
    events: dict[str, tuple[Any, ...]] = {}  # event_id -> (kind, body, created_at, delivered_at)
    rejected: dict[str, tuple[Any, ...]] = {}
    unreadable = 0
    for event_id, kind, body, created_at, delivered_at in found.events:
        try:
            parse_event(body)
        except (ValueError, TypeError):
            unreadable += 1
            continue
        events[event_id] = (kind, body, created_at, delivered_at)
    for row in found.rejected:
        try:
            parse_event(row[2])
        except (ValueError, TypeError):
            unreadable += 1
            continue
        rejected[row[0]] = row
    from_pages = 0
    for event_id, body in carved.items():
        if event_id not in events and event_id not in rejected:
            events[event_id] = (parse_event(body).kind, body, now, None)
            from_pages += 1
    linked = {(r[0], r[1]): r for r in found.evidence if r[5] == "pending"}
    kept_images = 0
    with outbox._tx() as cur:
        for event_id, (kind, body, created_at, delivered_at) in events.items():
            cur.execute(
                "INSERT OR IGNORE INTO events (event_id, kind, body, created_at, delivered_at) VALUES (?, ?, ?, ?, ?)",
                (event_id, kind, body, created_at, delivered_at),
            )
        cur.executemany("INSERT OR IGNORE INTO rejected VALUES (?, ?, ?, ?, ?, ?, ?)", list(rejected.values()))
        totals = {k: v for k, v in found.meta.items() if k in _TOTALS or k in ("last_delivery_at", "created_at")}
        if totals:
            outbox._set_meta(cur, **totals)
        seqs = dict(cur.execute("SELECT event_id, seq FROM events").fetchall())
        named = {**{k: v[1] for k, v in events.items()}, **{k: v[2] for k, v in rejected.items()}}
        for event_id, body in named.items():
            for role, _source in evidence_paths(parse_event(body)):
                image = _find_image(outbox.evidence_dir, event_id, role, linked.get((event_id, role)))
                if image is None:
                    continue
                file, ctype, size = image
                cur.execute(
                    "INSERT OR IGNORE INTO evidence (event_id, role, event_seq, file, content_type, size)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (event_id, role, seqs.get(event_id, 0), file, ctype, size),
                )
                kept_images += 1
        wanted = {r[0] for r in cur.execute("SELECT file FROM evidence WHERE state = 'pending'")}
    moved = _move_orphans_aside(outbox.evidence_dir, wanted, Path(f"{aside}.evidence"))
    pending = sum(1 for v in events.values() if v[3] is None)
    log.error(
        "outbox salvage from %s: kept %d events (%d undelivered, %d set aside; %d read from the tables%s, "
        "%d carved from raw pages) and %d images. Not saved: %d damaged row ranges, %d unreadable rows, "
        "%d images naming no recovered event (moved to %s)",
        aside, len(events) + len(rejected), pending, len(rejected), len(events) - from_pages + len(rejected),
        " after rebuilding the header" if found.header_repaired else "", from_pages, kept_images,
        found.lost_ranges, unreadable, moved, f"{aside}.evidence",
    )  # fmt: skip


def _find_image(
    evidence_dir: Path, event_id: str, role: str, row: tuple[Any, ...] | None
) -> tuple[str, str, int] | None:
    """``(file, content type, size)`` of the kept copy of one image of a recovered event, if it is whole."""
    names = [row[2]] if row is not None else [f"{event_id}.{role}{sfx}" for _, _, sfx in _IMAGE_TYPES]
    for name in names:
        path = evidence_dir / name
        try:
            data = path.read_bytes()
        except OSError:
            continue
        kind = sniff_image(data)
        if kind is not None:
            return name, kind[0], len(data)
    return None


def _move_orphans_aside(evidence_dir: Path, wanted: set[str], folder: Path) -> int:
    """Move evidence files no kept event names (and half-written ones) to ``folder``; their count."""
    moved = 0
    for entry in sorted(evidence_dir.iterdir()):
        if entry.is_file() and entry.name not in wanted:
            folder.mkdir(exist_ok=True)
            entry.rename(folder / entry.name)
            moved += 1
    return moved
