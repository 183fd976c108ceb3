"""The plate key: the one form of a plate's text that the edge and the API match and search on.

``plate_key`` is the same on both sides of the wire: the hold list the edge matches against,
the plate the API stores on a crossing or a flag, the hold an operator adds and the plate an
operator searches for all go through it. It never folds look-alike characters: ``L`` is a real
Vietnamese series letter (``77L1-234.56``, ``59L2-149.99``) and ``O`` a real letter elsewhere, so
folding belongs to fuzzy matching (``fold_lookalikes``, applied at match time), never to the key.

Example::

    >>> plate_key("51f-123.45"), plate_key("29A 12345"), plate_key("桂A·12345"), plate_key("77L1-234.56")
    ('51F12345', '29A12345', '桂A12345', '77L123456')
    >>> fold_lookalikes("51F1234S")
    '51F12345'
"""

from __future__ import annotations

import unicodedata

# Characters plate readers mix up, mapped to one representative each (the same pairs the plate
# formats fix by position: O/Q/D and 0, I and 1, Z and 2, S and 5, G and 6, B and 8). L is not
# among them: it is a series letter on Vietnamese plates.
LOOKALIKES: dict[str, str] = {"O": "0", "D": "0", "Q": "0", "I": "1", "B": "8", "S": "5", "Z": "2", "G": "6"}
_FOLD = str.maketrans(LOOKALIKES)


def plate_key(text: str) -> str:
    """The plate's key: compatibility forms unified (NFKC: full-width '５' is '5'), upper case,
    letters and digits only (CJK province characters are letters); ``'51F-123.45'`` -> ``'51F12345'``."""
    text = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in text if ch.isalnum())


def fold_lookalikes(key: str) -> str:
    """``key`` with each look-alike character replaced by its representative, for fuzzy comparison only."""
    return key.translate(_FOLD)


def lookalike_class(ch: str) -> str:
    """Every character that folds to the same representative as ``ch`` (``ch`` alone when it has none)."""
    rep = LOOKALIKES.get(ch, ch)
    return "".join(sorted({rep, ch, *(k for k, v in LOOKALIKES.items() if v == rep)}))
