"""Tests of gatewatch.models: sessions, exports and gated derived builds."""
