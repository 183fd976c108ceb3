"""The outbox's delivery thread: batches to the API, retry with backoff, and events set aside.

The thread sends the oldest pending events in batches and marks them delivered only on the
API's 200; connection errors, timeouts, 5xx and 429 are retried with exponential backoff and
jitter (at least the ``Retry-After`` the server sent); an event the API refuses (422/409) or
keeps failing on alone (500) is isolated by halving the batch and set aside in ``rejected``.
Images go up after their event. ``OutboxSink`` (:mod:`.sink`) is the sender with ``emit``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_not_exception_type, wait_exponential, wait_random

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
from gatewatch.sinks.outbox.stats import OutboxStats
from gatewatch.sinks.outbox.store import Outbox, PendingEvent

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: ``min(max_s, initial_s * 2**(n-1)) + U(0, jitter_s)``."""

    initial_s: float = 1.0
    max_s: float = 60.0
    jitter_s: float = 1.0


class _Stopped(Exception):
    """The sender was told to stop (end of the close grace period)."""


class OutboxSender:
    """The delivery side of ``OutboxSink``: one background thread that empties an ``Outbox`` into the API.

    ``outbox`` may be ``None`` until the sink can open its file (disk full at start); the thread
    then polls every ``min(idle_poll_s, store_retry_s)``. The thread is created here and started
    by the sink once it is ready.
    """

    def __init__(
        self,
        outbox: Outbox | None,
        client: ApiClient,
        *,
        batch_size: int,
        retry: RetryPolicy | None,
        log_interval_s: float,
        send_evidence: bool,
        images_per_cycle: int,
        idle_poll_s: float,
        set_aside_after: int,
        store_retry_s: float,
    ) -> None:
        self.outbox = outbox
        self.store_retry_s = store_retry_s
        self.client = client
        self.batch_size = batch_size
        self.retry = retry or RetryPolicy()
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
        self._last_log = time.monotonic()
        self._last_purge = 0.0
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="gatewatch-outbox-sender", daemon=True)

    def _catch_up(self) -> None:
        """Before each cycle: open the outbox or write events held elsewhere (``OutboxSink`` does both)."""

    def stats(self) -> OutboxStats:
        """The figures logged every ``log_interval_s``."""
        return self._store.stats()

    @property
    def _store(self) -> Outbox:
        """The open outbox; a cycle runs only once the sink has opened it (it never closes back to ``None``)."""
        assert self.outbox is not None, "outbox sender cycle before the outbox was open"
        return self.outbox

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
        pending = self._store.pending_count
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
            self._store.note_error(str(exc))
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
        batch = self._store.pending_events(self._batch_limit, skip)
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
                batch = self._store.pending_events(self._batch_limit, skip)
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
        self._store.mark_delivered([item.event_id for item in batch], ack.accepted, ack.duplicates)
        self._accepted += ack.accepted
        self._unproven = 0
        for item in batch:
            self._held.pop(item.event_id, None)

    def _set_aside(self, item: PendingEvent, reason: str, status: int | None) -> None:
        self._store.reject(item.event_id, reason, status)
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
            if self._unproven >= 2 or not self._store.pending_events(1, set(self._held)):
                raise exc  # the API stores nothing at all: back off as for an outage
            return
        failures = self._store.count_failure(item.event_id, exc.reason)
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
            item = self._store.pending_event(event_id)
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
        for image in self._store.pending_images(self.images_per_cycle):
            self._check_stop()
            data = self._store.read_image(image)
            if data is None:
                continue
            try:
                self.client.put_evidence(image.event_id, image.role, data, image.content_type)
            except EvidenceRejected as exc:
                log.warning("outbox: API refused %s image of event %s: %s", image.role, image.event_id, exc)
                self._store.finish_image(image, "rejected", exc.reason)
            else:
                self._store.finish_image(image, "sent")
            did = True
        return did
