"""Tests of gatewatch.contract, the wire between the edge box and the gate API (both sides)."""
