"""Voting over a sequence of reads of one track."""

from __future__ import annotations

import pytest

from gatewatch.vision.plates.voting import Candidate, PlateVote


def _c(text: str, conf: float = 0.9, quality: float = 1.0, frame: int = 0, country: str = "VN") -> Candidate:
    return Candidate(text, country, text, conf, quality, frame)


def test_empty_vote() -> None:
    assert PlateVote().result() is None


@pytest.mark.parametrize(
    ("reads", "text", "agreeing"),
    [
        ([_c("51F12345")], "51F12345", 1),
        ([_c("51F12345"), _c("51F12346", 0.6, 0.8), _c("51F12345", 0.8)], "51F12345", 2),
        # each wrong read differs in one place: the position-wise vote recovers the plate
        ([_c("51F12845"), _c("51F12395"), _c("51F72345")], "51F12345", 0),
        # a weaker minority does not win
        ([_c("59L214999", 0.95), _c("59L214990", 0.5, 0.5), _c("59L214999", 0.9, 0.9)], "59L214999", 2),
        ([_c("桂A12345", country="CN"), _c("桂A12345", country="CN"), _c("51F12345")], "桂A12345", 2),
    ],
)
def test_vote(reads: list[Candidate], text: str, agreeing: int) -> None:
    vote = PlateVote()
    for read in reads:
        vote.add(read)
    result = vote.result()
    assert result is not None
    assert result.text == text
    assert result.reads == len(reads)
    assert 0.0 <= result.confidence <= 1.0
    if agreeing:
        assert result.agreeing == agreeing


def test_confidence_grows_with_agreement() -> None:
    split, agreed = PlateVote(), PlateVote()
    for vote, second in ((split, "51F99999"), (agreed, "51F12345")):
        vote.add(_c("51F12345"))
        vote.add(_c(second))
    assert agreed.result().confidence > split.result().confidence  # type: ignore[union-attr]
