"""Vote one plate per track out of several reads.

Each read is a normalised plate text with a weight (reader confidence x crop quality).
Reads group by text; reads of the winning length also vote position by position, so two
reads that each got one character wrong can still settle on the right plate.

Example::

    >>> voter = PlateVote()
    >>> voter.add(Candidate("51F12345", "VN", "51F-123.45", 0.9, 1.0, 10))
    >>> voter.add(Candidate("51F12346", "VN", "51F-123.46", 0.6, 0.8, 14))
    >>> voter.add(Candidate("51F12345", "VN", "51F-123.45", 0.8, 0.9, 20))
    >>> voter.result().text, round(voter.result().confidence, 2)
    ('51F12345', 0.66)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from gatewatch.vision.plates.formats import Country, is_valid


@dataclass(frozen=True)
class Candidate:
    """One read of a track's plate: normalised text, country, raw text, confidence, quality, frame."""

    text: str
    country: Country
    text_raw: str
    confidence: float
    quality: float
    frame_index: int

    @property
    def weight(self) -> float:
        return self.confidence * self.quality


@dataclass(frozen=True)
class VoteResult:
    """A settled plate: ``confidence`` = weight share of the winner x its mean read confidence."""

    text: str
    country: Country
    text_raw: str
    confidence: float
    reads: int
    agreeing: int


@dataclass
class PlateVote:
    """Reads of one track and the plate they settle on."""

    candidates: list[Candidate] = field(default_factory=list)

    def add(self, candidate: Candidate) -> None:
        self.candidates.append(candidate)

    def __len__(self) -> int:
        return len(self.candidates)

    def result(self) -> VoteResult | None:
        """The voted plate, or ``None`` before any read."""
        if not self.candidates:
            return None
        by_text: dict[str, float] = defaultdict(float)
        for c in self.candidates:
            by_text[c.text] += c.weight
        total = sum(by_text.values()) or 1.0
        winner = max(by_text, key=lambda t: (by_text[t], t))
        text = self._positional(winner) or winner
        agreeing = [c for c in self.candidates if c.text == text] or [c for c in self.candidates if c.text == winner]
        share = sum(c.weight for c in self.candidates if c.text == text) / total
        mean_conf = sum(c.confidence for c in agreeing) / len(agreeing)
        best = max(agreeing, key=lambda c: c.weight)
        return VoteResult(text, best.country, best.text_raw, float(min(1.0, share * mean_conf)), len(self), len(agreeing))

    def _positional(self, winner: str) -> str | None:
        """Per-position weighted vote over reads as long as ``winner`` and of its country."""
        country = next(c.country for c in self.candidates if c.text == winner)
        same = [c for c in self.candidates if len(c.text) == len(winner) and c.country == country]
        if len(same) < 3:
            return None
        chars = []
        for pos in range(len(winner)):
            votes: dict[str, float] = defaultdict(float)
            for c in same:
                votes[c.text[pos]] += c.weight
            chars.append(max(votes, key=lambda ch: (votes[ch], ch == winner[pos])))
        text = "".join(chars)
        return text if is_valid(text, country) else None
