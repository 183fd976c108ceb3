"""Dev / held-out split of the shared plate crops, by plate text (every crop of one plate on one side).

``plate_split``: the benchmark's halves (``benchmarks/plates.py --split dev|test``); the held-out
``test`` half is never trained on nor used to choose anything. ``dev_check``: a quarter of the dev
half kept out of training the ``own`` recogniser, to validate it and choose fusion settings on
(``--split devcheck``). Vietnamese crops are keyed by ``text_alnum``, Chinese ones by ``plate_text``.

Example::

    >>> plate_split("51F12345"), dev_check("51F12345")
    ('dev', False)
"""

from __future__ import annotations

import hashlib


def plate_split(text: str) -> str:
    """``dev`` or ``test`` for a plate text: a stable hash (first byte of its SHA-1, even = dev)."""
    return "dev" if hashlib.sha1(text.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def dev_check(text: str) -> bool:
    """Whether a dev-half plate is in the quarter kept out of training (second SHA-1 byte divisible by 4)."""
    return hashlib.sha1(text.encode("utf-8")).digest()[1] % 4 == 0


def in_split(text: str, split: str) -> bool:
    """Whether a plate text is in ``split``: ``all``, ``dev``, ``test``, ``devtrain`` (dev minus dev-check)
    or ``devcheck``."""
    if split == "all":
        return True
    half = plate_split(text)
    if split in ("dev", "test"):
        return half == split
    if split == "devcheck":
        return half == "dev" and dev_check(text)
    if split == "devtrain":
        return half == "dev" and not dev_check(text)
    raise ValueError(f"unknown split {split!r}")
