"""Country and layout routing (VN / CN / neither) and the per-gate province prior, as tables.

Real crops where the shared assets hold the kind (VN one- and two-line, CN blue, US and Brazilian
plates cut from the openalpr photos by their labelled box); synthetic crops, marked as such, for
the kinds no shared asset holds (a European plate with a blue band, Chinese green and yellow plates).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from gatewatch.vision.plates import AutoReader, AutoReaderConfig, PlatesConfig
from gatewatch.vision.plates.formats import CN_PROVINCES
from gatewatch.vision.plates.province import (
    apply_province_prior,
    full_prior,
    province_posterior,
    province_probs,
)
from gatewatch.vision.plates.reading import PlateReading
from gatewatch.vision.plates.route import drop_province, plate_looks, route_plate
from tests.vision.plates.helpers import plate_crop

VN = "vn_plate_crops_label_plate_number/images"
CN = "cn_lprnet_test_crops/images"
ALPR = "openalpr_benchmarks_endtoend"
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # Debian fonts-wqy-microhei (CI installs it)


def _alpr_crop(plates_dir: Path, country: str, stem: str) -> np.ndarray:
    """The labelled plate box of an openalpr photo (skipped, saying so, when the photo is missing)."""
    label = plates_dir / ALPR / country / f"{stem}.txt"
    if not label.is_file():
        pytest.skip(f"asset missing: {label}")
    name, x, y, w, h = label.read_text().strip().split("\t")[:5]
    image = plate_crop(plates_dir / ALPR / country, name)
    return image[int(y) : int(y) + int(h), int(x) : int(x) + int(w)]


def _synthetic_plate(background: tuple[int, int, int], text: str, size: tuple[int, int] = (440, 140),
                     band: str | None = None, two_lines: tuple[str, str] | None = None) -> np.ndarray:
    """SYNTHETIC: a flat plate (BGR colour) with black text, an optional blue band (``left`` / ``top``)."""
    from PIL import Image, ImageDraw, ImageFont

    if not FONT.is_file():
        pytest.skip(f"CJK font missing for the synthetic plate: {FONT} (apt-get install fonts-wqy-microhei)")
    w, h = size
    image = Image.new("RGB", size, background[::-1])
    draw = ImageDraw.Draw(image)
    x0 = 0
    if band == "left":
        draw.rectangle((0, 0, int(w * 0.1), h), fill=(0, 51, 153))
        x0 = int(w * 0.1)
    elif band == "top":
        draw.rectangle((0, 0, w, int(h * 0.2)), fill=(0, 51, 153))
    draw.rectangle((1, 1, w - 2, h - 2), outline=(0, 0, 0), width=3)
    if two_lines:
        small, big = ImageFont.truetype(str(FONT), int(h * 0.32)), ImageFont.truetype(str(FONT), int(h * 0.46))
        draw.text((w * 0.25, h * 0.06), two_lines[0], font=small, fill=(0, 0, 0))
        draw.text((w * 0.1, h * 0.45), two_lines[1], font=big, fill=(0, 0, 0))
    else:
        font = ImageFont.truetype(str(FONT), int(h * 0.55))
        draw.text((x0 + w * 0.06, h * 0.15), text, font=font, fill=(0, 0, 0))
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def auto() -> AutoReader:
    return AutoReader(AutoReaderConfig(threads=1))


# -- routing table: real crops through the auto reader ---------------------------------------------

REAL_ROUTES = [  # (crop, expected route, expected plate text after format fitting, or None for raw text)
    ("vn", f"{VN}/3CarLongPlate226.jpg", "VN", "51F06532"),   # VN one-line car 51F-065.32
    ("vn", f"{VN}/10xemay1217.jpg", "VN", "59L214999"),       # VN two-line motorbike 59-L2 149.99
    ("vn", f"{VN}/ndata103.jpg", "VN", "30E27010"),           # VN two-line square 30E 270.10
    ("cn", f"{CN}/皖A0K782.jpg", "CN", "皖A0K782"),            # CN blue, province read
    ("cn", f"{CN}/京PL3N67.jpg", "CN", "京PL3N67"),
    ("us", "wts-lg-000106", "other", None),                    # US plate with a blue picture: was sent to LPRNet
    ("us", "car6", "other", None),
    ("br", "AYO9034", "other", None),                           # Brazilian grey plate
]


@pytest.mark.parametrize(("kind", "rel", "route", "text"), REAL_ROUTES, ids=[r[1].split("/")[-1] for r in REAL_ROUTES])
def test_route_real_crops(auto: AutoReader, plates_dir: Path, kind: str, rel: str, route: str, text: str | None) -> None:
    from gatewatch.vision.plates.lines import inset, split_lines

    crop = _alpr_crop(plates_dir, kind, rel) if kind in ("us", "br") else plate_crop(plates_dir, rel)
    lines = split_lines(inset(crop, auto.config.frame_inset), auto.config.two_line_max_aspect)
    texts = [t for t, _ in auto.rapid.recognizer.recognise(lines)]
    assert auto.route(crop, len(lines), texts) == route
    reading = auto.read(crop)
    assert reading is not None
    if text is not None:
        from gatewatch.vision.plates import normalise

        fitted = normalise(reading.lines)
        assert fitted is not None and fitted.text == text
    else:  # neither country: raw text, never a province character
        assert not any(c in CN_PROVINCES for c in reading.text_raw), reading


# -- routing table: synthetic crops (no such plate is shared), and the rules on given reads ----------

SYNTHETIC_ROUTES = [  # (what, plate colour BGR, band, two lines, what a reader read, expected looks, expected route)
    ("EU band, read plainly", (255, 255, 255), "left", None, ["BMW1234"], ("white", "left"), "other"),
    ("EU band, a province misread", (255, 255, 255), "left", None, ["京MW1234"], ("white", "left"), "other"),
    ("Mercosur top band", (255, 255, 255), "top", None, ["BRA2E19"], ("white", "top"), "other"),
    ("CN green new-energy, read", (120, 220, 140), None, None, ["粤BD12345"], ("green", None), "CN"),
    ("CN green, nothing read", (120, 220, 140), None, None, [""], ("green", None), "CN"),
    ("CN blue, letters only read", (160, 60, 10), None, None, ["A12345"], ("blue", None), "CN"),
    ("CN yellow, province read", (0, 200, 255), None, None, ["桂A12345"], ("yellow", None), "CN"),
    ("CN yellow two-line, province read", (0, 200, 255), None, ("桂 A", "12345"), ["桂A", "12345"], ("yellow", None), "CN"),
    ("yellow, nothing fits: colour alone says nothing", (0, 200, 255), None, None, ["XY"], ("yellow", None), "other"),
    ("VN yellow commercial one-line", (0, 200, 255), None, None, ["51F12345"], ("yellow", None), "VN"),
    ("white, VN text", (255, 255, 255), None, None, ["51F-123.45"], ("white", None), "VN"),
    ("white, US text", (255, 255, 255), None, None, ["7ABC123"], ("white", None), "other"),
]


@pytest.mark.parametrize(
    ("what", "colour", "band", "two", "texts", "looks", "route"), SYNTHETIC_ROUTES, ids=[r[0] for r in SYNTHETIC_ROUTES]
)
def test_route_synthetic_table(what: str, colour: tuple[int, int, int], band: str | None, two: tuple[str, str] | None,
                               texts: list[str], looks: tuple[str, str | None], route: str) -> None:
    crop = _synthetic_plate(colour, "".join(texts) or "XY", band=band, two_lines=two,
                            size=(220, 140) if two else (440, 110))
    seen = plate_looks(crop, 2 if two else 1)
    assert (seen.background, seen.band) == looks
    assert route_plate(seen, texts) == route


@pytest.mark.parametrize("band", ["left", "top"])
def test_synthetic_banded_plate_read_has_no_province(auto: AutoReader, band: str) -> None:
    """SYNTHETIC plates with a blue band (European at the left, Mercosur-style at the top): raw Latin text,
    no province, no LPRNet run. Before routing, the top-band plate went to LPRNet and was read ``晋MW1234``."""
    before = auto.lprnet_reads
    crop = _synthetic_plate((255, 255, 255), "B MW 1234", band=band, size=(520, 110))
    reading = auto.read(crop)
    assert reading is not None
    assert not any(c in CN_PROVINCES for c in reading.text_raw)
    assert drop_province(reading.text_raw).replace(" ", "") == "BMW1234"
    assert auto.lprnet_reads == before


# -- province prior --------------------------------------------------------------------------------

REST = 0.1 / 30  # prior of each of the 30 provinces not listed when one is given 0.9
PRIOR_TABLE = [  # (reader's province probabilities, prior, chosen, posterior of the chosen one)
    ((("宁", 0.50), ("皖", 0.40), ("桂", 0.10)), {}, "宁", 0.50),   # no prior: the reader's choice
    ((("宁", 0.50), ("皖", 0.40), ("桂", 0.10)), {"皖": 0.9}, "皖", 0.4 * 0.9 / (0.4 * 0.9 + 0.6 * REST)),
    ((("云", 0.97), ("桂", 0.03)), {"桂": 0.9}, "桂", 0.03 * 0.9 / (0.03 * 0.9 + 0.97 * REST)),  # 270:1 prior wins
    ((("云", 0.999), ("桂", 0.001)), {"桂": 0.9}, "云", 0.999 * REST / (0.999 * REST + 0.001 * 0.9)),  # a sure read wins
    ((("桂", 0.90), ("云", 0.10)), {"桂": 0.5, "云": 0.4}, "桂", 0.9 * 0.5 / (0.9 * 0.5 + 0.1 * 0.4)),
]


@pytest.mark.parametrize(("reader", "prior", "chosen", "posterior"), PRIOR_TABLE)
def test_province_prior_table(reader: tuple[tuple[str, float], ...], prior: dict[str, float], chosen: str,
                              posterior: float) -> None:
    got, p, _ = province_posterior(reader, prior)
    assert got == chosen
    assert p == pytest.approx(posterior)


def test_prior_changes_the_read_and_its_confidence() -> None:
    """The province is replaced and the confidence counts its posterior instead of the reader's 0.5."""
    reading = PlateReading(("宁A12345",), 0.9, (0.9,), (("宁", 0.5), ("皖", 0.4), ("桂", 0.1)))
    out = apply_province_prior(reading, {"皖": 0.9})
    assert out.lines == ("皖A12345",)
    _, posterior, _ = province_posterior(reading.province_probs, {"皖": 0.9})
    assert out.confidence == pytest.approx(0.9 + (posterior - 0.5) / 7)
    assert apply_province_prior(reading, {}) == reading          # no prior: unchanged
    plain = PlateReading(("51F12345",), 0.9, (0.9,))
    assert apply_province_prior(plain, {"皖": 0.9}) == plain      # no province probabilities: unchanged


