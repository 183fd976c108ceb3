"""Per-character fusion of PP-OCR lines with the fast-plate-ocr slot read: table tests, no model."""

from __future__ import annotations

import numpy as np
import pytest

from gatewatch.vision.plates.fastplate import FASTPLATE_ALPHABET
from gatewatch.vision.plates.fusion import align, fuse_vn, slot_read, vn_lines


def slots(text: str, sure: float = 0.99, doubts: dict[int, dict[str, float]] | None = None) -> np.ndarray:
    """Slot probabilities ``(9, 37)`` that read ``text`` (padded with ``_``); ``doubts``: slot -> {char: p}."""
    out = np.full((9, len(FASTPLATE_ALPHABET)), 0.0, np.float32)
    for i in range(9):
        char = text[i] if i < len(text) else "_"
        spread = {char: sure, **(doubts or {}).get(i, {})}
        rest = (1.0 - sum(spread.values())) / (len(FASTPLATE_ALPHABET) - len(spread))
        out[i, :] = max(rest, 0.0)
        for c, p in spread.items():
            out[i, FASTPLATE_ALPHABET.index(c)] = p
    return out


def pp(*lines: str, sure: float = 0.99, doubts: dict[int, float] | None = None) -> list[tuple[str, list[float]]]:
    """PP-OCR lines with a probability per character; ``doubts``: alphanumeric index -> p."""
    out, k = [], 0
    for line in lines:
        probs = []
        for c in line:
            if c.isalnum():
                probs.append((doubts or {}).get(k, sure))
                k += 1
            else:
                probs.append(0.9)
        out.append((line, probs))
    return out


# (case, PP-OCR lines, slot read, expected fused lines or None)
CASES = [
    ("both agree, two lines", pp("59-L2", "149.99"), slots("59L214999"), ("59L2", "14999")),
    ("both agree, one line", pp("51F-065.32"), slots("51F06532"), ("51F06532",)),
    # PP-OCR reads the series T as 1, unsure; the slot model is sure of T
    ("series letter from the slots", pp("59-11", "048.31", doubts={2: 0.45}), slots("59T104831"), ("59T1", "04831")),
    # the slot model misreads a tail digit, unsure; PP-OCR is sure
    ("tail digit from PP-OCR", pp("60-B7", "366.38"), slots("60B736688", doubts={7: {"3": 0.3}}, sure=0.6),
     ("60B7", "36638")),
    # each reader is unsure of a different character: each position takes the surer one
    ("one char from each", pp("54-P7", "6117", doubts={3: 0.4}), slots("54P16117", doubts={6: {"7": 0.2}}, sure=0.7),
     ("54P7", "6117")),
    # a digit where the layout wants a letter: the slot model's letter is taken even at low probability
    ("layout forces the letter", pp("47-01", "172.37", doubts={2: 0.52}), slots("47D117237", sure=0.6, doubts={2: {"0": 0.3}}),
     ("47D1", "17237")),
    # 10 characters (electric motorbike MD series): the 9-slot model cannot hold them, PP-OCR's length wins
    ("MD series longer than 9 slots", pp("29-MD1", "052.00"), slots("29M105200"), ("29MD1", "05200")),
    # PP-OCR reads the plate frame as a leading 1: the slot read's length wins, split by the VN layout
    ("stray frame character", pp("159-L2", "149.99", doubts={0: 0.5}), slots("59L214999"), ("59L2", "14999")),
    # PP-OCR reads a character twice across the line break: the line break is carried to the slot read
    ("line break through the alignment", pp("54·S7", "13211", doubts={4: 0.3}), slots("54S73211"), ("54S7", "3211")),
    # PP-OCR read nothing: the slot read alone, one line
    ("PP-OCR empty", [], slots("51F06532"), ("51F06532",)),
    # a Chinese read (province character) is never fused
    ("Chinese plate", pp("皖A0K782"), slots("A0K782"), None),
    # a US plate: letters where a VN plate has digits, in both reads: not forced into a VN layout
    ("not a VN plate", pp("ABC1234"), slots("ABC1234"), None),
    ("nothing fits", pp("12"), slots("12"), None),
]


@pytest.mark.parametrize(("case", "lines", "slot_probs", "expected"), CASES, ids=[c[0] for c in CASES])
def test_fuse_vn(case: str, lines: list, slot_probs: np.ndarray, expected: tuple[str, ...] | None) -> None:
    fused = fuse_vn(lines, slot_read(slot_probs, FASTPLATE_ALPHABET))
    if expected is None:
        assert fused is None
        return
    assert fused is not None and fused.lines == expected
    assert len(fused.probs) == len(fused.text) and 0.0 < fused.confidence <= 1.0


def test_fused_confidence_is_lower_where_the_readers_disagree() -> None:
    agree = fuse_vn(pp("59-L2", "149.99"), slot_read(slots("59L214999"), FASTPLATE_ALPHABET))
    split = fuse_vn(pp("59-L2", "149.99", doubts={3: 0.6}), slot_read(slots("59L714999", sure=0.6), FASTPLATE_ALPHABET))
    assert agree is not None and split is not None
    assert split.probs[3] < agree.probs[3]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("59L214999", ("59L2", "14999")),   # motorbike 59-L2 149.99
        ("54T15417", ("54T", "15417")),     # 8 characters: as 30E 270.10 (older motorbikes print 54-T1 5417)
        ("30E27010", ("30E", "27010")),     # square car plate 30E 270.10
        ("51LD12345", ("51LD", "12345")),   # two-letter series
        ("29MD105200", ("29MD1", "05200")),  # electric motorbike
        ("ABC123", ("ABC123",)),            # not Vietnamese: one line
        ("", ("",)),
    ],
)
def test_vn_lines(text: str, lines: tuple[str, ...]) -> None:
    assert vn_lines(text) == lines


@pytest.mark.parametrize(
    ("a", "b", "pairs"),
    [
        ("ABC", "ABC", [(0, 0), (1, 1), (2, 2)]),
        ("1ABC", "ABC", [(0, None), (1, 0), (2, 1), (3, 2)]),
        ("ABC", "AXC", [(0, 0), (1, 1), (2, 2)]),
        ("ABC", "ABCD", [(0, 0), (1, 1), (2, 2), (None, 3)]),
        ("", "AB", [(None, 0), (None, 1)]),
    ],
)
def test_align(a: str, b: str, pairs: list) -> None:
    assert align(a, b) == pairs


def test_slot_read_drops_padding_and_keeps_distributions() -> None:
    read = slot_read(slots("51F06532", sure=0.9), FASTPLATE_ALPHABET)
    assert read.text == "51F06532" and not read.full
    assert read.dists.shape == (8, 36) and read.probs == pytest.approx([0.9] * 8)
    assert slot_read(slots("59L214999"), FASTPLATE_ALPHABET).full
