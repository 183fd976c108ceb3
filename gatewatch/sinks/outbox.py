"""Store-and-forward delivery to the gate API that loses nothing across link drops and restarts.

``OutboxSink.emit`` writes each event (and a copy of its evidence images) to a local SQLite
file in WAL mode with ``synchronous=FULL`` before it returns; a background thread sends
batches to ``POST /api/v1/events`` and marks them delivered only on the API's 200. Ingest is
idempotent by ``event_id``, so a batch that was stored but not acknowledged (a cut link, a
kill) is simply sent again and counted as duplicates. Images go up after their event with
``PUT /api/v1/events/{id}/evidence/{role}``, one by one, each marked when acknowledged, so an
interrupted upload resumes where it stopped.

Failures:

* connection errors, timeouts, 5xx, 429 (an outage): retried with exponential backoff and jitter
  (tenacity), waiting at least the ``Retry-After`` the server sent (seconds or an HTTP date,
  capped at an hour); never sets an event aside;
* 500 for a batch: halved until the event the API fails on is alone; that event is held (tried
  after the rest) and, after ``set_aside_after`` lone failures while the API stored other
  events, moved to the ``rejected`` table with the reason;
* 401/403: logged as errors and retried with the same backoff; nothing is dropped;
* 422 or 409 for a batch: the event the API names (or, failing that, the one found by halving
  the batch) is moved to the ``rejected`` table with the reason; the rest goes on at once;
* a damaged outbox file at start (corrupt, 0 bytes, a cut WAL): logged, kept aside as
  ``<file>.corrupt-<UTC time>``, every event still readable in it (tables, rebuilt header, raw
  pages: ``gatewatch.sinks.salvage``) copied into a fresh file, no image deleted;
* a full disk: ``OutboxSink`` holds events in memory (``gatewatch.sinks.hold``) and writes
  them to the outbox when the disk takes them again.

Disk bound (``max_disk_mb``, database pages plus evidence copies): events are never dropped.
When over the bound, first delivered events whose images are done are purged, then pending
images of the oldest delivered (or rejected) events, then pending images of the oldest
undelivered events. If events alone exceed the bound an error is logged and they are kept.

Example::

    >>> sink = OutboxSink(Outbox("outbox/edge.sqlite"), ApiClient("http://api:8000", "gw_..."))
    >>> sink.emit(event)        # durable when this returns
    >>> sink.stats().pending_events
    1
    >>> sink.close()            # tries to deliver for close_grace_s, then stops cleanly
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_not_exception_type, wait_exponential, wait_random

from gatewatch.contract import Event, FlagEvent, parse_event
from gatewatch.errors import GatewatchError
from gatewatch.sinks.hold import HeldEvents
from gatewatch.sinks.http import (
    ApiClient,
    ApiConfigError,
    AuthError,
    BatchAck,
    BatchRejected,
    BatchTooLarge,
    DeliveryError,
    EvidenceRejected,
    ServerFault,
)
from gatewatch.sinks.salvage import carve_events, damage_of, read_outbox

log = logging.getLogger(__name__)

Image = tuple[str, bytes, str, str]  # role, bytes, content type, file suffix
T = TypeVar("T")

SCHEMA_VERSION = "1"
FORMAT_NAME = "gatewatch-outbox"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    delivered_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_pending ON events (delivered_at, seq);
CREATE TABLE IF NOT EXISTS evidence (
    event_id TEXT NOT NULL,
    role TEXT NOT NULL,
    event_seq INTEGER NOT NULL,
    file TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    reason TEXT,
    updated_at REAL,
    PRIMARY KEY (event_id, role)
);
CREATE INDEX IF NOT EXISTS evidence_state ON evidence (state, event_seq);
CREATE TABLE IF NOT EXISTS rejected (
    event_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    status INTEGER,
    created_at REAL NOT NULL,
    rejected_at REAL NOT NULL
);
"""
_TOTALS = (
    "delivered_total", "accepted_total", "duplicates_total", "rejected_total",
    "evidence_sent_total", "evidence_pruned_total", "evidence_rejected_total", "max_backlog",
)  # fmt: skip
_IMAGE_TYPES = ((b"\xff\xd8\xff", "image/jpeg", ".jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", ".png"))


class OutboxError(GatewatchError):
    """The outbox cannot store an event durably, or its file is not an outbox."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: ``min(max_s, initial_s * 2**(n-1)) + U(0, jitter_s)``."""

    initial_s: float = 1.0
    max_s: float = 60.0
    jitter_s: float = 1.0


