"""``OutboxSink``: the event sink the pipeline emits into; durable on return, delivered by :mod:`.sender`.

When the disk will not take an event (full, I/O error) it is held in memory
(``gatewatch.sinks.hold``) and written to the outbox, in order, as soon as the disk takes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from gatewatch.sinks.hold import HeldEvents
from gatewatch.sinks.http import ApiClient
from gatewatch.sinks.outbox.errors import OutboxError
from gatewatch.sinks.outbox.evidence import Event
from gatewatch.sinks.outbox.sender import OutboxSender, RetryPolicy
from gatewatch.sinks.outbox.stats import OutboxStats
from gatewatch.sinks.outbox.store import Outbox

log = logging.getLogger(__name__)


class OutboxSink(OutboxSender):
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
        self.opener = opener
        self._memory = HeldEvents(int(memory_mb * 1e6))
        self._store_errors = 0
        self._last_store_try = 0.0
        self._last_store_log = -1e9
        self.close_grace_s = close_grace_s
        self._closed = False
        super().__init__(
            outbox, client, batch_size=batch_size, retry=retry, log_interval_s=log_interval_s,
            send_evidence=send_evidence, images_per_cycle=images_per_cycle, idle_poll_s=idle_poll_s,
            set_aside_after=set_aside_after, store_retry_s=store_retry_s,
        )
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
                self._last_store_try = time.monotonic()  # a failed store is a try: the sender waits store_retry_s
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
