"""Split a plate crop into its text lines (one-line plates pass through).

Two-line plates (Vietnamese motorbike and square plates, Chinese yellow truck plates) are
near-square; the line gap is the row band with the least "ink" in the middle of the crop,
found by a horizontal projection of an Otsu-binarised grey image.

Example::

    >>> lines = split_lines(crop)        # crop: BGR uint8 (H, W, 3)
    >>> [line.shape[:2] for line in lines]
    [(33, 140), (35, 140)]
"""

from __future__ import annotations

import cv2
import numpy as np

_PROFILE_HEIGHT = 64


def is_two_line(crop: np.ndarray, max_aspect: float = 2.2) -> bool:
    """Whether a plate crop ``(H, W, 3)`` is shaped like a two-line plate (``W / H <= max_aspect``)."""
    h, w = crop.shape[:2]
    return h > 0 and w / h <= max_aspect


def line_gap(crop: np.ndarray, band: tuple[float, float] = (0.3, 0.7)) -> int:
    """Row index of the gap between the two lines of a plate crop ``(H, W, 3)``.

    Rows between ``band[0] * H`` and ``band[1] * H`` are searched; the plate border columns
    (10% either side) are ignored.
    """
    full_h = crop.shape[0]
    if full_h > 2 * _PROFILE_HEIGHT:  # the gap is found as well on a small copy, several times faster
        step = full_h // _PROFILE_HEIGHT
        return min(full_h - 1, line_gap(crop[::step, ::step], band) * step + step // 2)
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    h, w = gray.shape
    binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1] > 0
    ink = ~binary if binary.mean() > 0.5 else binary  # characters are the minority colour
    profile = ink[:, int(0.1 * w) : max(int(0.9 * w), int(0.1 * w) + 1)].mean(axis=1)
    k = max(1, h // 20)
    smooth = np.convolve(profile, np.ones(k) / k, mode="same")
    lo, hi = int(band[0] * h), max(int(band[1] * h), int(band[0] * h) + 1)
    return lo + int(np.argmin(smooth[lo:hi]))


def inset(crop: np.ndarray, fraction: float) -> np.ndarray:
    """``crop`` with ``fraction`` of its width and height cut off each side (0: unchanged).

    Plate crops hold the plate's frame and its screws at the edges, which a recogniser reads as
    a leading ``1`` or a trailing ``7`` / ``3``; a small inset drops them.
    """
    h, w = crop.shape[:2]
    dx, dy = int(w * fraction), int(h * fraction)
    if fraction <= 0 or w - 2 * dx < 8 or h - 2 * dy < 8:
        return crop
    return crop[dy : h - dy, dx : w - dx]


def split_lines(crop: np.ndarray, max_aspect: float = 2.2) -> list[np.ndarray]:
    """Line crops of a plate, top to bottom: one for wide plates, two for near-square ones."""
    if crop.size == 0 or not is_two_line(crop, max_aspect) or crop.shape[0] < 8:
        return [crop]
    h = crop.shape[0]
    y = line_gap(crop)
    pad = max(1, h // 25)
    return [crop[: min(h, y + pad)], crop[max(0, y - pad) :]]
