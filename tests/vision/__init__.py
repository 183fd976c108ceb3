"""Tests of gatewatch.vision: sources, lines, tracking, stages, pipeline, publisher."""
