"""Table tests for the held-vehicle logic: jitter, occlusion gaps, id switches, leaving and returning."""

from __future__ import annotations

import numpy as np
import pytest

from gatewatch.events import FlagPhase
from gatewatch.vision.flags import DwellZone, HeldConfig, HeldStage, ZoneConfig
from tests.vision.helpers import WithEvents, make_frame, make_tracks

FPS = 10.0
ZONE = ZoneConfig(id="apron", polygon=[(50, 50), (400, 50), (400, 300), (50, 300)])
PARK = (100.0, 100.0, 180.0, 150.0)


def held_config(**kw: object) -> HeldConfig:
    base = {"zones": [ZONE], "threshold_s": 3.0, "still_s": 1.0, "leave_grace_s": 2.0, "appearance_hold": False}
    return HeldConfig.model_validate(base | kw)


def jitter(box: tuple[float, ...], rng: np.random.Generator, px: float = 2.0) -> tuple[float, ...]:
    return tuple(float(v + rng.uniform(-px, px)) for v in box)


def shifted(box: tuple[float, ...], dx: float) -> tuple[float, ...]:
    return (box[0] + dx, box[1], box[2] + dx, box[3])


def timeline(name: str, t: float, rng: np.random.Generator) -> list[tuple[int, tuple[float, ...], str]]:
    """Tracks visible at stream time ``t`` for each scenario."""
    if name == "parked_with_jitter":
        return [(1, jitter(PARK, rng), "car")]
    if name == "occlusion_gap":
        return [] if 5.0 <= t < 6.5 else [(1, jitter(PARK, rng), "car")]
    if name == "id_switch":
        return [(1 if t < 5.0 else 7, jitter(PARK, rng, 3.0), "car")]
    if name == "id_switch_after_gap":
        return [] if 5.0 <= t < 6.0 else [(1 if t < 5.0 else 9, jitter(PARK, rng), "car")]
    if name == "leave_and_return":
        if t < 5.0:
            return [(1, jitter(PARK, rng), "car")]
        return [] if t < 10.0 else [(2, jitter(PARK, rng), "car")]
    if name == "passing":
        return [(3, shifted((0, 100, 80, 150), 10 * t * FPS / 10 * 10), "car")] if t < 4 else []
    if name == "slow_creep":
        return [(4, shifted(PARK, 15.0 * t), "car")]
    if name == "short_stop":
        return [(5, PARK if t < 2.0 else shifted(PARK, 60 * (t - 2.0)), "car")] if t < 6 else []
    if name == "outside_zone":
        return [(6, (450.0, 100.0, 530.0, 150.0), "car")]
    if name == "class_not_watched":
        return [(7, PARK, "motorcycle")]
    if name == "leaves_after_flag":
        return [(8, jitter(PARK, rng) if t < 6.0 else shifted(PARK, 80 * (t - 6.0)), "car")] if t < 9 else []
    if name == "second_box_on_same_car":
        return [(1, jitter(PARK, rng), "car"), (2, jitter(PARK, rng, 4.0), "truck")]
    raise KeyError(name)


# scenario, seconds replayed, expected starts, expected ends before the stream ends, expected start time(s)
CASES = [
    ("parked_with_jitter", 10.0, 1, 0, [3.0]),
    ("occlusion_gap", 10.0, 1, 0, [3.0]),
    ("id_switch", 10.0, 1, 0, [3.0]),
    ("id_switch_after_gap", 10.0, 1, 0, [3.0]),
    ("leave_and_return", 16.0, 2, 1, [3.0, 13.0]),
    ("passing", 6.0, 0, 0, []),
    ("slow_creep", 10.0, 0, 0, []),
    ("short_stop", 8.0, 0, 0, []),
    ("outside_zone", 10.0, 0, 0, []),
    ("class_not_watched", 10.0, 0, 0, []),
    ("leaves_after_flag", 12.0, 1, 1, [3.0]),
    ("second_box_on_same_car", 10.0, 1, 0, [3.0]),
]


@pytest.mark.parametrize(("name", "seconds", "starts", "ends", "start_ts"), CASES, ids=[c[0] for c in CASES])
def test_dwell_table(name: str, seconds: float, starts: int, ends: int, start_ts: list[float]) -> None:
    rng = np.random.default_rng(0)
    stage = WithEvents(HeldStage(held_config(), FPS, update_interval_s=2.0))
    events = []
    frame = None
    for i in range(int(seconds * FPS)):
        frame = make_frame(i, FPS)
        events += stage.update(frame, make_tracks(timeline(name, frame.ts, rng)))
    during = list(events)
    events += stage.finish(frame)

    got_starts = [e for e in during if e.phase == FlagPhase.START]
    got_ends = [e for e in during if e.phase == FlagPhase.END]
    assert len(got_starts) == starts
    assert len(got_ends) == ends
    assert [round(e.stream_ts, 1) for e in got_starts] == pytest.approx(start_ts, abs=0.15)
    # every flag: one start, one end in total, updates in between, same flag id throughout
    by_flag: dict[object, list[str]] = {}
    for e in events:
        by_flag.setdefault(e.flag_id, []).append(str(e.phase))
    for phases in by_flag.values():
        assert phases[0] == "start" and phases[-1] == "end" and phases.count("start") == 1 and phases.count("end") == 1
    for e in got_starts:
        assert e.flag_kind == "held" and e.zone == "apron" and e.duration_s >= 3.0 - 1e-6


