"""The figures of one outbox: backlog, images, disk use and delivery totals (``gatewatch outbox status``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


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