@dataclass(frozen=True)
class OutboxStats:
    """Backlog and totals of one outbox file (``asdict`` gives the JSON of ``outbox status``)."""

    path: str
    pending_events: int
    oldest_pending_age_s: float | None
    pending_evidence: int
    pending_evidence_bytes: int
    kept_delivered_events: int
    rejected_events: int
    disk_bytes: int
    max_disk_bytes: int
    delivered_total: int
    accepted_total: int
    duplicates_total: int
    rejected_total: int
    evidence_sent_total: int
    evidence_pruned_total: int
    evidence_rejected_total: int
    max_backlog: int
    last_delivery_at: str | None
    last_error: str | None
    held_in_memory: int = 0  # events the disk would not take, kept in memory (OutboxSink)
    held_in_memory_bytes: int = 0
    dropped_images_total: int = 0  # images dropped from memory to keep events (this run)
    dropped_events_total: int = 0  # events dropped from memory over its bound (this run)
    store_errors_total: int = 0  # failed attempts to store an event (this run)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One log line: backlog size and age, images, disk use, totals."""
        age = "-" if self.oldest_pending_age_s is None else f"{self.oldest_pending_age_s:.0f} s"
        return (
            f"backlog {self.pending_events} events (oldest {age}), {self.pending_evidence} images "
            f"({self.pending_evidence_bytes / 1e6:.1f} MB); disk {self.disk_bytes / 1e6:.1f}/"
            f"{self.max_disk_bytes / 1e6:.0f} MB; delivered {self.delivered_total} "
            f"(duplicates {self.duplicates_total}), rejected {self.rejected_total}, "
            f"images sent {self.evidence_sent_total} pruned {self.evidence_pruned_total}"
            + (
                f"; NOT STORED: {self.held_in_memory} events held in memory "
                f"({self.held_in_memory_bytes / 1e6:.1f} MB), dropped {self.dropped_images_total} images "
                f"and {self.dropped_events_total} events"
                if self.held_in_memory or self.dropped_events_total or self.dropped_images_total
                else ""
            )
        )

    @classmethod
    def unopened(cls, path: Path, max_disk_bytes: int) -> OutboxStats:
        """The figures of an outbox that could not be opened yet (disk full at start)."""
        return cls(str(path), 0, None, 0, 0, 0, 0, 0, max_disk_bytes, 0, 0, 0, 0, 0, 0, 0, 0, None, "not open")


@dataclass(frozen=True)
class PendingEvent:
    """One undelivered event: its id and its JSON text as it was emitted."""

    event_id: str
    body: str


@dataclass(frozen=True)
class PendingImage:
    """One evidence image waiting for upload (its event is delivered)."""

    event_id: str
    role: str
    file: str
    content_type: str
    size: int


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """``(content type, suffix)`` of JPEG or PNG bytes, else ``None``."""
    for magic, ctype, suffix in _IMAGE_TYPES:
        if data.startswith(magic):
            return ctype, suffix
    return None


def evidence_paths(event: Event) -> list[tuple[str, str]]:
    """``(role, path)`` of the images an event names: crop, snapshot, plate crop."""
    found = [("crop", event.crop_path)]
    if isinstance(event, FlagEvent):
        found.append(("snapshot", event.snapshot_path))
    if event.plate is not None:
        found.append(("plate", event.plate.crop_path))
    return [(role, path) for role, path in found if path]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


