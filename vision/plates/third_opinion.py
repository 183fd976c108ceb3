"""gatewatch's own recogniser as a third opinion beside the ``fused`` reader (``fused_own``).

The ``fused`` read of a plate comes from two recognisers (Vietnamese: PP-OCR and the slot model;
Chinese: RapidOCR and LPRNet). Where the two disagree on a character, ``fused`` picks one by their
probabilities and is sometimes wrong. The ``own`` model reads the same crop; it overrides a
character of the fused read only when it is **not alone**: one of the two first readers read that
same character there too (two readers of three against the fusion's pick), and the overridden text
still fits the plate grammar (a VN or CN format, no character swapped). Positions are compared in
plates of the same length only (a Chinese province character is voted on by itself, as RapidOCR
often drops it). When ``fused`` gives no plate that fits a format, the own read is taken if it
fits one and one of the first two readers read exactly the same text.

Reads of another length (:func:`other_length_read`): when the own read fits a format, is not as long as
the fused read, is Vietnamese, and one first reader read a text of the own read's length that format fitting (look-alike
swaps, e.g. ``0`` -> ``D``) turns into the own text, the own read wins: two readers of three agree on
the length. This is the electric ``MĐ`` series (``23-MĐ1 013.92``, ten characters): the slot model
has nine slots and drops a character, and PP-OCR reads ``Đ`` as ``0``, ``B`` or drops it.

The ``Đ`` rule (:func:`series_d`): on a ten-character Vietnamese plate (``DDLLDDDDDD``, every one of
them in the dev half an ``MĐ`` plate) an own ``D`` in the second series letter replaces a fused ``B``,
``0`` or ``8`` without a second reader's support, as the slot model cannot read a ten-character plate.

Pure functions, no model: table-tested in ``tests/vision/plates/test_third_opinion.py``. The rule
and ``min_own_prob`` were chosen on the dev-check quarter (``benchmarks/plates.py --split devcheck``),
which the own model was not trained on.

Example::

    >>> third_opinion(Read("59T214999"), [Read("59L214999"), Read("59T214999")], Read("59L214999", (.9,) * 9))
    '59L214999'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gatewatch.vision.plates.formats import CN_PROVINCES, clean, normalise


@dataclass(frozen=True)
class Read:
    """One reader's text of a plate (letters, digits, CJK; separators dropped) and a probability per character."""

    text: str
    probs: tuple[float, ...] = ()

    @property
    def province(self) -> str:
        """The leading Chinese province character, or ``''``."""
        return self.text[0] if self.text[:1] and self.text[0] in CN_PROVINCES else ""

    @property
    def body(self) -> str:
        """The text after the province character."""
        return self.text[len(self.province) :]

    def prob(self, i: int) -> float:
        """Probability of character ``i`` of :attr:`body` (1.0 when the reader gave none)."""
        k = i + len(self.province)
        return self.probs[k] if k < len(self.probs) else 1.0


def read_of(lines: Sequence[str], probs: Sequence[float] = ()) -> Read:
    """A :class:`Read` from a reader's lines; ``probs`` per character of the cleaned text (or empty)."""
    text = clean("".join(lines))
    return Read(text, tuple(probs) if len(probs) == len(text) else ())


def fits(text: str) -> bool:
    """Whether ``text`` is a VN or CN plate exactly as it stands (no character swapped)."""
    fitted = normalise([text], max_substitutions=0) if text else None
    return fitted is not None and fitted.text == text


def third_opinion(
    fused: Read | None,
    firsts: Sequence[Read],
    own: Read,
    min_own_prob: float = 0.0,
    other_lengths: bool = True,
) -> str | None:
    """The plate text after the own read's say, or ``None`` to keep ``fused`` as it is.

    ``fused``: the fused read (``None`` when it gave nothing); ``firsts``: the two reads it was made from;
    ``own``: the own model's read; ``min_own_prob``: an own character below this probability has no say;
    ``other_lengths``: also let an own read of another length win (:func:`other_length_read`) and apply
    the ``Đ`` rule (:func:`series_d`).
    """
    if fused is None or not fits(fused.text):
        agreed = own.text and any(own.text == r.text for r in firsts)
        return own.text if agreed and fits(own.text) else None
    province = fused.province
    if own.province and own.province != province and any(r.province == own.province for r in firsts):
        province = own.province
    if other_lengths:
        other = other_length_read(fused, firsts, own, min_own_prob)
        if other is not None:
            return other
    body = list(fused.body)
    if other_lengths:
        body = list(series_d(fused.body, own, min_own_prob))
    if len(own.body) == len(body):
        for i, c in enumerate(own.body):
            if c == body[i] or own.prob(i) < min_own_prob:
                continue
            if any(len(r.body) == len(body) and r.body[i] == c for r in firsts):
                body[i] = c
    text = province + "".join(body)
    return text if text != fused.text and fits(text) else None


def other_length_read(
    fused: Read, firsts: Sequence[Read], own: Read, min_own_prob: float = 0.0
) -> str | None:
    """The own text when it is not as long as the fused one and a first reader of its length backs it.

    Backed: that first read, fitted to a plate format (look-alike swaps allowed), is the own text. The
    own read must be Vietnamese (no Chinese character: the evidence is from Vietnamese plates only) and fit
    a format as it stands, with no character below ``min_own_prob``.
    """
    if len(own.text) == len(fused.text) or not own.text.isascii() or not fits(own.text):
        return None
    if min(own.probs, default=1.0) < min_own_prob:
        return None
    for r in firsts:
        if len(r.text) == len(own.text):
            fitted = normalise([r.text])
            if fitted is not None and fitted.text == own.text:
                return own.text
    return None


SERIES_D_READ_AS = "B08"  # what the readers print for the Đ of an MĐ plate


def series_d(body: str, own: Read, min_own_prob: float = 0.0) -> str:
    """``body`` with the own ``D`` in the second series letter of a ten-character VN plate (``Đ``).

    Applies only when ``body`` and the own read are both ``DDLLDDDDDD`` long, the own read has ``D``
    there (probability at least ``min_own_prob``) and ``body`` one of :data:`SERIES_D_READ_AS`.
    """
    if len(body) != 10 or len(own.body) != 10 or own.province or own.body[3] != "D":
        return body
    if body[3] not in SERIES_D_READ_AS or own.prob(3) < min_own_prob or not body[:2].isdigit():
        return body
    return body[:3] + "D" + body[4:]


def own_read(recognised: Sequence[tuple[str, np.ndarray]]) -> Read:
    """A :class:`Read` from the own model's lines (text, per-character probabilities)."""
    text = "".join(t for t, _ in recognised)
    return read_of([text], [float(p) for _, probs in recognised for p in probs])
