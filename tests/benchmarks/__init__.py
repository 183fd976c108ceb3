"""Tests of the benchmark scripts in benchmarks/ (splits, audits, a short soak)."""
