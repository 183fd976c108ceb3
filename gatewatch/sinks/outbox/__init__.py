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

Modules: :mod:`.store` (the SQLite file and evidence copies), :mod:`.recovery` (a damaged file
at start), :mod:`.sender` (the delivery thread, retry, set-aside), :mod:`.sink` (``OutboxSink``),
:mod:`.evidence`, :mod:`.schema`, :mod:`.stats`, :mod:`.errors`.
"""

from __future__ import annotations

from gatewatch.sinks.outbox.errors import OutboxError
from gatewatch.sinks.outbox.evidence import Event, Image, evidence_paths, sniff_image
from gatewatch.sinks.outbox.schema import FORMAT_NAME, SCHEMA_VERSION
from gatewatch.sinks.outbox.sender import OutboxSender, RetryPolicy
from gatewatch.sinks.outbox.sink import OutboxSink
from gatewatch.sinks.outbox.stats import OutboxStats
from gatewatch.sinks.outbox.store import Outbox, PendingEvent, PendingImage

__all__ = [
    "FORMAT_NAME", "SCHEMA_VERSION", "Event", "Image", "Outbox", "OutboxError", "OutboxSender", "OutboxSink",
    "OutboxStats", "PendingEvent", "PendingImage", "RetryPolicy", "evidence_paths", "sniff_image",
]
