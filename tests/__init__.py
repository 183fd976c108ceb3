"""Tests mirror the installed packages: tests/<x> tests gatewatch.<x> (tests/ itself: gatewatch core)."""
