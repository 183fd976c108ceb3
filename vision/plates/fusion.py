"""Fusing two reads of one plate.

Chinese plates (``auto`` reader): RapidOCR's and LPRNet's reads of the same crop, :func:`fuse_cn`.

Vietnamese plates (``fused`` reader): per-character fusion of PP-OCR's lines and the
fast-plate-ocr model's 9 slots, :func:`fuse_vn`.

Two recognisers err on different characters of a Vietnamese plate (PP-OCR: the series letter
of a small two-line plate, ``T`` read as ``1``; the slot model: a digit of the tail), so the
fused read takes each character from both:

* PP-OCR gives its characters per line with one probability each (greedy CTC); the slot model
  gives a probability for every character of ``0-9A-Z`` in each slot.
* The two alphanumeric strings are aligned (edit distance). For each VN layout
  (``formats``: ``DDLDDDDD``, ``DDLDDDDDD`` ...) as long as one of them, each position takes the
  character of the layout's class (digit or series letter) that both agree on most: the sum
  of their weighted log-probabilities (PP-OCR's probability is spread over the other
  characters when it is not sure). A character one reader saw and the other did not costs
  the other reader's doubt.
* The layout and the alignment with the best total score win; the result keeps PP-OCR's line
  split (carried through the alignment), else the VN layout's split.

Pure functions, no model: table-tested in ``tests/vision/plates/test_fusion.py``.

Example::

    >>> fuse_vn([("59-11", [1, 1, .45, .99]), ("048.31", [.98] * 5)], slot_read(slots))
    FusedRead(lines=('59T1', '04831'), probs=(...), backbone='pp')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from gatewatch.vision.plates.formats import (  # one source of truth
    _VN_LETTERS,
    _VN_TEMPLATES,
    CN_PROVINCES,
    DIGITS,
    clean,
    normalise,
)

ALNUM = DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class SlotRead:
    """One read of the slot model: text (padding dropped), each character's probability, each slot's distribution.

    Attributes:
        text: e.g. ``'59L214999'``.
        probs: probability of each character of ``text``.
        dists: ``(len(text), 36)`` probabilities over ``0-9A-Z`` of the slots that hold ``text``.
        full: every slot holds a character: a longer plate (``29MD105200``, 10) cannot fit, so a
            character missing from this read is no evidence against it.
    """

    text: str
    probs: np.ndarray
    dists: np.ndarray
    full: bool = False


@dataclass(frozen=True)
class FusionWeights:
    """How much each reader counts (chosen on the dev split, ``benchmarks/plates.py --split dev``).

    Attributes:
        pp: weight of PP-OCR's log-probabilities (the slot model's weight is 1).
        pp_floor: a PP-OCR probability is clipped to ``[pp_floor, 1 - pp_floor]`` (it says 1.0 too often).
        pp_spread: PP-OCR's doubt ``1 - p`` is shared by this many other characters.
        floor: probability of a character one reader did not see at all.
        eligible: a character is chosen only if PP-OCR read it or the slot model gives it at
            least this probability, so a plate neither reader saw as Vietnamese is not forced into a VN layout.
    """

    pp: float = 1.5
    pp_floor: float = 0.02
    pp_spread: float = 64.0
    floor: float = 0.02
    eligible: float = 0.05


@dataclass(frozen=True)
class FusedRead:
    """A fused plate read: lines top to bottom, per-character probability, which read gave the length."""

    lines: tuple[str, ...]
    probs: tuple[float, ...]
    backbone: str  # "pp" or "slots"

    @property
    def text(self) -> str:
        return "".join(self.lines)

    @property
    def confidence(self) -> float:
        return float(np.mean(self.probs)) if self.probs else 0.0


def slot_read(slots: np.ndarray, alphabet: str) -> SlotRead:
    """A :class:`SlotRead` from one crop's slot probabilities ``(9, len(alphabet))``; the last class is padding."""
    best = slots.argmax(axis=1)
    keep = [i for i, k in enumerate(best) if alphabet[k] != alphabet[-1]]
    columns = [alphabet.index(c) for c in ALNUM]
    return SlotRead(
        "".join(alphabet[best[i]] for i in keep),
        np.asarray([slots[i, best[i]] for i in keep], np.float32),
        np.asarray(slots[keep][:, columns] if keep else np.zeros((0, len(ALNUM))), np.float32),
        len(keep) == len(slots),
    )


