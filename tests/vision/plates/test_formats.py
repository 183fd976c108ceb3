"""Plate format tables: valid, invalid and confusable readings for VN and CN plates."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewatch.vision.plates.formats import is_valid, normalise
from tests.vision.plates.helpers import plate_crop


@pytest.mark.parametrize(
    ("lines", "text", "country", "display"),
    [
        (["51F-123.45"], "51F12345", "VN", "51F-123.45"),
        (["59-L2", "149.99"], "59L214999", "VN", "59-L2 149.99"),
        (["54-T1", "5417"], "54T15417", "VN", "54-T1 5417"),
        (["30E", "270.10"], "30E27010", "VN", "30E 270.10"),
        (["51LD-123.45"], "51LD12345", "VN", "51LD-123.45"),
        (["29-MD1", "052.00"], "29MD105200", "VN", "29-MD1 052.00"),
        (["51R-123.45"], "51R12345", "VN", "51R-123.45"),           # R: trailer / semi-trailer
        (["51-R4", "2488"], "51R42488", "VN", "51-R4 2488"),
        (["桂A·12345"], "桂A12345", "CN", "桂A·12345"),
        (["粤B·D12345"], "粤BD12345", "CN", "粤B·D12345"),
        (["桂A·1234挂"], "桂A1234挂", "CN", "桂A·1234挂"),
        (["桂A", "12345"], "桂A12345", "CN", "桂A·12345"),
    ],
)
def test_valid(lines: list[str], text: str, country: str, display: str) -> None:
    plate = normalise(lines)
    assert plate is not None
    assert (plate.text, plate.country, plate.display, plate.substitutions) == (text, country, display, 0)
    assert is_valid(plate.text, plate.country)


@pytest.mark.parametrize(
    ("lines", "text", "subs"),
    [
        (["5I-F12345"], "51F12345", 1),      # I -> 1 in the province digits
        (["51F-I23.4S"], "51F12345", 2),     # I -> 1, S -> 5 in the number
        (["S1F-123.45"], "51F12345", 1),     # S -> 5
        (["518-123.45"], "51B12345", 1),     # 8 -> B in the series letter
        (["59-L2", "I49.99"], "59L214999", 1),
        (["5G-Z1", "O417"], "56Z10417", 2),  # G -> 6 and O -> 0 in digit positions
        (["皖A·OK782"], "皖A0K782", 1),       # CN plates have no O
        (["桂A·I2345"], "桂A12345", 1),       # ... and no I
        (["桂0·12345"], "桂D12345", 1),       # city code is a letter: 0 -> D
    ],
)
def test_confusable(lines: list[str], text: str, subs: int) -> None:
    plate = normalise(lines)
    assert plate is not None
    assert (plate.text, plate.substitutions) == (text, subs)


@pytest.mark.parametrize(
    "lines",
    [
        [""],
        ["HELLO"],
        ["12345"],                 # no series letter
        ["05F-123.45"],            # no province code starts with 0
        ["51F-12"],                # too short
        ["51F-12345678"],          # too long
        ["A·05279"],               # CN without its province character
        ["SIF-I23.4S"],            # too many swaps (5)
        ["桂A·123"],               # too short
        ["LLLL"],
        ["51W-123.45"],            # W is no Vietnamese series letter
    ],
)
def test_invalid(lines: list[str]) -> None:
    assert normalise(lines) is None


@pytest.mark.parametrize(
    ("text", "country", "ok"),
    [
        ("51F12345", "VN", True), ("59L214999", "VN", True), ("05F12345", "VN", False), ("51F123", "VN", False),
        ("桂A12345", "CN", True), ("桂AD12345", "CN", True), ("桂AO1234", "CN", False), ("A12345", "CN", False),
    ],
)
def test_is_valid(text: str, country: str, ok: bool) -> None:
    assert is_valid(text, country) is ok  # type: ignore[arg-type]


# -- format fitting by confusion likelihood: the reader's probabilities choose between look-alikes --------

def _alts(lines: list[str], at: dict[int, tuple[tuple[str, float], ...]]) -> tuple[tuple[tuple[str, float], ...], ...]:
    """Alternatives for each character of the joined lines: the read character alone, except at ``at``."""
    joined = "".join(lines)
    return tuple(at.get(i, ((c, 0.99),)) for i, c in enumerate(joined))


CONFUSION_TABLE = [  # (lines read, alternatives at joined-character index, expected text)
    (["59-12", "149.99"], {}, "59T214999"),                                          # no reader probabilities: 1 -> T, as before
    (["59-12", "149.99"], {3: (("1", 0.6), ("L", 0.3), ("T", 0.05))}, "59L214999"),  # the reader leans to L: L
    (["59-12", "149.99"], {3: (("1", 0.6), ("T", 0.3), ("L", 0.05))}, "59T214999"),  # leans to T: T
    (["51-08", "3423"], {3: (("0", 0.7), ("U", 0.2), ("D", 0.02))}, "51U83423"),      # 0 -> U when the reader says so
    (["51-08", "3423"], {}, "51D83423"),                                             # else 0 -> D
    (["29-82", "12345"], {3: (("8", 0.5), ("R", 0.4), ("B", 0.05))}, "29R212345"),  # 8 -> R (trailer/moto series)
    (["51F-123.4L"], {9: (("L", 0.5), ("1", 0.4))}, "51F12341"),                     # L read in a digit's place: 1
    (["51F-123.4L"], {}, "51F12341"),
]


@pytest.mark.parametrize(("lines", "at", "text"), CONFUSION_TABLE)
def test_confusion_fitting_table(lines: list[str], at: dict[int, tuple[tuple[str, float], ...]], text: str) -> None:
    fitted = normalise(lines, alternatives=_alts(lines, at) if at else None)
    assert fitted is not None and fitted.text == text


def test_alternatives_of_the_wrong_length_are_ignored() -> None:
    fitted = normalise(["59-12", "149.99"], alternatives=((("L", 0.9),),))
    assert fitted is not None and fitted.text == "59T214999"


# real crops of the dev half (where the fitting was chosen): the series L is read as 1 by PP-OCR
DEV_SERIES_L = [
    ("vn_plate_crops_label_plate_number/images/1xemay907.jpg", "59L214999"),
    ("vn_plate_crops_label_plate_number/images/8xemay1219.jpg", "51L32640"),
]


@pytest.mark.parametrize(("rel", "text"), DEV_SERIES_L)
def test_series_l_read_as_1_is_fitted_to_l(plates_dir: Path, rel: str, text: str) -> None:
    from gatewatch.vision.plates import AutoReader, AutoReaderConfig

    reading = AutoReader(AutoReaderConfig(threads=1)).read(plate_crop(plates_dir, rel))
    assert reading is not None and reading.alternatives
    assert normalise(reading.lines).text[2] == "T"                                  # the old fitting
    assert normalise(reading.lines, alternatives=reading.alternatives).text == text  # fitted by likelihood
