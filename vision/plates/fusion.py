"""Fusing two reads of a Chinese plate: RapidOCR's and LPRNet's of the same crop (``auto`` reader)."""

from __future__ import annotations

import cv2
import numpy as np

from .formats import CN_PROVINCES, normalise


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
