"""The end-of-run summary table: counts per lane, flags and plate lines only when they apply."""

from __future__ import annotations

from collections import Counter

import pytest

from gatewatch.vision.pipeline import RunSummary


@pytest.mark.parametrize(
    ("plates", "with_plate", "expected"),
    [
        ({}, 0, None),
        ({"vehicle crops searched": 181, "plates found": 1, "too small": 1, "read": 0, "fitting no format": 0}, 0,
         "plates: 0 of 3 crossings with a plate; vehicle crops searched 181, plates found 1, too small 1, read 0, "
         "fitting no format 0"),
        ({"vehicle crops searched": 9, "plates found": 5, "too small": 0, "read": 5, "fitting no format": 1}, 2,
         "plates: 2 of 3 crossings with a plate; vehicle crops searched 9, plates found 5, too small 0, read 5, "
         "fitting no format 1"),
    ],
)
def test_plate_line(plates: dict[str, int], with_plate: int, expected: str | None) -> None:
    summary = RunSummary("g", "c", frames=10, seconds=2.0, plates=plates, crossings_with_plate=with_plate,
                         counts=Counter({("a", "entry", "car"): 2, ("a", "exit", "truck"): 1}))
    table = summary.format_table()
    plate_lines = [line for line in table.splitlines() if line.startswith("plates:")]
    assert plate_lines == ([expected] if expected else [])
    assert "all" in table and table.splitlines()[-1].startswith("frames 10 ")
    assert summary.fps == 5.0 and summary.crossings == 3
