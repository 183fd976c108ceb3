"""Per-frame latency percentiles in constant memory (a month-long run must not keep every frame's figure)."""

from __future__ import annotations

import numpy as np
import pytest

from gatewatch.vision.latency import BUCKETS, LatencyHistogram
from gatewatch.vision.pipeline import RunSummary


@pytest.mark.parametrize(("name", "values"), [
    ("lognormal around 60 ms", np.random.default_rng(0).lognormal(np.log(60), 0.5, 50_000)),
    ("uniform 5-500 ms", np.random.default_rng(1).uniform(5, 500, 50_000)),
    ("two modes: detect and skip", np.concatenate([np.full(30_000, 3.2), np.full(20_000, 55.0)])),
    ("a few frames", np.array([12.0, 15.0, 40.0])),
])
def test_percentiles_within_half_a_percent_of_exact(name: str, values: np.ndarray) -> None:
    h = LatencyHistogram()
    for v in values:
        h.add(float(v))
    assert len(h) == len(values)
    for q in (1, 50, 95, 99, 100):
        exact = float(np.percentile(values, q, method="inverted_cdf"))
        assert h.percentile(q) == pytest.approx(exact, rel=0.006), (name, q)


def test_edges_empty_tiny_huge_and_invalid() -> None:
    h = LatencyHistogram()
    assert h.percentile(50) == 0.0
    for v in (0.0, 0.001, 5e9, float("nan"), -1.0):
        h.add(v)
    assert len(h) == 3  # NaN and negative ignored
    assert h.percentile(0) == 0.0 and h.percentile(100) == 5e9  # clamped to the exact min and max


def test_run_summary_memory_does_not_grow_with_frames() -> None:
    """A million frames leave the summary's latency state the size it had after one (was a growing list)."""
    summary = RunSummary("g1", "cam-1")
    summary.latencies.add(10.0)
    size = summary.latencies.counts.nbytes
    for ms in np.random.default_rng(2).uniform(1, 200, 1_000_000):
        summary.latencies.add(float(ms))
    assert summary.latencies.counts.nbytes == size == BUCKETS * 8
    assert not any(isinstance(v, list) and len(v) > 1000 for v in vars(summary).values())
    assert summary.latency(50) == pytest.approx(100.5, rel=0.01)