def test_leave_end_is_dated_when_last_seen() -> None:
    stage = WithEvents(HeldStage(held_config(), FPS))
    rng = np.random.default_rng(1)
    events = []
    for i in range(int(12 * FPS)):
        frame = make_frame(i, FPS)
        events += stage.update(frame, make_tracks(timeline("leave_and_return", frame.ts, rng)[:1] if frame.ts < 5 else []))
    end = next(e for e in events if e.phase == FlagPhase.END)
    assert end.details["reason"] == "left"
    assert end.stream_ts == pytest.approx(4.9, abs=0.05)
    assert end.duration_s == pytest.approx(4.9, abs=0.15)
    assert end.started_at < end.frame_time


def test_updates_at_interval_and_trigger_mask() -> None:
    zone = DwellZone(ZONE, held_config(), FPS, update_interval_s=1.0)
    changes = []
    for i in range(int(6 * FPS)):
        tracks = make_tracks([(1, PARK, "car"), (2, (300.0, 200.0, 360.0, 240.0), "car")] if i < 5 else [(1, PARK, "car")])
        for change in zone.update(i / FPS, tracks):
            if change.phase == FlagPhase.START:
                from gatewatch.vision.flags.common import OpenFlag

                change.stay.flag = OpenFlag(kind="held", started_ts=change.stay.first_ts, started_at=None,  # type: ignore[arg-type]
                                            last_emit_ts=change.ts)
            elif change.phase == FlagPhase.UPDATE:
                change.stay.flag.last_emit_ts = change.ts  # type: ignore[union-attr]
            changes.append((change.phase, round(change.ts, 1)))
    assert changes[0] == (FlagPhase.START, 3.0)
    assert [c for c in changes if c[0] == FlagPhase.UPDATE] == [(FlagPhase.UPDATE, 4.0), (FlagPhase.UPDATE, 5.0)]
    mask = zone.trigger(make_tracks([(1, PARK, "car"), (5, PARK, "car")]))
    assert mask.tolist() == [True, False]


def _textured(rng: np.random.Generator, with_car: bool) -> np.ndarray:
    image = np.full((360, 640, 3), 90, dtype=np.uint8)
    if with_car:
        x1, y1, x2, y2 = (int(v) for v in PARK)
        image[y1:y2, x1:x2] = rng.integers(0, 255, size=(y2 - y1, x2 - x1, 1), dtype=np.uint8)
    return image


@pytest.mark.parametrize(("car_stays_in_image", "expect_end"), [(True, False), (False, True)])
def test_appearance_keeps_a_missed_vehicle(car_stays_in_image: bool, expect_end: bool) -> None:
    """The detector loses the car after 4 s: its patch still matching keeps the flag; an empty place ends it."""
    rng = np.random.default_rng(2)
    car_image = _textured(rng, True)
    empty_image = _textured(rng, False)
    stage = WithEvents(HeldStage(held_config(appearance_hold=True), FPS))
    events = []
    for i in range(int(15 * FPS)):
        t = i / FPS
        visible = car_stays_in_image or t < 4.0
        frame = make_frame(i, FPS, (car_image if visible else empty_image).copy())
        # light change after 8 s: the NCC ignores gain and offset
        if t >= 8:
            frame.image[:] = np.clip(frame.image.astype(int) * 0.7 + 20, 0, 255).astype(np.uint8)
        events += stage.update(frame, make_tracks([(1, PARK, "car")] if t < 4.0 else []))
    assert sum(e.phase == FlagPhase.START for e in events) == 1
    assert any(e.phase == FlagPhase.END for e in events) is expect_end


def test_plate_blocks_reassociation_of_another_vehicle() -> None:
    from gatewatch.events import PlateRead

    plates = {1: PlateRead(text="51F12345", text_raw="51F-123.45", confidence=0.9),
              2: PlateRead(text="29C67890", text_raw="29C-678.90", confidence=0.9)}
    stage = WithEvents(HeldStage(held_config(), FPS))
    events = []
    for i in range(int(10 * FPS)):
        frame = make_frame(i, FPS)
        events += stage.update(frame, make_tracks([(1 if frame.ts < 5 else 2, PARK, "car")], plates=plates))
    starts = [e for e in events if e.phase == FlagPhase.START]
    assert [e.plate.text for e in starts] == ["51F12345", "29C67890"]  # type: ignore[union-attr]
