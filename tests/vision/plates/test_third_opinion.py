"""The own model as a third opinion beside ``fused``: when it may override a character, and when not."""

from __future__ import annotations

import numpy as np
import pytest

from gatewatch.vision.plates.third_opinion import (
    Read,
    fits,
    other_length_read,
    own_read,
    read_of,
    series_d,
    third_opinion,
)


def R(text: str, p: float = 0.9) -> Read:  # noqa: N802 - a short table constructor
    return Read(text, (p,) * len(text))


@pytest.mark.parametrize(
    ("fused", "firsts", "own", "expected"),
    [
        # VN: PP-OCR read T, the slot model L, fused kept T; own reads L -> two readers of three say L
        ("59T214999", ("59T214999", "59L214999"), "59L214999", "59L214999"),
        # own alone against both first readers: no say
        ("59L214999", ("59L214999", "59L214999"), "59T214999", None),
        # own agrees with fused: nothing to change
        ("51F44614", ("51F44614", "51F44674"), "51F44614", None),
        # two characters, each backed by one first reader
        ("30E27010", ("30E27610", "30F27010"), "30F27610", "30F27610"),
        # own's length differs and no first reader read that length: no say
        ("47R14301", ("47L14301", "47R14301"), "47L143011", None),
        # MĐ plate 23-MĐ1 013.92 (dev crop ndata320): PP-OCR 23M0101392 (Đ as 0), the slot model's nine
        # slots drop a character, fused 23M101392; own + PP-OCR (fitted 0 -> D) agree on ten characters
        ("23M101392", ("23M0101392", "23M101392"), "23MD101392", "23MD101392"),
        # the first reader of the own length fits to another text: no say
        ("23M101392", ("23M0101393", "23M101392"), "23MD101392", None),
        # the own read of another length fits no format: no say
        ("51F12345", ("51F1234567", "51F12345"), "51F1234567", None),
        # the Đ rule (dev crop ndata357, 23-MĐ1 025.02): PP-OCR and fused read Đ as B, the slot model 9 chars
        ("23MB102502", ("23MB102502", "23M102502"), "23MD102502", "23MD102502"),
        # a nine-character two-letter series (51-LB): the Đ rule does not apply
        ("51LB12345", ("51LB12345", "51LB12345"), "51LD12345", None),
        # the override would break the format (a letter among the digits): kept as fused
        ("54T15417", ("54T1541A", "54T15417"), "54T1541A", None),
        # CN: province voted by itself (RapidOCR dropped it; LPRNet read 皖, fused took 苏)
        ("苏A0K782", ("A0K782", "皖A0K782"), "皖A0K782", "皖A0K782"),
        # CN body: own + RapidOCR against LPRNet's pick
        ("皖A08V01", ("皖A08V07", "皖A08V01"), "皖A08V07", "皖A08V07"),
        # fused gave nothing that fits: own taken when a first reader read exactly the same
        ("59L2", ("59L214999", "59L2149"), "59L214999", "59L214999"),
        ("59L2", ("59L21499", "59L2149"), "59L214999", None),
    ],
)
def test_third_opinion_table(fused: str, firsts: tuple[str, str], own: str, expected: str | None) -> None:
    assert third_opinion(R(fused), [R(t) for t in firsts], R(own)) == expected


def test_an_unsure_own_character_has_no_say_below_min_own_prob() -> None:
    firsts = [R("59T214999"), R("59L214999")]
    own = Read("59L214999", (0.9, 0.9, 0.3, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9))
    assert third_opinion(R("59T214999"), firsts, own) == "59L214999"
    assert third_opinion(R("59T214999"), firsts, own, min_own_prob=0.5) is None


def test_no_fused_read_at_all() -> None:
    assert third_opinion(None, [R("30E27010"), R("30E2701")], R("30E27010")) == "30E27010"
    assert third_opinion(None, [R("30E27010"), R("30E2701")], R("")) is None


def test_reads_from_reader_output() -> None:
    assert read_of(["59-L2", "149.99"]).text == "59L214999"
    # probabilities of the raw line do not fit the cleaned text
    assert read_of(["59-L2"], [0.5] * 5).probs == ()
    own = own_read([("59L2", np.array([0.9, 0.8, 0.7, 0.6])), ("14999", np.full(5, 0.5))])
    assert own.text == "59L214999" and own.prob(2) == pytest.approx(0.7)
    cn = Read("皖A08V01", (0.4, 0.9, 0.8, 0.7, 0.6, 0.5, 0.3))
    assert (cn.province, cn.body, cn.prob(0)) == ("皖", "A08V01", 0.9)
    assert fits("皖A08V01") and fits("59L214999") and not fits("59L21499A")


def test_other_lengths_off_keeps_the_same_length_rule_alone() -> None:
    firsts = [R("23M0101392"), R("23M101392")]
    assert third_opinion(R("23M101392"), firsts, R("23MD101392"), other_lengths=False) is None
    assert third_opinion(R("23MB102502"), [R("23MB102502")], R("23MD102502"), other_lengths=False) is None


def test_other_length_read_and_series_d_respect_min_own_prob() -> None:
    unsure = Read("23MD101392", (0.9, 0.9, 0.9, 0.3, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9))
    assert other_length_read(R("23M101392"), [R("23M0101392")], unsure) == "23MD101392"
    assert other_length_read(R("23M101392"), [R("23M0101392")], unsure, min_own_prob=0.5) is None
    assert series_d("23MB102502", unsure) == "23MD102502"
    assert series_d("23MB102502", unsure, min_own_prob=0.5) == "23MB102502"
    # Chinese reads are left to the province vote (the evidence for this rule is Vietnamese only)
    assert other_length_read(R("A0K782"), [R("A0K782"), R("皖A0K782")], R("皖A0K782")) is None
    assert series_d("23MV102502", R("23MD102502")) == "23MV102502"  # V is not a look-alike of Đ
