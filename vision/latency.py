"""Per-frame latency percentiles in constant memory, for runs that last months; a process's peak memory.

``RunSummary`` used to keep every frame's latency in a list: 32 bytes a frame, about 1.2 GB
after 30 days at 15 FPS. ``LatencyHistogram`` counts latencies in log-spaced buckets instead
(each 1 % wider than the last, 0.01 ms to 1,000 s: 1,853 buckets, 15 KB whatever the run's
length), so a percentile is exact to within half a bucket (0.5 %).

Example::

    >>> h = LatencyHistogram()
    >>> for ms in (10.0, 20.0, 30.0):
    ...     h.add(ms)
    >>> round(h.percentile(50), 1)
    20.0
"""

from __future__ import annotations

import math
import resource
from pathlib import Path

import numpy as np

LOW_MS = 0.01  # the first bucket's lower edge; anything faster counts there
GROWTH = 1.01  # each bucket's upper edge is 1 % above its lower edge
BUCKETS = math.ceil(math.log(1e6 / LOW_MS) / math.log(GROWTH)) + 1  # up to 1,000 s; slower counts in the last


class LatencyHistogram:
    """Counts of latencies (ms) in log-spaced buckets; percentiles within 0.5 %, exact min and max."""

    def __init__(self) -> None:
        self.counts = np.zeros(BUCKETS, dtype=np.int64)
        self.count = 0
        self.min_ms = math.inf
        self.max_ms = 0.0

    def add(self, ms: float) -> None:
        """Count one latency in milliseconds (negative or NaN values are ignored)."""
        if not ms >= 0:
            return
        index = 0 if ms <= LOW_MS else min(BUCKETS - 1, int(math.log(ms / LOW_MS) / math.log(GROWTH)) + 1)
        self.counts[index] += 1
        self.count += 1
        self.min_ms = min(self.min_ms, ms)
        self.max_ms = max(self.max_ms, ms)

    def __len__(self) -> int:
        return self.count

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) in ms: the geometric middle of its bucket, clamped to min..max."""
        if self.count == 0:
            return 0.0
        if q <= 0:
            return self.min_ms
        if q >= 100:
            return self.max_ms
        rank = max(1, math.ceil(q / 100 * self.count))
        index = int(np.searchsorted(np.cumsum(self.counts), rank))
        if index == 0:
            value = LOW_MS
        elif index == BUCKETS - 1:
            value = self.max_ms  # beyond the last edge: the slowest frame is the best figure there is
        else:
            lower = LOW_MS * GROWTH ** (index - 1)
            value = lower * math.sqrt(GROWTH)
        return min(max(value, self.min_ms), self.max_ms)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: ``VmHWM`` where Linux has it (``ru_maxrss`` of a child
    started by fork + exec can carry its parent's peak), else ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
