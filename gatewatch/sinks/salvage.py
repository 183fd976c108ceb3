"""Reading what is left of a damaged outbox file: its tables, a repaired header, raw pages, a torn WAL.

``Outbox`` calls these when its file is damaged (``damage_of`` says how, before SQLite opens it)
and after moving the file aside. Everything works on a private copy, so the file kept aside stays
exactly as it was found. Three sources, best first:

1. the tables, read through SQLite in rowid windows (damaged windows skipped);
2. the same with the first 100 bytes (the SQLite header) rebuilt from a fresh database of each
   page size, when the header itself is gone;
3. event bodies carved from the raw bytes of the file and its WAL (an event's JSON text lies
   whole in its page), which finds events in torn or cut-off WAL frames SQLite no longer shows.

Example::

    >>> damage_of(Path("outbox.sqlite"))
    'the WAL ends in a partial frame (1234 bytes after the last whole frame)'
    >>> found = read_outbox(Path("copy.sqlite"))
    >>> len(found.events), found.lost_ranges
    (12, 0)
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatewatch.events import parse_event

_HEADER = b"SQLite format 3\x00"
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)
_EVENT_START = b'{"kind":"'
_MAX_BODY = 64 * 1024


@dataclass
class Found:
    """What could be read from a damaged outbox (rows as in the ``events``/``rejected``/``evidence`` tables)."""

    events: list[tuple[Any, ...]] = field(default_factory=list)  # event_id, kind, body, created_at, delivered_at
    rejected: list[tuple[Any, ...]] = field(default_factory=list)  # as the rejected table
    evidence: list[tuple[Any, ...]] = field(default_factory=list)  # event_id, role, file, content_type, size, state
    meta: dict[str, str] = field(default_factory=dict)
    lost_ranges: int = 0  # rowid windows that could not be read
    header_repaired: bool = False


def damage_of(path: Path) -> str | None:
    """Why ``path`` (with its ``-wal``) needs salvage before SQLite may open it, or ``None``.

    Catches what SQLite would accept silently: a 0-byte file, and a WAL that ends in a partial frame
    (cut or torn: SQLite drops the frames after the last whole commit without a word).
    """
    if path.is_file() and path.stat().st_size == 0:
        wal = Path(f"{path}-wal")
        extra = f" (its WAL holds {wal.stat().st_size} bytes)" if wal.is_file() and wal.stat().st_size else ""
        return f"the file is empty (0 bytes){extra}"
    wal = Path(f"{path}-wal")
    if not wal.is_file():
        return None
    size = wal.stat().st_size
    if size == 0:
        return None
    with open(wal, "rb") as fh:
        header = fh.read(32)
    if len(header) < 32:
        return f"the WAL is cut inside its header ({size} bytes)"
    page_size = struct.unpack(">I", header[8:12])[0]
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        return f"the WAL header is damaged (page size {page_size})"
    partial = (size - 32) % (24 + page_size)
    if partial:
        return f"the WAL ends in a partial frame ({partial} bytes after the last whole frame)"
    return None


def _read_tables(path: Path) -> Found | None:
    """The tables of an outbox copy at ``path``, read in rowid windows; ``None`` if SQLite cannot read it."""
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA writable_schema = ON")  # read on even when the schema page is odd
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        return None
    found = Found()
    try:
        found.events, lost_events = _readable_rows(conn, "events", "event_id, kind, body, created_at, delivered_at")
        found.rejected, lost_rejected = _readable_rows(
            conn, "rejected", "event_id, kind, body, reason, status, created_at, rejected_at"
        )
        found.evidence, _ = _readable_rows(conn, "evidence", "event_id, role, file, content_type, size, state")
        found.lost_ranges = lost_events + lost_rejected
        with contextlib.suppress(sqlite3.Error):
            found.meta = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta").fetchall()}
    finally:
        conn.close()
    return found


def _readable_rows(conn: sqlite3.Connection, table: str, columns: str) -> tuple[list[tuple[Any, ...]], int]:
    """Rows of ``table`` read in rowid windows of 64, skipping windows on damaged pages."""
    try:
        top = conn.execute(f"SELECT MAX(rowid) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        try:
            top = conn.execute("SELECT MAX(seq) FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()[0]
        except sqlite3.Error:
            top = None
    top = int(top or 100_000)
    rows: list[tuple[Any, ...]] = []
    lost = 0
    for start in range(0, top + 1, 64):
        try:
            rows += conn.execute(
                f"SELECT {columns} FROM {table} NOT INDEXED WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
                (start, start + 64),
            ).fetchall()
        except sqlite3.Error:
            lost += 1
    return rows, lost


def _fresh_header(page_size: int, folder: Path) -> bytes:
    """The first 100 bytes of a new outbox-like database with this page size (WAL, incremental vacuum)."""
    path = folder / f"fresh-{page_size}.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA page_size = {page_size}")
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path.read_bytes()[:100]


def _with_header(damaged: bytes, header: bytes, page_size: int) -> bytes:
    """``damaged`` with ``header`` in its first 100 bytes, the page count set from the file's length."""
    fixed = bytearray(header)
    fixed[28:32] = struct.pack(">I", len(damaged) // page_size)  # in-header database size
    fixed[32:40] = b"\x00" * 8  # no freelist: its pages are simply not reused
    return bytes(fixed) + damaged[100:]


def read_outbox(aside: Path) -> Found:
    """Everything readable in the outbox file ``aside`` (and ``aside-wal``), which is left untouched."""
    with tempfile.TemporaryDirectory(prefix="gatewatch-salvage-") as tmp:
        folder = Path(tmp)
        copy = folder / "copy.sqlite"
        if aside.is_file():
            shutil.copyfile(aside, copy)
        wal = Path(f"{aside}-wal")
        if wal.is_file():
            shutil.copyfile(wal, f"{copy}-wal")
        data = copy.read_bytes() if copy.is_file() else b""
        if not data:
            return Found()
        if data.startswith(_HEADER):
            found = _read_tables(copy)
            if found is not None:
                return found
        # The header is gone: rebuild it for each page size and keep the reading that finds the most.
        best = Found()
        wal_bytes = Path(f"{copy}-wal").read_bytes() if Path(f"{copy}-wal").is_file() else b""
        for page_size in _PAGE_SIZES:
            if len(data) % page_size:
                continue
            trial = folder / f"trial-{page_size}.sqlite"
            trial.write_bytes(_with_header(data, _fresh_header(page_size, folder), page_size))
            if wal_bytes:
                Path(f"{trial}-wal").write_bytes(wal_bytes)
            found = _read_tables(trial)
            if found is not None and len(found.events) + len(found.rejected) > len(best.events) + len(best.rejected):
                best = found
                best.header_repaired = True
        return best


def carve_events(*blobs: bytes) -> dict[str, str]:
    """Event bodies (``event_id`` → exact JSON text) found whole in raw bytes; each re-validated."""
    decoder = json.JSONDecoder()
    found: dict[str, str] = {}
    for blob in blobs:
        start = blob.find(_EVENT_START)
        while start >= 0:
            chunk = blob[start : start + _MAX_BODY]
            text = chunk.decode("utf-8", errors="surrogateescape")
            try:
                obj, end = decoder.raw_decode(text)
                body = text[:end]
                body.encode("utf-8")  # no undecodable bytes inside
                event = parse_event(body)
            except (ValueError, UnicodeEncodeError):
                start = blob.find(_EVENT_START, start + 1)
                continue
            if isinstance(obj, dict):
                found.setdefault(str(event.event_id), body)
            start = blob.find(_EVENT_START, start + len(body.encode("utf-8")))
    return found
