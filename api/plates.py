"""Plate text: normalisation (no separators, upper case) and fuzzy matching.

Readers confuse look-alike characters (O/0, I/1, B/8 ...) and drop or misread one
character. ``plate_key`` folds look-alikes onto one symbol; ``fuzzy_match`` then allows one
edit (substitution, insertion, deletion) between keys.

Example::

    >>> normalise("29C-123.45")
    '29C12345'
    >>> fuzzy_match("29C12345", "29CI2345"), fuzzy_match("29C12345", "29C1234")
    (True, True)
"""

from __future__ import annotations

CONFUSIONS = str.maketrans({"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "B": "8", "S": "5", "Z": "2", "G": "6"})


def normalise(text: str) -> str:
    """Upper case, letters and digits only ('29C-123.45' -> '29C12345'); keeps CJK letters."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def plate_key(text: str) -> str:
    """Normalised text with look-alike characters folded (O->0, I->1, B->8, S->5, Z->2, G->6, D/Q->0, L->1)."""
    return normalise(text).translate(CONFUSIONS)


def within_one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one substitution, insertion or deletion."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1:] == b[i + 1:]
    return a[i:] == b[i + 1:]


def fuzzy_match(query: str, plate: str) -> bool:
    """True when two plates are the same up to look-alikes and one wrong or missing character."""
    return within_one_edit(plate_key(query), plate_key(plate))
