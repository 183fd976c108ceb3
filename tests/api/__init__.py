"""Tests of gatewatch.api, the gate API."""
