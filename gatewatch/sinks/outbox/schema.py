"""The outbox file's format: tables, format name and version, and the delivery totals kept in ``meta``."""

from __future__ import annotations

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