class Outbox:
    """The SQLite file and evidence folder (``<file>.evidence/``) of one edge box; thread-safe.

    ``read_only=True`` opens an existing file for inspection (``gatewatch outbox status``)
    while the edge process keeps writing it.
    """

    def __init__(
        self,
        path: str | Path,
        max_disk_mb: float = 512.0,
        retain_delivered_h: float = 24.0,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.evidence_dir = self.path.with_name(self.path.name + ".evidence")
        self.max_disk_bytes = int(max_disk_mb * 1e6)
        self.retain_delivered_s = retain_delivered_h * 3600.0
        self.read_only = read_only
        self._lock = threading.RLock()
        self._last_bound_warning = 0.0
        self._max_backlog = 0
        if read_only:
            if not self.path.is_file():
                raise OutboxError(f"no outbox file at {self.path}")
            self._conn = sqlite3.connect(
                f"file:{self.path}?mode=ro",
                uri=True,
                timeout=10,
                isolation_level=None,
                check_same_thread=False,
            )
            self._check_format()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.evidence_dir.mkdir(exist_ok=True)
            self._conn = self._open_or_recover()
            self._clean_evidence_dir()
        self._evidence_bytes = self._scalar(
            "SELECT COALESCE(SUM(size), 0) FROM evidence WHERE state = 'pending'"
        )
        self._pending = self._scalar("SELECT COUNT(*) FROM events WHERE delivered_at IS NULL")

    # -- opening, corruption -------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            row = conn.execute("PRAGMA quick_check").fetchone()  # before any write to the file
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(
                    f"database disk image is malformed (quick_check: {row and row[0]})"
                )
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes effect on a new file only
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA wal_autocheckpoint = 1")  # each commit into the main file: a cut WAL loses nothing
            conn.executescript(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_or_recover(self) -> sqlite3.Connection:
        damage = damage_of(self.path)
        if damage is None:
            try:
                conn = self._connect()
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc
                damage = str(exc)
            else:
                self._conn = conn
                self._check_format()
                return conn
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        log.error(
            "outbox %s is corrupt (%s): kept aside as %s; starting a fresh outbox with what can be read",
            self.path, damage, aside,
        )  # fmt: skip
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                src.rename(f"{aside}{suffix}")
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot create a fresh outbox {self.path}: {exc}") from exc
        self._conn = conn
        self._check_format()
        self._salvage(aside)
        return conn

    def _check_format(self) -> None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise OutboxError(f"{self.path} is not a gatewatch outbox ({exc})") from exc
        if row is None and not self.read_only:
            with self._tx() as cur:
                cur.executemany(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    [("format", FORMAT_NAME), ("schema_version", SCHEMA_VERSION), ("created_at", _now_iso())],
                )
        elif row is None or row[0] != FORMAT_NAME:
            raise OutboxError(f"{self.path} is not a gatewatch outbox")

    def _salvage(self, aside: Path) -> None:
        """Copy every event still readable in the damaged file ``aside`` (tables, then raw pages) into this one.

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
        with self._tx() as cur:
            for event_id, (kind, body, created_at, delivered_at) in events.items():
                cur.execute(
                    "INSERT OR IGNORE INTO events (event_id, kind, body, created_at, delivered_at) VALUES (?, ?, ?, ?, ?)",
                    (event_id, kind, body, created_at, delivered_at),
                )
            cur.executemany("INSERT OR IGNORE INTO rejected VALUES (?, ?, ?, ?, ?, ?, ?)", list(rejected.values()))
            totals = {k: v for k, v in found.meta.items() if k in _TOTALS or k in ("last_delivery_at", "created_at")}
            if totals:
                self._set_meta(cur, **totals)
            seqs = dict(cur.execute("SELECT event_id, seq FROM events").fetchall())
            named = {**{k: v[1] for k, v in events.items()}, **{k: v[2] for k, v in rejected.items()}}
            for event_id, body in named.items():
                for role, _source in evidence_paths(parse_event(body)):
                    image = self._find_image(event_id, role, linked.get((event_id, role)))
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
        moved = self._move_orphans_aside(wanted, Path(f"{aside}.evidence"))
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
        self, event_id: str, role: str, row: tuple[Any, ...] | None
    ) -> tuple[str, str, int] | None:
        """``(file, content type, size)`` of the kept copy of one image of a recovered event, if it is whole."""
        names = [row[2]] if row is not None else [f"{event_id}.{role}{sfx}" for _, _, sfx in _IMAGE_TYPES]
        for name in names:
            path = self.evidence_dir / name
            try:
                data = path.read_bytes()
            except OSError:
                continue
            kind = sniff_image(data)
            if kind is not None:
                return name, kind[0], len(data)
        return None

    def _move_orphans_aside(self, wanted: set[str], folder: Path) -> int:
        """Move evidence files no kept event names (and half-written ones) to ``folder``; their count."""
        moved = 0
        for entry in sorted(self.evidence_dir.iterdir()):
            if entry.is_file() and entry.name not in wanted:
                folder.mkdir(exist_ok=True)
                entry.rename(folder / entry.name)
                moved += 1
        return moved

    def _clean_evidence_dir(self) -> None:
        """Remove half-written copies and files no pending image refers to (a crash before commit)."""
        wanted = {r[0] for r in self._conn.execute("SELECT file FROM evidence WHERE state = 'pending'")}
        for entry in self.evidence_dir.iterdir():
            if entry.is_file() and entry.name not in wanted:
                entry.unlink(missing_ok=True)

    # -- helpers ---------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                with suppress(sqlite3.Error):  # SQLite may have rolled back itself (disk full)
                    cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def _scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()[0]

    @staticmethod
    def _add_totals(cur: sqlite3.Cursor, **amounts: int) -> None:
        for key, amount in amounts.items():
            cur.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
                (key, amount),
            )

    @staticmethod
    def _set_meta(cur: sqlite3.Cursor, **values: str) -> None:
        cur.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items()))

    def _write_file(self, name: str, data: bytes) -> None:
        tmp = self.evidence_dir / (name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.evidence_dir / name)

    # -- writing -----------------------------------------------------------------------------

    def add(self, event: Event) -> bool:
        """Store an event and copies of its images durably; ``False`` if its id was already stored.

        Raises ``OutboxError`` when the event cannot be stored (disk full, I/O error).
        """
        return self.store(event, self.read_evidence(event))

    @staticmethod
    def read_evidence(event: Event) -> list[Image]:
        """The evidence images an event names, read now: ``(role, bytes, content type, suffix)``."""
        event_id = str(event.event_id)
        images: list[Image] = []
        for role, source in evidence_paths(event):
            try:
                data = Path(source).read_bytes()
            except OSError as exc:
                log.warning(
                    "event %s: evidence %s %s unreadable (%s); sending the event without it",
                    event_id,
                    role,
                    source,
                    exc,
                )
                continue
            kind = sniff_image(data)
            if kind is None:
                log.warning("event %s: evidence %s %s is not JPEG or PNG; not sent", event_id, role, source)
                continue
            images.append((role, data, *kind))
        return images

    def store(self, event: Event, images: list[Image]) -> bool:
        """Store an event and the images read for it (``read_evidence``); ``False`` if already stored."""
        event_id = str(event.event_id)
        body = event.model_dump_json()
        with self._lock:
            if self._conn.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone():
                return False
            written: list[str] = []
            try:
                for role, data, _ctype, suffix in images:
                    name = f"{event_id}.{role}{suffix}"
                    self._write_file(name, data)
                    written.append(name)
                if written:
                    _fsync_dir(self.evidence_dir)
                with self._tx() as cur:
                    cur.execute(
                        "INSERT INTO events (event_id, kind, body, created_at) VALUES (?, ?, ?, ?)",
                        (event_id, event.kind, body, time.time()),
                    )
                    seq = cur.lastrowid
                    cur.executemany(
                        "INSERT INTO evidence (event_id, role, event_seq, file, content_type, size) VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (event_id, role, seq, f"{event_id}.{role}{sfx}", ct, len(d))
                            for role, d, ct, sfx in images
                        ],
                    )
            except (OSError, sqlite3.Error) as exc:
                for name in written:
                    (self.evidence_dir / name).unlink(missing_ok=True)
                raise OutboxError(f"outbox {self.path}: cannot store event {event_id}: {exc}") from exc
            self._pending += 1
            self._evidence_bytes += sum(len(d) for _, d, _, _ in images)
            self._max_backlog = max(self._max_backlog, self._pending)
            try:
                self.enforce_bound()
            except sqlite3.Error as exc:  # the event is stored; purging waits for space
                log.warning("outbox %s: cannot enforce the disk bound now (%s)", self.path, exc)
        return True

    def pending_events(self, limit: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[PendingEvent]:
        """The oldest undelivered events, in the order they were produced, leaving out ``exclude``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT event_id, body FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT ?",
                (limit + len(exclude),),
            ).fetchall()
        return [PendingEvent(*row) for row in rows if row[0] not in exclude][:limit]

    def pending_event(self, event_id: str) -> PendingEvent | None:
        """One undelivered event by id, or ``None`` (delivered, set aside or unknown)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT event_id, body FROM events WHERE event_id = ? AND delivered_at IS NULL", (event_id,)
            ).fetchone()
        return None if row is None else PendingEvent(*row)

    def count_failure(self, event_id: str, reason: str) -> int:
        """Count one failure of an event sent alone while the API stored others; the count so far."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE events SET attempts = attempts + 1 WHERE event_id = ? AND delivered_at IS NULL", (event_id,)
            )
            self._set_meta(cur, last_error=f"{_now_iso()} event {event_id}: {reason}"[:500])
            row = cur.execute("SELECT attempts FROM events WHERE event_id = ?", (event_id,)).fetchone()
        return 0 if row is None else int(row[0])

    def mark_delivered(self, event_ids: list[str], accepted: int, duplicates: int) -> None:
        """Record the API's acknowledgement of a batch."""
        with self._tx() as cur:
            marks = ",".join("?" * len(event_ids))
            cur.execute(
                f"UPDATE events SET delivered_at = ?, attempts = attempts + 1 WHERE delivered_at IS NULL AND event_id IN ({marks})",
                (time.time(), *event_ids),
            )
            done = cur.rowcount
            backlog = max(self._pending, self._max_backlog)
            self._add_totals(cur, delivered_total=done, accepted_total=accepted, duplicates_total=duplicates)
            cur.execute(
                "INSERT INTO meta (key, value) VALUES ('max_backlog', ?) ON CONFLICT(key) DO UPDATE SET "
                "value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                (backlog,),
            )
            self._set_meta(cur, last_delivery_at=_now_iso(), last_error="")
            self._pending -= done

    def reject(self, event_id: str, reason: str, status: int | None) -> None:
        """Move an event the API refused to the ``rejected`` table, with the reason."""
        with self._tx() as cur:
            row = cur.execute(
                "SELECT kind, body, created_at FROM events WHERE event_id = ?", (event_id,)
            ).fetchone()
            if row is None:
                return
            cur.execute(
                "INSERT OR REPLACE INTO rejected VALUES (?, ?, ?, ?, ?, ?, ?)",
                (event_id, row[0], row[1], reason, status, row[2], time.time()),
            )
            cur.execute("DELETE FROM events WHERE event_id = ?", (event_id,))
            self._add_totals(cur, rejected_total=1)
            self._pending -= 1
        log.error(
            "outbox: API rejected event %s (HTTP %s): %s; set aside in 'rejected'", event_id, status, reason
        )

    def requeue_rejected(self, event_ids: list[str] | None = None) -> int:
        """Put set-aside events (all, or those named) back in the queue, once the cause is fixed."""
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT event_id, kind, body, created_at FROM rejected ORDER BY rejected_at"
            ).fetchall()
            if event_ids is not None:
                wanted = set(event_ids)
                rows = [row for row in rows if row[0] in wanted]
            cur.executemany(
                "INSERT OR IGNORE INTO events (event_id, kind, body, created_at) VALUES (?, ?, ?, ?)", rows
            )
            cur.executemany("DELETE FROM rejected WHERE event_id = ?", [(row[0],) for row in rows])
            self._pending += len(rows)
        return len(rows)

    def import_events(self, lines: Iterator[str] | list[str]) -> tuple[int, int]:
        """Queue events from JSON lines (``gatewatch run --events``) this file does not hold; ``(queued, bad)``.

        For an outbox lost or emptied by a fault: the API stores each event id once, so lines it
        already has come back as duplicates, never as second rows. Images still on disk go too.
        """
        queued = bad = 0
        for line in lines:
            if not line.strip():
                continue
            try:
                event = parse_event(line)
            except ValueError:
                bad += 1
                continue
            with self._lock:
                known = self._conn.execute(
                    "SELECT 1 FROM rejected WHERE event_id = ?", (str(event.event_id),)
                ).fetchone()
            if not known and self.store(event, self.read_evidence(event)):
                queued += 1
        return queued, bad

    def note_error(self, message: str) -> None:
        """Remember the last delivery error (shown by ``outbox status``)."""
        with self._tx() as cur:
            self._set_meta(cur, last_error=f"{_now_iso()} {message}"[:500])

    # -- evidence ----------------------------------------------------------------------------

    def pending_images(self, limit: int) -> list[PendingImage]:
        """Images of delivered events not yet acknowledged, oldest event first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT v.event_id, v.role, v.file, v.content_type, v.size FROM evidence v "
                "JOIN events e ON e.event_id = v.event_id "
                "WHERE v.state = 'pending' AND e.delivered_at IS NOT NULL ORDER BY v.event_seq, v.role LIMIT ?",
                (limit,),
            ).fetchall()
        return [PendingImage(*row) for row in rows]

    def read_image(self, image: PendingImage) -> bytes | None:
        """The bytes of a pending image, or ``None`` if its copy is gone (then marked lost)."""
        try:
            return (self.evidence_dir / image.file).read_bytes()
        except OSError as exc:
            self.finish_image(image, "lost", f"copy unreadable: {exc}")
            return None

    def finish_image(self, image: PendingImage, state: str, reason: str | None = None) -> None:
        """Mark an image ``sent``, ``rejected``, ``pruned`` or ``lost`` and delete its copy."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE evidence SET state = ?, reason = ?, updated_at = ? WHERE event_id = ? AND role = ? AND state = 'pending'",
                (state, reason, time.time(), image.event_id, image.role),
            )
            if cur.rowcount:
                self._evidence_bytes -= image.size
                total = {"sent": "evidence_sent_total", "rejected": "evidence_rejected_total"}.get(
                    state, "evidence_pruned_total"
                )
                self._add_totals(cur, **{total: 1})
        (self.evidence_dir / image.file).unlink(missing_ok=True)

    # -- disk bound, retention -------------------------------------------------------------

    def disk_bytes(self) -> int:
        """Bytes counted against the bound: database pages plus pending evidence copies."""
        with self._lock:
            pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
            size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        return pages * size + self._evidence_bytes

    def _purge_delivered(self, where: str, params: tuple[Any, ...], limit: int) -> int:
        with self._tx() as cur:
            ids = [
                r[0]
                for r in cur.execute(
                    "SELECT event_id FROM events e WHERE delivered_at IS NOT NULL AND "
                    + where
                    + " AND NOT EXISTS "
                    "(SELECT 1 FROM evidence v WHERE v.event_id = e.event_id AND v.state = 'pending') ORDER BY seq LIMIT ?",
                    (*params, limit),
                )
            ]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                cur.execute(f"DELETE FROM evidence WHERE event_id IN ({marks})", chunk)
                cur.execute(f"DELETE FROM events WHERE event_id IN ({marks})", chunk)
        if ids:
            with self._lock:
                self._conn.execute("PRAGMA incremental_vacuum")
        return len(ids)

    def purge_expired(self) -> int:
        """Drop delivered events (with their images done) older than the retention time."""
        return self._purge_delivered("delivered_at < ?", (time.time() - self.retain_delivered_s,), 10_000)

    def enforce_bound(self) -> None:
        """Bring disk use under ``max_disk_mb`` by the stated policy; events are never dropped."""
        with self._lock:
            if self.disk_bytes() <= self.max_disk_bytes:
                return
            while self.disk_bytes() > self.max_disk_bytes and self._purge_delivered("1", (), 1000):
                pass
            for undelivered in (False, True):
                cond = "IN" if undelivered else "NOT IN"
                while self.disk_bytes() > self.max_disk_bytes:
                    rows = self._conn.execute(
                        "SELECT event_id, role, file, content_type, size FROM evidence WHERE state = 'pending' AND "
                        f"event_id {cond} (SELECT event_id FROM events WHERE delivered_at IS NULL) ORDER BY event_seq LIMIT 50"
                    ).fetchall()
                    if not rows:
                        break
                    for row in rows:
                        self.finish_image(PendingImage(*row), "pruned", "outbox disk bound")
                        if self.disk_bytes() <= self.max_disk_bytes:
                            break
            used = self.disk_bytes()
            if used > self.max_disk_bytes and time.monotonic() - self._last_bound_warning > 60:
                self._last_bound_warning = time.monotonic()
                log.error(
                    "outbox %s: %d undelivered events alone use %.1f MB, over the %.0f MB bound; keeping them all",
                    self.path, self._pending, used / 1e6, self.max_disk_bytes / 1e6,
                )  # fmt: skip

    # -- reading -----------------------------------------------------------------------------

    def stats(self) -> OutboxStats:
        """Backlog size and age, images, disk use and totals."""
        with self._lock:
            q = self._conn.execute
            pending, oldest = q(
                "SELECT COUNT(*), MIN(created_at) FROM events WHERE delivered_at IS NULL"
            ).fetchone()
            all_image_bytes = q("SELECT COALESCE(SUM(size), 0) FROM evidence WHERE state = 'pending'").fetchone()[0]
            images, image_bytes = q(  # those of set-aside events wait for a resend
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM evidence WHERE state = 'pending' "
                "AND event_id NOT IN (SELECT event_id FROM rejected)"
            ).fetchone()
            kept = q("SELECT COUNT(*) FROM events WHERE delivered_at IS NOT NULL").fetchone()[0]
            rejected = q("SELECT COUNT(*) FROM rejected").fetchone()[0]
            meta = dict(q("SELECT key, value FROM meta").fetchall())
            pages = q("PRAGMA page_count").fetchone()[0] * q("PRAGMA page_size").fetchone()[0]
        totals = {key: int(meta.get(key, 0) or 0) for key in _TOTALS}
        totals["max_backlog"] = max(totals["max_backlog"], self._max_backlog, pending)
        return OutboxStats(
            path=str(self.path),
            pending_events=pending,
            oldest_pending_age_s=None if oldest is None else max(0.0, time.time() - oldest),
            pending_evidence=images,
            pending_evidence_bytes=image_bytes,
            kept_delivered_events=kept,
            rejected_events=rejected,
            disk_bytes=pages + all_image_bytes,
            max_disk_bytes=self.max_disk_bytes,
            last_delivery_at=meta.get("last_delivery_at") or None,
            last_error=meta.get("last_error") or None,
            **totals,
        )

    def event_ids(self, delivered: bool | None = None) -> list[str]:
        """Ids of stored events (all, delivered or undelivered), in production order."""
        where = {None: "1", True: "delivered_at IS NOT NULL", False: "delivered_at IS NULL"}[delivered]
        with self._lock:
            return [
                r[0] for r in self._conn.execute(f"SELECT event_id FROM events WHERE {where} ORDER BY seq")
            ]

    def rejected(self) -> list[tuple[str, str, int | None]]:
        """``(event_id, reason, HTTP status)`` of every event set aside."""
        with self._lock:
            return list(
                self._conn.execute("SELECT event_id, reason, status FROM rejected ORDER BY rejected_at")
            )

    @property
    def pending_count(self) -> int:
        return self._pending

    def close(self) -> None:
        """Checkpoint the WAL and close the file."""
        with self._lock:
            if self._conn is None:
                return
            try:
                if not self.read_only:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.warning("outbox %s: checkpoint at close failed (%s)", self.path, exc)
            self._conn.close()
            self._conn = None  # type: ignore[assignment]


