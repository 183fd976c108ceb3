"""One plate key on both sides of the wire: the edge's hold-list match and plate formats, the API's
stored plate, hold entry and exact search all key a plate text the same way, and nothing folds L."""

from __future__ import annotations

import pytest

from gatewatch.api.plates import fuzzy_match
from gatewatch.api.queries import matching_plates
from gatewatch.api.schemas import HoldIn
from gatewatch.contract import LOOKALIKES, HoldEntry, fold_lookalikes, plate_key
from gatewatch.vision.flags.holds import HoldList, match_plate, normalize_plate
from gatewatch.vision.plates.formats import clean

PLATES = [
    ("77L12345", "77L12345"),
    ("77l1-234.56", "77L123456"),
    ("59-L2 149.99", "59L214999"),
    ("51F-123.45", "51F12345"),
    ("51f 123 45", "51F12345"),
    ("29A 12345", "29A12345"),
    ("29a.123.45", "29A12345"),
    ("29C-123.45", "29C12345"),
    ("桂A12345", "桂A12345"),
    ("桂A·12345", "桂A12345"),
    ("桂a-123 45", "桂A12345"),
    ("７７Ｌ１２３４５", "77L12345"),  # full-width, as a CJK input method types it
    ("  30a -- 999.88 ", "30A99988"),
    ("OIBSZGDQ", "OIBSZGDQ"),  # look-alikes stay what they are in the key
]


def _api_search_key(text: str) -> str:
    (key,) = matching_plates(None, text, fuzzy=False)  # type: ignore[arg-type]  # exact search needs no rows
    return key


@pytest.mark.parametrize(("text", "key"), PLATES)
def test_edge_and_api_key_a_plate_the_same(text: str, key: str) -> None:
    edge_keys = {normalize_plate(text), clean(text)}
    api_keys = {_api_search_key(text), HoldIn(plate=text, reason="r").plate_normalised()}
    assert edge_keys == api_keys == {plate_key(text)} == {key}


@pytest.mark.parametrize("text", ["77L12345", "77l-123.45", "77L 123.45"])
def test_l_is_a_series_letter_never_folded(text: str) -> None:
    key = plate_key(text)
    assert key == "77L12345"
    assert key not in ("7712345", "77112345", "771 12345")
    assert fold_lookalikes(key) == key and "L" not in LOOKALIKES
    assert _api_search_key(text) == normalize_plate(text) == "77L12345"


def test_edge_hold_match_and_api_fuzzy_search_agree_on_l() -> None:
    """A listed 77L12345 matches its own reads on the edge; the API's fuzzy search does not turn L into 1."""
    assert HoldList([HoldEntry(plate="77L-123.45")]).find("77l 123 45").match == "exact"  # type: ignore[union-attr]
    assert match_plate("77L-123.45", "77l12345") == "exact"
    assert match_plate("77L12345", "77112345") is None  # L vs 1 is not a look-alike on the edge
    assert not fuzzy_match("77L12345", "7711234")  # L->1 plus a missing digit: two edits, not one
    assert fuzzy_match("77L12345", "77L1234")  # one missing digit
    assert fuzzy_match("29C12345", "Z9CI2345") and fuzzy_match("51F67890", "5IF67B9O")  # look-alikes still fold


def test_a_plate_whose_key_would_not_fit_the_column_is_refused() -> None:
    """'㍿' is one character but four once NFKC-normalised: the key the API stores must fit 32 characters."""
    from pydantic import ValidationError

    from gatewatch.contract import PLATE_MAX, PlateRead

    assert len("㍿" * 8) <= PLATE_MAX < len(plate_key("㍿" * 9))
    PlateRead(text="㍿" * 8, text_raw="r", confidence=0.5)
    with pytest.raises(ValidationError, match="longer than 32"):
        PlateRead(text="㍿" * 9, text_raw="r", confidence=0.5)