def vn_lines(text: str) -> tuple[str, ...]:
    """A Vietnamese plate text split as its two lines are printed: series, then number.

    ``59L214999`` -> ``('59L2', '14999')`` (motorbike), ``30E27010`` -> ``('30E', '27010')``,
    ``29MD105200`` -> ``('29MD1', '05200')``; a text that is not VN-shaped stays one line. Eight
    characters are split as the square car plate (``30E 270.10``), though an older motorbike
    plate prints ``54-T1 5417``: the text alone cannot tell them apart (the plate text is the same).
    """
    for template, split in _VN_TEMPLATES:
        if len(template) == len(text) and all(
            (c.isdigit() if k == "D" else c.isalpha()) for c, k in zip(text, template, strict=True)
        ):
            return text[:split], text[split:]
    return (text,)


def align(a: str, b: str) -> list[tuple[int | None, int | None]]:
    """Edit-distance alignment of two strings: pairs of indices, ``None`` where one has no character."""
    n, m = len(a), len(b)
    cost = np.zeros((n + 1, m + 1), np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1, cost[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i, j] == cost[i - 1, j - 1] + (a[i - 1] != b[j - 1]):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i and cost[i, j] == cost[i - 1, j] + 1:
            pairs.append((i - 1, None))
            i -= 1
        else:
            pairs.append((None, j - 1))
            j -= 1
    return pairs[::-1]


def _pp_logp(char: str, p: float, w: FusionWeights) -> np.ndarray:
    """PP-OCR's log-probability of every ``0-9A-Z`` character at a position where it read ``char`` with ``p``."""
    p = min(max(p, w.pp_floor), 1 - w.pp_floor)
    out = np.full(len(ALNUM), math.log((1 - p) / w.pp_spread))
    if char in ALNUM:
        out[ALNUM.index(char)] = math.log(p)
    return out


_CLASS_MASK = {
    "D": np.array([c in DIGITS for c in ALNUM]),
    "L": np.array([c in _VN_LETTERS for c in ALNUM]),
}


def _decode(
    template: str, pairs: list[tuple[int | None, int | None]], backbone: int, pp: tuple[str, list[float]],
    slots: SlotRead, w: FusionWeights,
) -> tuple[float, str, list[float]] | None:
    """Best text for one layout along one alignment: (score, text, per-character posterior) or ``None``."""
    pp_text, pp_probs = pp
    score, chars, probs = 0.0, [], []
    pos = 0
    floor = math.log(w.floor)
    for i, j in pairs:
        own = (i, j)[backbone]
        if own is None:  # a character only the other reader saw: it costs that reader's doubt
            p = pp_probs[i] if i is not None else float(slots.probs[j])
            weight = w.pp if i is not None else 1.0
            score += weight * math.log(max(1 - min(p, 1 - w.pp_floor), w.floor))
            continue
        logp = np.zeros(len(ALNUM))
        logp += w.pp * (_pp_logp(pp_text[i], pp_probs[i], w) if i is not None else floor)
        if j is not None:
            logp += np.log(np.maximum(slots.dists[j], 1e-6))
        elif not slots.full:
            logp += floor
        seen = slots.dists[j] >= w.eligible if j is not None else np.zeros(len(ALNUM), bool)
        if i is not None and pp_text[i] in ALNUM:
            seen = seen | (np.arange(len(ALNUM)) == ALNUM.index(pp_text[i]))
        mask = _CLASS_MASK[template[pos]] & seen
        if not mask.any():
            return None
        masked = np.where(mask, logp, -np.inf)
        k = int(masked.argmax())
        post = np.exp(masked - masked[k])
        score += float(logp[k])
        chars.append(ALNUM[k])
        probs.append(float(1.0 / post.sum()))
        pos += 1
    text = "".join(chars)
    if len(text) != len(template) or text[0] == "0":  # no province code starts with 0
        return None
    return score, text, probs


def fuse_vn(
    pp_lines: Sequence[tuple[str, Sequence[float]]], slots: SlotRead, weights: FusionWeights | None = None,
) -> FusedRead | None:
    """Fuse PP-OCR's lines (text, per-character probabilities) with a slot read into one VN plate.

    ``None`` when PP-OCR read a non-Latin character (a Chinese plate: not for this model) or
    neither read's length fits a VN layout. Separators in PP-OCR's lines are dropped.
    """
    w = weights or FusionWeights()
    chars: list[str] = []
    probs: list[float] = []
    line_lengths: list[int] = []
    for text, line_probs in pp_lines:
        n = 0
        for c, p in zip(text, line_probs, strict=False):
            if c.isalnum() and not c.isascii():
                return None  # a Chinese province or suffix character
            if clean(c):
                chars.append(c.upper())
                probs.append(float(p))
                n += 1
        if n:
            line_lengths.append(n)
    pp_text = "".join(chars)
    pairs = align(pp_text, slots.text)
    best: tuple[float, str, list[float], int] | None = None
    for backbone, length in ((0, len(pp_text)), (1, len(slots.text))):
        for template, _ in _VN_TEMPLATES:
            if len(template) != length or not length:
                continue
            found = _decode(template, pairs, backbone, (pp_text, probs), slots, w)
            if found is not None and (best is None or found[0] > best[0]):
                best = (*found, backbone)
    if best is None:
        return None
    _, text, char_probs, backbone = best
    lines: tuple[str, ...] = (text,)
    if len(line_lengths) == 2:  # PP-OCR's line break, carried through the alignment
        split = _line_break(pairs, backbone, line_lengths[0])
        lines = (text[:split], text[split:]) if 0 < split < len(text) else vn_lines(text)
    return FusedRead(lines, tuple(char_probs), ("pp", "slots")[backbone])


def _line_break(pairs: list[tuple[int | None, int | None]], backbone: int, first_line: int) -> int:
    """How many characters of the fused text come before PP-OCR's line break (after its ``first_line`` characters)."""
    count = 0
    for pair in pairs:
        if pair[0] is not None and pair[0] >= first_line:
            break
        count += pair[backbone] is not None
    return count


# -- Chinese plates: RapidOCR + LPRNet ------------------------------------------------------------


def cn_colour_share(crop: np.ndarray) -> float:
    """Share of saturated blue or green pixels in a BGR crop (Chinese blue / new-energy plates)."""
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    bright = v >= 50
    blue = (h >= 95) & (h <= 130) & (s >= 80)
    green = (h >= 35) & (h <= 90) & (s >= 60)
    return float(((blue | green) & bright).mean())


def _split_cn(text: str, probs: np.ndarray) -> tuple[str, float, list[str], list[float]]:
    """(leading province, its probability, ASCII letters/digits, their probabilities) of a read."""
    province, p_province = "", 0.0
    chars: list[str] = []
    p_chars: list[float] = []
    for c, p in zip(text, probs, strict=False):
        if c in CN_PROVINCES and not province and not chars:
            province, p_province = c, float(p)
        elif c.isascii() and c.isalnum():
            chars.append(c)
            p_chars.append(float(p))
    return province, p_province, chars, p_chars


def fuse_cn(rapid: tuple[str, np.ndarray], lpr: tuple[str, np.ndarray]) -> tuple[str, np.ndarray] | None:
    """One Chinese plate from a RapidOCR and an LPRNet read of the same crop, or ``None``.

    Province: the more confident of the two readers' province characters (RapidOCR often
    drops it or reads it as a Latin letter; LPRNet almost always has one). Letters and
    digits: RapidOCR's when it read 6 of them (7 when it read no province: the first one is
    then the province read as a letter, and 7 new-energy characters when LPRNet also read
    7), else LPRNet's (LPRNet tends to insert a repeated character). The first of the fused
    text, LPRNet's and RapidOCR's own read that fits a CN format wins.
    """
    p1, q1, a1, s1 = _split_cn(*lpr)
    p2, q2, a2, s2 = _split_cn(*rapid)
    province, q_province = (p2, q2) if p2 and (not p1 or q2 > q1) else (p1, q1)
    if len(a2) == 7 and not p2 and len(a1) != 7:
        a2, s2 = a2[1:], s2[1:]
    chars, scores = (a2, s2) if len(a2) == 6 or (len(a2) == 7 and len(a1) != 6) else (a1, s1)
    candidates = [
        (province + "".join(chars), np.asarray([q_province, *scores], np.float32)),
        lpr,
        rapid,
    ]
    for text, probs in candidates:
        fitted = normalise([text], max_substitutions=2) if text else None
        if fitted is not None and fitted.country == "CN":
            return text, probs
    return None