class _Stopped(Exception):
    """The sender was told to stop (end of the close grace period)."""


class OutboxSink:
    """``EventSink`` that stores each event in an ``Outbox`` and delivers it from a background thread.

    ``close()`` flushes: it keeps delivering for up to ``close_grace_s``, then stops the thread
    and closes the file; whatever is left is sent by the next start.

    When the disk will not take an event (full, I/O error) ``emit`` does not fail: the event is
    held in memory (``memory_mb``; images dropped before events) and written to the outbox, in
    order, as soon as the disk takes it. ``outbox=None`` with an ``opener`` starts without a file
    (disk full at start) and opens it when it can.
    """

    def __init__(
        self,
        outbox: Outbox | None,
        client: ApiClient,
        *,
        batch_size: int = 100,
        retry: RetryPolicy | None = None,
        close_grace_s: float = 10.0,
        log_interval_s: float = 60.0,
        send_evidence: bool = True,
        images_per_cycle: int = 8,
        idle_poll_s: float = 1.0,
        set_aside_after: int = 5,
        memory_mb: float = 64.0,
        opener: Callable[[], Outbox] | None = None,
        store_retry_s: float = 1.0,
    ) -> None:
        if outbox is None and opener is None:
            raise ValueError("give an outbox or an opener")
        self.outbox = outbox
        self.opener = opener
        self.store_retry_s = store_retry_s
        self._memory = HeldEvents(int(memory_mb * 1e6))
        self._store_errors = 0
        self._last_store_try = 0.0
        self._last_store_log = -1e9
        self.client = client
        self.batch_size = batch_size
        self.retry = retry or RetryPolicy()
        self.close_grace_s = close_grace_s
        self.log_interval_s = log_interval_s
        self.send_evidence = send_evidence
        self.images_per_cycle = images_per_cycle
        self.idle_poll_s = idle_poll_s
        self.set_aside_after = set_aside_after
        self._batch_limit = batch_size
        self._accepted = 0  # events the API stored new since this sender started
        self._held: dict[str, tuple[float, int]] = {}  # event failing alone: (next try, self._accepted then)
        self._unproven = 0  # events failing alone in a row with nothing stored in between
        self._work = threading.Event()  # new events or close: look for work now
        self._wake = threading.Event()  # cut a backoff sleep short (close, stop)
        self._closing = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._last_log = time.monotonic()
        self._last_purge = 0.0
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="gatewatch-outbox-sender", daemon=True)
        pending = outbox.pending_count if outbox is not None else 0
        if pending and outbox is not None:
            log.info("outbox %s: resuming a backlog of %d events", outbox.path, pending)
        self._thread.start()

    # -- EventSink -------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Store the event durably (or hold it in memory when the disk will not take it), then wake the sender."""
        if self._closed:
            raise OutboxError("outbox sink is closed")
        images = Outbox.read_evidence(event)
        if self.outbox is not None and not len(self._memory):
            try:
                self.outbox.store(event, images)
            except OutboxError as exc:
                self._store_failed(exc)
            else:
                self._work.set()
                return
        dropped_images, dropped_events = self._memory.put(event, images)
        if dropped_events:
            log.error(
                "outbox: memory bound of %.0f MB reached while the disk is full: dropped the %d oldest held "
                "events (%d so far)", self._memory.max_bytes / 1e6, dropped_events, self._memory.dropped_events,
            )  # fmt: skip
        self._work.set()

    def _store_failed(self, exc: Exception) -> None:
        """Count a failed store; log an ERROR at most every 30 s."""
        self._store_errors += 1
        if time.monotonic() - self._last_store_log >= 30.0:
            self._last_store_log = time.monotonic()
            log.error(
                "outbox: cannot store events (%s); holding %d in memory (%.1f of %.0f MB), dropped so far "
                "%d images and %d events; the other sinks still get every event",
                exc, len(self._memory), self._memory.bytes / 1e6, self._memory.max_bytes / 1e6,
                self._memory.dropped_images, self._memory.dropped_events,
            )  # fmt: skip

    def _catch_up(self) -> None:
        """Open the outbox if it is not open, then write the events held in memory (sender thread)."""
        if self.outbox is not None and not len(self._memory):
            return
        if time.monotonic() - self._last_store_try < self.store_retry_s:
            return
        self._last_store_try = time.monotonic()
        try:
            if self.outbox is None:
                assert self.opener is not None
                self.outbox = self.opener()
                log.warning("outbox %s opened (the disk takes writes again)", self.outbox.path)
            held = len(self._memory)
            stored = self._memory.drain(self.outbox.store)
        except OutboxError as exc:
            self._store_failed(exc)
            return
        if held:
            log.warning("outbox: the disk takes events again; wrote the %d events held in memory", stored)

    def close(self) -> None:
        """Deliver what is pending for up to ``close_grace_s``, then stop the sender and close the file."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._work.set()
        self._wake.set()
        self._thread.join(self.close_grace_s)
        if self._thread.is_alive():
            self._stop.set()
            self._wake.set()
            self._thread.join(self.client.timeout_s + 2.0)
        if self._thread.is_alive():
            log.error("outbox sender did not stop; closing anyway (the backlog is safe on disk)")
        self._last_store_try = 0.0
        self._catch_up()
        lost = self._memory.take_all()
        if lost:
            log.error(
                "outbox: %d events held in memory could not be stored before shutdown and are lost: %s",
                len(lost), ", ".join(str(e.event_id) for e in lost[:20]) + (" ..." if len(lost) > 20 else ""),
            )  # fmt: skip
        stats = self.stats()
        log.info("outbox closed: %s", stats.summary())
        self.client.close()
        if self.outbox is not None:
            self.outbox.close()

    def stats(self) -> OutboxStats:
        """The outbox's figures plus what is held in memory (disk full)."""
        outbox = self.outbox
        if outbox is None:
            path = getattr(self.opener, "path", None) or Path("(not open)")
            base = OutboxStats.unopened(Path(path), 0)
        else:
            base = outbox.stats()
        return replace(
            base,
            held_in_memory=len(self._memory),
            held_in_memory_bytes=self._memory.bytes,
            dropped_images_total=self._memory.dropped_images,
            dropped_events_total=self._memory.dropped_events,
            store_errors_total=self._store_errors,
        )

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until nothing is pending (events and images, on disk or in memory) or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            s = self.stats()
            if (
                self.outbox is not None
                and s.held_in_memory == 0
                and s.pending_events == 0
                and (not self.send_evidence or s.pending_evidence == 0)
            ):
                return True
            time.sleep(0.05)
        return False

    # -- sender thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._catch_up()
            if self.outbox is None:  # disk full since the start: no file yet
                if self._closing.is_set():
                    break
                self._work.wait(min(self.idle_poll_s, self.store_retry_s))
                self._work.clear()
                continue
            try:
                did = self._with_retry(self._cycle)
            except _Stopped:
                break
            self._maybe_log()
            if not did:
                if self._closing.is_set():
                    break  # flushed
                if self._work.wait(self.idle_poll_s):
                    self._work.clear()
                if time.monotonic() - self._last_purge > 600:
                    self._last_purge = time.monotonic()
                    try:
                        self.outbox.purge_expired()
                    except sqlite3.Error as exc:
                        log.warning("outbox: purge of old delivered events failed (%s)", exc)

    def _with_retry(self, fn: Callable[[], T]) -> T:
        backoff = wait_exponential(multiplier=self.retry.initial_s, max=self.retry.max_s) + wait_random(
            0, self.retry.jitter_s
        )

        def wait(state: RetryCallState) -> float:
            """The backoff, or longer when the server said so (``Retry-After`` on a 429 or 5xx)."""
            exc = state.outcome.exception() if state.outcome else None
            asked = getattr(exc, "retry_after_s", None)
            return max(backoff(state), asked) if asked is not None else backoff(state)

        retrying = Retrying(
            wait=wait,
            retry=retry_if_not_exception_type(_Stopped),
            sleep=self._sleep,
            before_sleep=self._on_failure,
            reraise=True,
        )
        return retrying(fn)

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()
        if self._stop.is_set():
            raise _Stopped

    def _on_failure(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        pending = self.outbox.pending_count
        if isinstance(exc, AuthError):
            log.error(
                "outbox: API at %s refuses our key: %s; %d events kept, retry %d in %.1f s",
                self.client.base_url, exc, pending, state.attempt_number, wait,
            )  # fmt: skip
        elif isinstance(exc, ApiConfigError):
            log.error("outbox: %s; %d events kept, retry in %.1f s", exc, pending, wait)
        elif isinstance(exc, DeliveryError):
            level = (
                logging.WARNING
                if state.attempt_number in (1, 5) or state.attempt_number % 20 == 0
                else logging.INFO
            )
            log.log(
                level,
                "outbox: delivery failed (%s); %d events kept, retry %d in %.1f s",
                exc,
                pending,
                state.attempt_number,
                wait,
            )
        else:
            log.error("outbox: sender error; retry in %.1f s", wait, exc_info=exc)
        self._failing = True
        with suppress(sqlite3.Error):
            self.outbox.note_error(str(exc))
        self._maybe_log()

    def _maybe_log(self) -> None:
        if time.monotonic() - self._last_log >= self.log_interval_s:
            self._last_log = time.monotonic()
            stats = self.stats()
            level = logging.WARNING if self._failing or stats.held_in_memory else logging.INFO
            log.log(level, "outbox %s: %s", Path(stats.path).name, stats.summary())

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stopped

    def _cycle(self) -> bool:
        """One batch of events, then a few images; ``True`` if anything was sent."""
        self._check_stop()
        self._catch_up()
        did = self._send_events()
        if self.send_evidence:
            did = self._send_images() or did
        self._failing = False
        return did

    def _send_events(self) -> bool:
        """Deliver the oldest batch, isolating events the API fails on; ``True`` if a batch went."""
        skip = set(self._held)
        batch = self.outbox.pending_events(self._batch_limit, skip)
        while batch:
            self._check_stop()
            try:
                ack = self.client.post_events([item.body for item in batch])
            except BatchRejected as exc:  # 422 or 409: one event is wrong or conflicts
                bad = self._locate(exc, batch)
                if bad is None:
                    batch = batch[: len(batch) // 2]  # the API did not say which: halve until one is left
                    continue
                self._set_aside(bad, exc.reason, exc.status)
                batch = [item for item in batch if item is not bad]
                continue
            except ServerFault as exc:  # a 500: an outage, or one event the API cannot store
                if len(batch) > 1:
                    batch = batch[: len(batch) // 2]
                    continue
                self._failed_alone(batch[0], exc)
                skip.add(batch[0].event_id)
                batch = self.outbox.pending_events(self._batch_limit, skip)
                continue
            except BatchTooLarge as exc:
                if len(batch) == 1:
                    self._set_aside(batch[0], exc.reason, exc.status)
                    batch = []
                    continue
                self._batch_limit = max(1, len(batch) // 2)
                log.warning(
                    "outbox: API says the batch is too large; sending %d at a time", self._batch_limit
                )
                batch = batch[: self._batch_limit]
                continue
            self._delivered(batch, ack)
            self._retry_held()  # due held events get their turn under a steady stream too
            return True
        return self._retry_held()

    def _delivered(self, batch: list[PendingEvent], ack: BatchAck) -> None:
        self.outbox.mark_delivered([item.event_id for item in batch], ack.accepted, ack.duplicates)
        self._accepted += ack.accepted
        self._unproven = 0
        for item in batch:
            self._held.pop(item.event_id, None)

    def _set_aside(self, item: PendingEvent, reason: str, status: int | None) -> None:
        self.outbox.reject(item.event_id, reason, status)
        self._held.pop(item.event_id, None)

    def _failed_alone(self, item: PendingEvent, exc: ServerFault) -> None:
        """An event the API answered 500 for when sent alone: count it only if the API stored others since.

        Then hold it (tried after the rest, with its own backoff) or, after ``set_aside_after``
        such failures, set it aside. When the API stored nothing since (it fails for everyone:
        an outage), the error goes up and the whole sender backs off; nothing is counted.
        """
        _, accepted_before = self._held.get(item.event_id, (0.0, 0))
        if self._accepted <= accepted_before:
            self._held[item.event_id] = (time.monotonic(), self._accepted)  # try the others first
            self._unproven += 1
            if self._unproven >= 2 or not self.outbox.pending_events(1, set(self._held)):
                raise exc  # the API stores nothing at all: back off as for an outage
            return
        failures = self.outbox.count_failure(item.event_id, exc.reason)
        if failures >= self.set_aside_after:
            self._set_aside(
                item,
                f"HTTP {exc.status} {failures} times when sent alone while the API stored other events: {exc.reason}",
                exc.status,
            )
            return
        delay = min(self.retry.max_s, self.retry.initial_s * 2 ** (failures - 1))
        self._held[item.event_id] = (time.monotonic() + delay, self._accepted)
        log.warning(
            "outbox: API fails on event %s alone (%s), %d of %d before it is set aside; delivering the rest",
            item.event_id, exc.reason, failures, self.set_aside_after,
        )  # fmt: skip

    def _retry_held(self) -> bool:
        """Send each held event whose wait is over, alone; ``True`` if one was delivered or set aside."""
        did = False
        for event_id, (due, _) in sorted(self._held.items(), key=lambda kv: kv[1][0]):
            if due > time.monotonic():
                continue
            self._check_stop()
            item = self.outbox.pending_event(event_id)
            if item is None:  # delivered, set aside or requeued meanwhile
                self._held.pop(event_id, None)
                continue
            try:
                ack = self.client.post_events([item.body])
            except (BatchRejected, BatchTooLarge) as exc:
                self._set_aside(item, exc.reason, exc.status)
                did = True
                continue
            except ServerFault as exc:
                self._failed_alone(item, exc)
                did = did or event_id not in self._held
                continue
            self._delivered([item], ack)
            did = True
        return did

    @staticmethod
    def _locate(exc: BatchRejected, batch: list[PendingEvent]) -> PendingEvent | None:
        if len(batch) == 1:
            return batch[0]
        for item in batch:
            if exc.event_id is not None and item.event_id == exc.event_id:
                return item
        if exc.index is not None and 0 <= exc.index < len(batch):
            return batch[exc.index]
        return None

    def _send_images(self) -> bool:
        did = False
        for image in self.outbox.pending_images(self.images_per_cycle):
            self._check_stop()
            data = self.outbox.read_image(image)
            if data is None:
                continue
            try:
                self.client.put_evidence(image.event_id, image.role, data, image.content_type)
            except EvidenceRejected as exc:
                log.warning("outbox: API refused %s image of event %s: %s", image.role, image.event_id, exc)
                self.outbox.finish_image(image, "rejected", exc.reason)
            else:
                self.outbox.finish_image(image, "sent")
            did = True
        return did
