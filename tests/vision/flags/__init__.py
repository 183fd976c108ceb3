"""Tests of gatewatch.vision.flags: held vehicles, hold list, cargo check, training."""
