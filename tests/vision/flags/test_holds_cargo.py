"""Table tests: the hold-list matcher and stage, and the geometric cargo check on constructed silhouettes."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest

from gatewatch.events import FlagPhase, PlateRead
from gatewatch.vision.flags import (
    EmptyTruckConfig,
    EmptyTruckStage,
    Hold,
    HoldList,
    HoldListStage,
    cargo_fill,
    match_plate,
)
from gatewatch.vision.flags.holds import load_hold_file
from tests.vision.helpers import WithEvents, make_frame, make_tracks

MATCHES = [
    ("51F12345", "51F12345", "exact"),
    ("51F-123.45", "51f12345", "exact"),
    ("51F12345", "51F1234S", "confusable"),  # S/5
    ("29B80012", "2988OO12", "confusable"),  # B/8, 0/O
    ("30G11122", "306III22", "confusable"),  # G/6, 1/I
    ("29Z00D12", "2920O012", "confusable"),  # Z/2, D/0
    ("51F12345", "51F1245", "missing_char"),
    ("51F12345", "1F12345", "missing_char"),
    ("51F12345", "51F1234", "missing_char"),
    ("51F12345", "51F12346", None),
    ("51F12345", "51F123", None),  # two characters missing
    ("51F12345", "29C67890", None),
    ("51F12345", "", None),
    ("51F12345", "51F1234567", None),
]


@pytest.mark.parametrize(("listed", "read", "expected"), MATCHES)
def test_match_plate_table(listed: str, read: str, expected: str | None) -> None:
    assert match_plate(listed, read) == expected


@pytest.mark.parametrize(("confusable", "missing", "read", "expected"), [
    (False, True, "51F1234S", None), (True, False, "51F1245", None), (False, False, "51F12345", "exact"),
])
def test_match_options(confusable: bool, missing: bool, read: str, expected: str | None) -> None:
    assert match_plate("51F12345", read, confusable=confusable, missing_char=missing) == expected


def test_hold_list_prefers_exact_and_skips_expired() -> None:
    holds = HoldList([
        Hold(plate="51F12345", reason="fees"), Hold(plate="51F1234S", reason="papers"),
        Hold(plate="29C67890", reason="old", until=datetime(2026, 1, 1, tzinfo=timezone.utc)),
    ])
    assert holds.find("51F12345").hold.reason == "fees"  # type: ignore[union-attr]
    assert holds.find("29C67890", at=datetime(2026, 11, 24, tzinfo=timezone.utc)) is None
    assert holds.find("29C67890", at=datetime(2025, 12, 1, tzinfo=timezone.utc)).match == "exact"  # type: ignore[union-attr]


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".csv"])
def test_hold_files(tmp_path, suffix: str) -> None:
    path = tmp_path / f"holds{suffix}"
    entries = [{"plate": "51F12345", "reason": "fees", "until": "2026-12-31T00:00:00Z"}]
    if suffix == ".csv":
        path.write_text("plate,reason,until\n51F12345,fees,2026-12-31T00:00:00Z\n")
    elif suffix == ".json":
        path.write_text(json.dumps({"holds": entries}))
    else:
        path.write_text("holds:\n  - {plate: 51F12345, reason: fees, until: '2026-12-31T00:00:00Z'}\n")
    holds = load_hold_file(path)
    assert [h.plate for h in holds] == ["51F12345"] and holds[0].until is not None


def test_hold_list_stage_flags_once_follows_plate_and_ends() -> None:
    plates = {3: PlateRead(text="51F1234S", text_raw="51F-1234S", confidence=0.8),
              4: PlateRead(text="51F12345", text_raw="51F-123.45", confidence=0.9)}
    stage = WithEvents(HoldListStage(HoldList([Hold(plate="51F12345", reason="fees")]), grace_s=1.0))
    events = []
    for i in range(60):
        frame = make_frame(i, 10.0)
        rows = [(3, (10.0, 10.0, 90.0, 60.0), "truck")] if i < 20 else ([(4, (12.0, 10.0, 92.0, 60.0), "truck")] if i < 30 else [])
        rows.append((9, (300.0, 10.0, 380.0, 60.0), "car"))  # no plate: never flagged
        events += stage.update(frame, make_tracks(rows, plates=plates))
    starts = [e for e in events if e.phase == FlagPhase.START]
    ends = [e for e in events if e.phase == FlagPhase.END]
    assert len(starts) == 1 and starts[0].stream_ts == 0.0 and starts[0].flag_kind == "hold_list"
    assert starts[0].details["match"] == "confusable" and starts[0].details["listed"] == "51F12345"
    assert starts[0].details["read"] == "51F1234S"
    assert len(ends) == 1 and ends[0].flag_id == starts[0].flag_id and ends[0].track_id == 4
    assert ends[0].stream_ts == pytest.approx(2.9)


def silhouette(kind: str, h: int = 60, w: int = 200) -> np.ndarray:
    """Side view of a truck driving right (cab at the right end): True = truck pixels."""
    m = np.zeros((h, w), dtype=bool)
    cab = slice(int(w * 0.75), w)
    m[int(h * 0.1):, cab] = True  # cab, full height
    m[int(h * 0.75):int(h * 0.85), : int(w * 0.75)] = True  # chassis rail
    for x in (20, 60, 160):  # wheels
        m[int(h * 0.8):, x:x + 16] = True
    if kind == "container":
        m[: int(h * 0.75), 4: int(w * 0.74)] = True
    elif kind == "tarp_load":
        m[int(h * 0.2): int(h * 0.75), 4: int(w * 0.74)] = True
    elif kind == "holey_container":  # same container, mask full of holes (uniform colour like the road)
        m[: int(h * 0.75), 4: int(w * 0.74)] = True
        m[10:40:4, 10:140] = False
        m[: int(h * 0.7), 30:140:6] = False
    elif kind == "low_load":  # a few pallets on a flatbed: still reads empty at threshold 0.35
        m[int(h * 0.6): int(h * 0.75), 40:80] = True
    return m


CARGO = [("container", False), ("tarp_load", False), ("holey_container", False), ("flatbed", True),
         ("chassis", True), ("low_load", True)]


@pytest.mark.parametrize(("kind", "empty"), CARGO)
def test_cargo_fill_table(kind: str, empty: bool) -> None:
    mask = silhouette("flatbed" if kind == "chassis" else kind)
    fill, profile = cargo_fill(mask, "x", cab_at_start=False, cab_fraction=0.25, band=(0.0, 0.6))
    assert profile.shape == (150,)
    assert (fill < 0.35) is empty
    # the same truck seen with the travel axis along y gives the same answer
    fill_t, _ = cargo_fill(mask.T, "y", cab_at_start=False, cab_fraction=0.25, band=(0.0, 0.6))
    assert fill_t == pytest.approx(fill)
    # wrong cab side: the cab is counted as bed, which can only raise the fill
    fill_w, _ = cargo_fill(mask, "x", cab_at_start=True, cab_fraction=0.25, band=(0.0, 0.6))
    assert fill_w >= fill - 1e-9


@pytest.mark.parametrize(("kind", "flagged"), [("container", False), ("flatbed", True)])
def test_empty_truck_stage_on_synthetic_scene(kind: str, flagged: bool) -> None:
    """A textured road, then a truck silhouette driving right: the stage learns the scene and judges the bed."""
    rng = np.random.default_rng(5)
    road = rng.integers(60, 90, size=(240, 320, 3), dtype=np.uint8)
    mask = silhouette(kind)
    cfg = EmptyTruckConfig.model_validate({"travel_axis": "x", "cab_fraction": 0.25, "min_checks": 3,
                                           "check_interval_s": 0.1, "background": {"warmup_s": 1.0, "work_width": 320}})
    stage = WithEvents(EmptyTruckStage(cfg, 10.0, (320, 240)))
    events = []
    for i in range(40):
        image = road.copy()
        rows = []
        if i >= 12:
            x = 10 + 4 * (i - 12)
            image[100:160, x:x + 200][mask] = (200, 200, 210)
            rows = [(1, (float(x), 100.0, float(x + 200), 160.0), "truck")]
        events += stage.update(make_frame(i, 10.0, image), make_tracks(rows))
    events += stage.finish(None)
    assert stage.trucks_checked == 1
    assert stage.trucks_flagged == int(flagged)
    assert [e.phase for e in events] == (["start", "end"] if flagged else [])
    if flagged:
        assert events[0].flag_kind == "empty_truck" and events[0].details["method"] == "geometry"
