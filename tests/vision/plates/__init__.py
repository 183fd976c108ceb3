"""Tests of gatewatch.vision.plates: readers, formats, fusion, the plate stage."""
