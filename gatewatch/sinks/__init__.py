"""Where events go: one small interface, several sinks.

A sink takes each event as it is produced (``emit``) and is closed once at shutdown
(``close``: flush, release files and connections). ``JsonlSink`` is the default; the HTTP
outbox and MQTT sinks live beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from gatewatch.events import CrossingEvent, FlagEvent

Event = CrossingEvent | FlagEvent


@runtime_checkable
class EventSink(Protocol):
    """Receives every event the edge pipeline produces."""

    def emit(self, event: Event) -> None: ...

    def close(self) -> None: ...


class JsonlSink:
    """Appends one JSON object per line to a file (``-`` for standard output), flushed per event."""

    def __init__(self, path: str | Path = "-") -> None:
        self.path = str(path)
        if self.path == "-":
            self._fh: IO[str] = sys.stdout
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.count = 0

    def emit(self, event: Event) -> None:
        self._fh.write(event.model_dump_json() + "\n")
        self._fh.flush()
        self.count += 1

    def close(self) -> None:
        if self._fh is not sys.stdout:
            self._fh.close()


class MemorySink:
    """Keeps events in a list (tests, benchmarks, embedding the pipeline in other code)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass


class FanoutSink:
    """Sends each event to several sinks in order."""

    def __init__(self, sinks: list[EventSink]) -> None:
        self.sinks = sinks

    def emit(self, event: Event) -> None:
        for sink in self.sinks:
            sink.emit(event)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
