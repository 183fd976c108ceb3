"""Plate formats of Vietnam and China: pick the country, fix confusable characters, reject the rest.

A reading is reduced to its plate key (``gatewatch.contract.plate_key``: letters, digits and CJK
characters, upper case), then matched against templates per country. Each template position has
a class (digit, letter, either, province), and a character in the wrong class is mapped through a confusion table (``O->0``, ``I->1``,
``B->8``, ``D->0``, ``S->5``, ``Z->2``, ``G->6`` and back). The template needing the fewest
substitutions wins; a reading that fits no template is rejected (``None``).

Example::

    >>> normalise(["59-L2", "149.99"])
    PlateText(text='59L214999', country='VN', display='59-L2 149.99', substitutions=0)
    >>> normalise(["皖A·OK782"]).text
    '皖A0K782'
    >>> normalise(["HELLO"]) is None
    True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gatewatch.contract import plate_key

Country = Literal["VN", "CN"]

CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
CN_SUFFIXES = "挂学警港澳领使"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
# Every character a plate reader needs to emit (separators included).
PLATE_CHARSET = DIGITS + LETTERS + "-.·" + CN_PROVINCES + CN_SUFFIXES

TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "I": "1", "Z": "2", "B": "8", "S": "5", "G": "6"}
TO_LETTER = {"0": "D", "8": "B", "5": "S", "2": "Z", "6": "G", "1": "T"}  # VN/CN series use no I
# How likely a reader prints the first character for the second one printed on the plate, for the swaps
# that fit a format (a digit read in a letter's place and back): 1.0 = the usual look-alike. Without the
# reader's probabilities the most likely swap wins (the table's order keeps TO_LETTER / TO_DIGIT); with
# them (PlateReading.alternatives) each candidate is scored likelihood x (reader probability + ALT_FLOOR),
# so a series `L` read as `1` becomes `L` when the reader gave `L` more weight than `T`.
CONFUSION: dict[str, dict[str, float]] = {
    "1": {"T": 1.0, "L": 0.9, "I": 0.9, "J": 0.3},
    "0": {"D": 1.0, "Q": 0.6, "O": 0.6, "U": 0.2},
    "8": {"B": 1.0, "R": 0.2},
    "5": {"S": 1.0},
    "2": {"Z": 1.0},
    "6": {"G": 1.0},
    "O": {"0": 1.0}, "Q": {"0": 1.0}, "D": {"0": 1.0},
    "I": {"1": 1.0}, "L": {"1": 0.5}, "T": {"1": 0.5},
    "Z": {"2": 1.0}, "B": {"8": 1.0}, "S": {"5": 1.0}, "G": {"6": 1.0},
}
ALT_FLOOR = 0.01
# Chinese plates use neither I nor O.
CN_NO_IO = {"O": "0", "I": "1"}

_VN_LETTERS = set(LETTERS) - {"I", "J", "O", "Q", "W"}  # VN series letters (R: trailers, 51R-...)
_CN_LETTERS = set(LETTERS) - {"I", "O"}


@dataclass(frozen=True)
class PlateText:
    """A reading that fits a plate format.

    Attributes:
        text: normalised plate, letters/digits/CJK only, e.g. ``'51F12345'``, ``'桂A12345'``.
        country: ``'VN'`` or ``'CN'``.
        display: the plate as printed, e.g. ``'51F-123.45'``, ``'59-L2 149.99'``, ``'桂A·12345'``.
        substitutions: confusable characters that were swapped to fit the format.
    """

    text: str
    country: Country
    display: str
    substitutions: int


# Template classes: D digit, L letter, X letter-or-digit, P province, S CJK suffix.
_VN_TEMPLATES: tuple[tuple[str, int], ...] = (
    # (template, line break position in alnum text for two-line plates)
    ("DDLDDDDD", 3),    # 51F12345 car (5-digit), 2-line: 51F / 12345
    ("DDLDDDD", 3),     # 51F1234 older car
    ("DDLLDDDDD", 4),   # 51LD12345 series of two letters
    ("DDLLDDDD", 4),    # 51LD1234
    ("DDLDDDDDD", 4),   # 59L214999 motorbike: 59-L2 149.99
    ("DDLLDDDDDD", 5),  # 29MD105200 electric motorbike "MĐ1": 29-MĐ1 052.00 (Đ read as D)
    ("DDLLDDDDD", 5),   # 29MD12345 older electric motorbike tail
)
_CN_TEMPLATES: tuple[str, ...] = (
    "PLXXXXX",    # 桂A12345 blue / yellow
    "PLXXXXXX",   # 桂AD12345 new-energy (8 characters)
    "PLXXXXS",    # 桂A1234挂 trailer, 学, 警 ...
)


def clean(text: str) -> str:
    """The plate key of ``text`` (``gatewatch.contract.plate_key``): letters, digits and CJK characters,
    upper case, separators dropped; the same key the hold list and the API match on."""
    return plate_key(text)


Alternatives = Sequence[Sequence[tuple[str, float]]]


def _swap(c: str, allowed: set[str] | str, alts: Sequence[tuple[str, float]]) -> str | None:
    """The most likely character of the ``allowed`` class for a read ``c`` (see ``CONFUSION``), or ``None``."""
    reader = dict(alts)
    scored = [(like * (reader.get(t, 0.0) + ALT_FLOOR), -i, t)
              for i, (t, like) in enumerate(CONFUSION.get(c, {}).items()) if t in allowed]
    return max(scored)[2] if scored else None


def _fit(chars: str, template: str, country: Country, alts: Alternatives | None = None) -> tuple[str, int] | None:
    """Map ``chars`` onto ``template``; returns (fixed text, substitutions) or ``None``.

    ``alts``: per character of ``chars``, the reader's probabilities of other characters there (may be empty).
    """
    if len(chars) != len(template):
        return None
    out: list[str] = []
    subs = 0
    letters = _VN_LETTERS if country == "VN" else _CN_LETTERS
    for pos, (c, kind) in enumerate(zip(chars, template, strict=True)):
        here = alts[pos] if alts is not None and pos < len(alts) else ()
        if kind == "P":
            if c not in CN_PROVINCES:
                return None
        elif kind == "S":
            if c not in CN_SUFFIXES:
                return None
        elif kind == "D":
            if not c.isascii() or not c.isalnum():
                return None
            if not c.isdigit():
                swapped = _swap(c, DIGITS, here)
                if swapped is None:
                    return None
                c, subs = swapped, subs + 1
        elif kind == "L":
            if not c.isascii() or not c.isalnum():
                return None
            if c.isdigit():
                swapped = _swap(c, letters, here)
                if swapped is None:
                    return None
                c, subs = swapped, subs + 1
            if c not in letters:
                return None
        elif kind == "X":
            if not c.isascii() or not c.isalnum():
                return None
            if country == "CN" and c in CN_NO_IO:
                c, subs = CN_NO_IO[c], subs + 1
        if country == "VN" and pos < 2 and kind == "D" and out == [] and c == "0":
            return None  # no province code starts with 0
        out.append(c)
    return "".join(out), subs


def _vn_display(text: str, split: int, two_lines: bool) -> str:
    """``51F-123.45`` for one line, ``59-L2 149.99`` for two (``split``: length of line one)."""
    head, tail = text[:split], text[split:]
    series = (f"{head[:2]}-{head[2:]}" if len(head) > 3 else head) if two_lines else f"{head}-"
    tail_fmt = f"{tail[:3]}.{tail[3:]}" if len(tail) == 5 else tail
    return f"{series} {tail_fmt}" if two_lines else f"{series}{tail_fmt}"


def _clean_alternatives(lines: Sequence[str], alternatives: Alternatives) -> list[Sequence[tuple[str, float]]] | None:
    """``alternatives`` (one per character of the joined lines) kept for the characters the plate key keeps."""
    joined = "".join(lines)
    if len(alternatives) != len(joined):
        return None
    out: list[Sequence[tuple[str, float]]] = []
    for ch, alt in zip(joined, alternatives, strict=True):
        out += [alt] * len(clean(ch))
    return out


def normalise(lines: Sequence[str], max_substitutions: int = 2, alternatives: Alternatives | None = None) -> PlateText | None:
    """Fit reader output lines (top to bottom) to a VN or CN plate format.

    ``lines`` are joined after cleaning, so one- and two-line plates go through the same
    templates. Returns ``None`` when nothing fits within ``max_substitutions`` swaps.
    ``alternatives``: per character of the joined lines, the reader's probabilities of other
    characters there (``PlateReading.alternatives``); they decide which look-alike a swap picks.
    """
    chars = "".join(clean(line) for line in lines)
    if not chars:
        return None
    alts = _clean_alternatives(lines, alternatives) if alternatives else None
    if alts is not None and len(alts) != len(chars):
        alts = None
    parts = [clean(line) for line in lines if clean(line)]
    two_lines = len(parts) > 1
    best: PlateText | None = None
    has_cjk = any(not c.isascii() for c in chars)
    if has_cjk:
        for template in _CN_TEMPLATES:
            fit = _fit(chars, template, "CN", alts)
            if fit and (best is None or fit[1] < best.substitutions):
                text = fit[0]
                best = PlateText(text, "CN", f"{text[:2]}·{text[2:]}", fit[1])
    else:
        for template, split in _VN_TEMPLATES:
            fit = _fit(chars, template, "VN", alts)
            if fit and (best is None or fit[1] < best.substitutions):
                split = len(parts[0]) if two_lines and 2 < len(parts[0]) < len(fit[0]) else split
                best = PlateText(fit[0], "VN", _vn_display(fit[0], split, two_lines), fit[1])
    if best is None or best.substitutions > max_substitutions:
        return None
    return best


_VN_RE = re.compile(r"^(1[1-9]|[2-9]\d)[A-Z]([A-Z]|\d)?\d{4,5}$|^(1[1-9]|[2-9]\d)[A-Z]{2}\d{5,6}$")
_CN_RE = re.compile(rf"^[{CN_PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{4,6}}[{CN_SUFFIXES}]?$")


def is_valid(text: str, country: Country) -> bool:
    """Whether a normalised plate text fits its country's regular expression."""
    pattern = _VN_RE if country == "VN" else _CN_RE
    return bool(pattern.match(text))
