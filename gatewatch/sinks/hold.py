"""Events kept in memory while the outbox cannot store them (disk full, I/O error), within a byte bound.

``OutboxSink`` puts an event here when ``Outbox.store`` fails and writes the held events back,
oldest first, once the disk takes them again. Over ``max_bytes`` the images of the oldest held
events go first, then (only when events alone exceed the bound) the oldest events themselves;
each drop is counted.

Example::

    >>> held = HeldEvents(max_bytes=64_000_000)
    >>> held.put(event, images)
    >>> held.drain(outbox.store)   # stores in order until one fails; the count stored
    1
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Image = tuple[str, bytes, str, str]  # role, bytes, content type, file suffix


@dataclass
class _Held:
    event: Any
    images: list[Image]
    body_bytes: int

    @property
    def size(self) -> int:
        return self.body_bytes + sum(len(image[1]) for image in self.images)


@dataclass
class HeldEvents:
    """A bounded FIFO of events not yet stored, with drop counters; thread-safe."""

    max_bytes: int
    dropped_events: int = 0
    dropped_images: int = 0
    _queue: deque[_Held] = field(default_factory=deque)
    _bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def bytes(self) -> int:
        return self._bytes

    def put(self, event: Any, images: list[Image]) -> tuple[int, int]:
        """Hold an event (newest last); then keep within the bound. ``(images, events)`` dropped now."""
        item = _Held(event, list(images), len(event.model_dump_json()))
        with self._lock:
            self._queue.append(item)
            self._bytes += item.size
            return self._shrink()

    def _shrink(self) -> tuple[int, int]:
        images = events = 0
        for item in self._queue:  # images of the oldest events first
            if self._bytes <= self.max_bytes:
                break
            while item.images and self._bytes > self.max_bytes:
                self._bytes -= len(item.images.pop(0)[1])
                images += 1
        while self._bytes > self.max_bytes and len(self._queue) > 1:  # then the oldest events
            self._bytes -= self._queue.popleft().size
            events += 1
        self.dropped_images += images
        self.dropped_events += events
        return images, events

    def drain(self, store: Callable[[Any, list[Image]], object]) -> int:
        """Store held events oldest first until ``store`` raises (the error goes up); the count stored."""
        stored = 0
        with self._lock:
            while self._queue:
                item = self._queue[0]
                store(item.event, item.images)
                self._queue.popleft()
                self._bytes -= item.size
                stored += 1
        return stored

    def take_all(self) -> list[Any]:
        """Empty the queue; the events it held (at shutdown, to count and log them)."""
        with self._lock:
            events = [item.event for item in self._queue]
            self._queue.clear()
            self._bytes = 0
        return events
