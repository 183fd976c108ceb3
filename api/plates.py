"""Fuzzy plate search: which stored plate keys an operator's query may mean.

Plates are stored as the contract's key (``gatewatch.contract.plate_key``), the same key the edge
matches its hold list on; the key itself never folds anything. Readers confuse look-alike
characters (O/0, I/1, B/8 ...; never L/1, L is a Vietnamese series letter) and drop or misread one
character, so fuzzy search folds look-alikes at query time (``fold_lookalikes``) on both the query
and each candidate, then allows one edit (substitution, insertion, deletion) between them.

Example::

    >>> fuzzy_match("29C12345", "29CI2345"), fuzzy_match("29C12345", "29C1234")
    (True, True)
    >>> fuzzy_match("77L12345", "7711234")   # L is a letter: two edits
    False
"""

from __future__ import annotations

from itertools import product
from math import prod

from gatewatch.contract import fold_lookalikes, lookalike_class, plate_key


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
    return within_one_edit(fold_lookalikes(plate_key(query)), fold_lookalikes(plate_key(plate)))


def like_pattern(key: str) -> str:
    """A SQL ``LIKE`` pattern (without ``%``) that every text folding like ``key`` matches: each look-alike
    character becomes ``_``. Cheap to test on every row; ``lookalike_pattern`` then keeps the exact ones."""
    return "".join("_" if len(lookalike_class(ch)) > 1 else ch for ch in key)


def lookalike_variants(key: str, limit: int) -> list[str] | None:
    """Every text that folds like ``key`` (``'2O'`` -> ``['20', '2D', '2O', '2Q', 'Z0', ...]``), or ``None``
    when there would be more than ``limit``."""
    classes = [lookalike_class(ch) for ch in key]
    if prod(len(c) for c in classes) > limit:
        return None
    return ["".join(chars) for chars in product(*classes)]


def lookalike_pattern(key: str) -> str:
    """A pattern matching exactly the texts that fold like ``key``: each look-alike character becomes its
    class (``'29C1'`` -> ``'[2Z]9C[1I]'``). The same text is a SQLite ``GLOB`` pattern and a PostgreSQL
    regular expression (keys are letters and digits only, so nothing needs escaping)."""
    return "".join(f"[{cls}]" if len(cls := lookalike_class(ch)) > 1 else ch for ch in key)
