"""Where events go: one small interface, several sinks.

A sink takes each event as it is produced (``emit``) and is closed once at shutdown
(``close``: flush, release files and connections). ``JsonlSink`` is the default; the HTTP
outbox and MQTT sinks live beside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from gatewatch.contract import Event

log = logging.getLogger(__name__)
SinkFailurePolicy = Literal["continue", "raise"]  # what FanoutSink does when one of its sinks raises


@runtime_checkable
class EventSink(Protocol):
    """Receives every event the edge pipeline produces."""

    def emit(self, event: Event) -> None: ...

    def close(self) -> None: ...


class JsonlSink:
    """Appends one JSON object per line to a file (``-`` for standard output), written per event.

    A failed write (disk full, I/O error) does not end the run: the partial line is cut off, the
    lines not written are held in memory (up to ``max_held_lines``, oldest dropped beyond) and
    written, in order, with the next event once the disk takes them; an ERROR is logged at most
    every 30 s with the counts.
    """

    def __init__(self, path: str | Path = "-", max_held_lines: int = 100_000) -> None:
        self.path = str(path)
        self.max_held_lines = max_held_lines
        self._fd: int | None = None
        if self.path != "-":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.count = 0  # lines written
        self.dropped = 0  # lines dropped over max_held_lines
        self.write_errors = 0
        self._held: deque[bytes] = deque()
        self._last_error_log = -1e9

    @property
    def held(self) -> int:
        """Lines waiting for the disk."""
        return len(self._held)

    def emit(self, event: Event) -> None:
        line = event.model_dump_json() + "\n"
        if self._fd is None:
            sys.stdout.write(line)
            sys.stdout.flush()
            self.count += 1
            return
        self._held.append(line.encode("utf-8"))
        while len(self._held) > self.max_held_lines:
            self._held.popleft()
            self.dropped += 1
        self._write_held()

    def _write_held(self) -> None:
        assert self._fd is not None
        while self._held:
            data = self._held[0]
            end = os.lseek(self._fd, 0, os.SEEK_END)
            try:
                written = 0
                while written < len(data):
                    written += os.write(self._fd, data[written:])
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, end)  # no half line in the file
                self.write_errors += 1
                if time.monotonic() - self._last_error_log >= 30.0:
                    self._last_error_log = time.monotonic()
                    log.error(
                        "events file %s: cannot write (%s); %d lines held in memory, %d dropped; the run goes on",
                        self.path, exc, len(self._held), self.dropped,
                    )  # fmt: skip
                return
            self._held.popleft()
            self.count += 1

    def close(self) -> None:
        if self._fd is not None:
            self._write_held()
            if self._held:
                log.error("events file %s: %d lines could not be written before shutdown", self.path, len(self._held))
            os.close(self._fd)
            self._fd = None


class MemorySink:
    """Keeps events in a list (tests, benchmarks, embedding the pipeline in other code)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass


class FanoutSink:
    """Sends each event to several sinks in order, with an explicit policy for a sink that fails.

    ``on_failure="continue"`` (the default; what ``gatewatch run`` uses): an exception from one sink
    is logged (ERROR, with the event id) and counted in ``failures`` (by sink class), the event
    still goes to every other sink, and the run goes on. ``on_failure="raise"``: the event still
    goes to every other sink, then the first failure is raised (for tools and tests that must stop
    on a broken sink). ``close`` closes every sink even when one fails to close.
    """

    def __init__(self, sinks: list[EventSink], on_failure: SinkFailurePolicy = "continue") -> None:
        if on_failure not in ("continue", "raise"):
            raise ValueError(f"on_failure must be 'continue' or 'raise', not {on_failure!r}")
        self.sinks = sinks
        self.on_failure = on_failure
        self.failures: dict[str, int] = {}

    def emit(self, event: Event) -> None:
        first: Exception | None = None
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception as exc:
                name = type(sink).__name__
                self.failures[name] = self.failures.get(name, 0) + 1
                log.exception("sink %s failed on event %s (%d failures so far); the other sinks still get it",
                              name, event.event_id, self.failures[name])
                first = first or exc
        if first is not None and self.on_failure == "raise":
            raise first

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                log.exception("sink %s failed to close", type(sink).__name__)