def test_full_prior_shares_the_rest() -> None:
    prior = full_prior({"桂": 0.9})
    assert prior["桂"] == 0.9 and sum(prior.values()) == pytest.approx(1.0)
    assert prior["云"] == pytest.approx(0.1 / (len(CN_PROVINCES) - 1))


def test_province_probs_at_the_province_step() -> None:
    classes = ["-", "皖", "宁", "A", "1"]
    steps = np.array([[0.9, 0.05, 0.03, 0.01, 0.01], [0.1, 0.6, 0.3, 0.0, 0.0], [0.1, 0.0, 0.0, 0.9, 0.0]])
    assert province_probs(steps, classes) == (("皖", pytest.approx(0.6)), ("宁", pytest.approx(0.3)))
    assert province_probs(steps[[0, 2]], classes) == ()


@pytest.mark.parametrize("bad", [{"X": 0.5}, {"桂": 1.0}, {"桂": 0.0}, {"桂": 0.6, "云": 0.5}])
def test_province_prior_config_is_checked(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="province_prior"):
        PlatesConfig(province_prior=bad)


def test_real_cn_read_carries_province_probabilities(auto: AutoReader, plates_dir: Path) -> None:
    """A real blue CN crop: the read names its province probabilities, and a prior for another province
    that the reader is sure against leaves the province as read."""
    reading = auto.read(plate_crop(plates_dir, f"{CN}/皖A0K782.jpg"))
    assert reading is not None and reading.province_probs
    probs = dict(reading.province_probs)
    assert max(probs, key=probs.__getitem__) == "皖"
    assert apply_province_prior(reading, {"皖": 0.9}).lines[0][0] == "皖"


def test_province_prior_from_camera_yaml() -> None:
    """The prior as written in a camera YAML (CJK keys) validates into the plates section."""
    import yaml

    section = yaml.safe_load("plates:\n  province_prior: {桂: 0.9}\n")["plates"]
    assert PlatesConfig(**section).province_prior == {"桂": 0.9}
    assert PlatesConfig().province_prior == {}  # default: no prior
