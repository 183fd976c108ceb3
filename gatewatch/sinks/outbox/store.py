"""The outbox store of one edge box: a SQLite file (WAL, ``synchronous=FULL``) and a folder of evidence copies.

Every event and its images are durable when ``store`` returns; the sender (:mod:`.sender`) reads
pending events and images from here and marks what the API acknowledged or refused. A damaged
file found at start is kept aside and what can be read from it goes into a fresh one
(:mod:`.recovery`). Disk use stays under ``max_disk_mb`` by purging delivered events and then
images, never undelivered events.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gatewatch.contract import parse_event
from gatewatch.sinks.outbox.errors import OutboxError
from gatewatch.sinks.outbox.evidence import Event, Image, evidence_paths, sniff_image
from gatewatch.sinks.outbox.recovery import salvage_into
from gatewatch.sinks.outbox.schema import _SCHEMA, _TOTALS, FORMAT_NAME, SCHEMA_VERSION
from gatewatch.sinks.outbox.stats import OutboxStats
from gatewatch.sinks.salvage import damage_of

log = logging.getLogger(__name__)


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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26  # SQLite's result codes; the sqlite3 module names them from 3.11 on


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
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
        salvage_into(self, aside)
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
            self._conn = None  # type: ignore[assignment]  # closed for good: a later use fails loudly
