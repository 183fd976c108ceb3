"""The annotated video's drawing on a real frame of a shared clip: labels inside the frame, the entry
arrow, a counted vehicle highlighted for ``highlight_s``, dwell zones with their timers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gatewatch.config import LaneConfig
from gatewatch.vision.annotate import (
    ENTRY,
    EXIT,
    HELD,
    WAITING,
    GateAnnotator,
    drawable,
    place_text,
    put_label,
)
from gatewatch.vision.flags.config import HeldConfig
from gatewatch.vision.flags.held import DwellZone, Stay
from gatewatch.vision.lines import GateLine
from gatewatch.vision.stages import Crossing
from tests.conftest import asset
from tests.vision.helpers import make_frame, make_tracks

FPS = 25.0


@pytest.fixture(scope="module")
def street() -> np.ndarray:
    """The first frame of the shared street clip (BGR)."""
    cap = cv2.VideoCapture(str(asset("videos/street_parked_and_passing_vehicles_73s.mp4")))
    ok, image = cap.read()
    cap.release()
    assert ok
    return image


def lane(heading: str = "left") -> GateLine:
    return GateLine(LaneConfig(id="street", line=((330, 140), (330, 230)), entry_heading=heading))


def has_color(image: np.ndarray, color: tuple[int, int, int], box: tuple[int, int, int, int], tol: int = 12) -> bool:
    x0, y0, x1, y1 = box
    patch = image[max(y0, 0):y1, max(x0, 0):x1].astype(int)
    return bool((np.abs(patch - np.array(color)).max(axis=2) <= tol).any())


@pytest.mark.parametrize(
    ("anchor", "text_wh"),
    [((-50, -50), (80, 14)), ((5000, 5000), (80, 14)), ((630, 5), (120, 20)), ((0, 359), (40, 10)), ((320, 180), (700, 20))],
)
def test_a_label_stays_inside_the_frame(anchor: tuple[int, int], text_wh: tuple[int, int]) -> None:
    size, pad = (640, 360), 3
    x, y = place_text(size, text_wh, anchor, pad)
    assert x >= pad and y - text_wh[1] >= pad and y <= size[1] - pad
    if text_wh[0] + 2 * pad <= size[0]:  # a label wider than the frame starts at its left edge
        assert x + text_wh[0] <= size[0] - pad


@pytest.mark.parametrize("anchor", [(-40, -40), (700, 400), (635, 2), (2, 355)])
def test_put_label_draws_inside_the_frame(street: np.ndarray, anchor: tuple[int, int]) -> None:
    image = street.copy()
    h, w = image.shape[:2]
    x0, y0, x1, y1 = put_label(image, "import-1  in 12  out 3", (anchor[0] * w / 640, anchor[1] * h / 360), 0.5, EXIT)
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert has_color(image, EXIT, (x0, y0, x1, y1), tol=0)


@pytest.mark.parametrize(("text", "shown"), [("51F12345", "51F12345"), ("桂A12345", "CN A12345"), ("", "")])
def test_plate_text_is_drawable(text: str, shown: str) -> None:
    assert drawable(text) == shown


@pytest.mark.parametrize(("heading", "side"), [("left", -1), ("right", 1)])
def test_entry_arrow_points_the_entry_way(street: np.ndarray, heading: str, side: int) -> None:
    h, w = street.shape[:2]
    annotator = GateAnnotator((w, h), [lane(heading)])
    image = annotator.draw(make_frame(0, FPS, street), make_tracks([]))
    # the arrow's head (more of its colour) lies on the heading side of the line's midpoint (330, 185)
    mask = (np.abs(image.astype(int) - np.array(ENTRY)).max(axis=2) <= 12)[165:205]
    ahead = mask[:, 331:371].sum() if side > 0 else mask[:, 290:330].sum()
    behind = mask[:, 290:330].sum() if side > 0 else mask[:, 331:371].sum()
    assert ahead > 1.5 * behind > 0


def test_a_counted_vehicle_is_highlighted_for_highlight_s(street: np.ndarray) -> None:
    h, w = street.shape[:2]
    line = lane()
    annotator = GateAnnotator((w, h), [line], highlight_s=1.0)
    box = (260.0, 150.0, 320.0, 210.0)
    frame = make_frame(10, FPS, street)
    crossing = Crossing(frame, 7, "street", "exit", box, "car", 0.9)
    region = (255, 145, 325, 215)
    counted = annotator.draw(frame, make_tracks([(7, box, "car")]), [crossing])
    assert has_color(counted, EXIT, region, tol=0)
    later = annotator.draw(make_frame(10 + int(FPS / 2), FPS, street), make_tracks([(7, box, "car")]))
    assert has_color(later, EXIT, region, tol=0)  # still within the second
    gone = annotator.draw(make_frame(10 + int(FPS * 1.2), FPS, street), make_tracks([(7, box, "car")]))
    assert not has_color(gone, EXIT, region, tol=0)


@pytest.mark.parametrize(("flag_open", "color"), [(False, WAITING), (True, HELD)])
def test_dwell_zone_shows_each_vehicles_timer(street: np.ndarray, flag_open: bool, color: tuple[int, int, int]) -> None:
    h, w = street.shape[:2]
    config = HeldConfig(threshold_s=3, zones=[{"id": "south-kerb", "polygon": [[25, 225], [300, 215], [480, 228], [480, 325], [25, 290]]}])
    zone = DwellZone(config.zones[0], config, FPS)
    stay = Stay(box=np.array([100.0, 240.0, 180.0, 300.0]), first_ts=0.0, last_seen_ts=12.0, last_present_ts=12.0)
    if flag_open:
        stay.flag = object()  # type: ignore[assignment]  # only "is there an open flag" is read
    zone.stays.append(stay)
    annotator = GateAnnotator((w, h), [lane()], [zone])
    image = annotator.draw(make_frame(300, FPS, street), make_tracks([]))  # ts 12.0
    assert has_color(image, color, (90, 240, 190, 300), tol=0)
    other = HELD if color == WAITING else WAITING
    assert not has_color(image, other, (90, 240, 190, 300), tol=0)
