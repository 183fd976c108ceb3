"""Synthetic plate text lines for INT8 calibration of the recogniser.

Static INT8 needs sample inputs to fix each activation's range. Real plate crops are not
on an edge box (and the labelled sets are what the benchmark scores), so the calibration
lines are drawn here: Vietnamese-style series and numbers (``51F-123.45``, ``59-L2``,
``149.99``) in OpenCV's Hershey fonts on white, yellow, blue and green plates, with border,
blur, noise and exposure changes. Only activation ranges are taken from them, no labels;
the result is deterministic for a seed.

Example::

    >>> lines = synthetic_plate_lines(4)
    >>> [line.dtype for line in lines]
    [dtype('uint8'), dtype('uint8'), dtype('uint8'), dtype('uint8')]
"""

from __future__ import annotations

import cv2
import numpy as np

_SERIES = "ABCDEFGHKLMNPSTUVXYZ"
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_PLAIN)
# BGR plate colours: white, yellow (commercial), blue (CN / VN state), light grey, green (new-energy).
_BACKGROUNDS = ((235, 235, 235), (40, 200, 230), (160, 80, 20), (210, 210, 210), (60, 160, 60))


def _text(rng: np.random.Generator) -> str:
    def digits(n: int) -> str:
        return "".join(str(d) for d in rng.integers(0, 10, n))

    def letter() -> str:
        return _SERIES[int(rng.integers(len(_SERIES)))]

    kind = int(rng.integers(4))
    if kind == 0:
        return f"{digits(2)}{letter()}-{digits(3)}.{digits(2)}"  # one-line car
    if kind == 1:
        return f"{digits(2)}-{letter()}{digits(1)}"  # top line of a two-line plate
    if kind == 2:
        return f"{digits(3)}.{digits(2)}"  # bottom line
    return f"{letter()}{digits(5)}"  # CN tail after the province


def synthetic_plate_lines(count: int = 200, seed: int = 0) -> list[np.ndarray]:
    """``count`` BGR uint8 images of one plate text line each, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(count):
        text = _text(rng)
        font = _FONTS[int(rng.integers(len(_FONTS)))]
        thickness = int(rng.integers(2, 5))
        (tw, th), base = cv2.getTextSize(text, font, 1.6, thickness)
        pad = int(rng.integers(4, 14))
        background = np.asarray(_BACKGROUNDS[int(rng.integers(len(_BACKGROUNDS)))], np.float32) + rng.normal(0, 12, 3)
        image = np.empty((th + base + 2 * pad, tw + 2 * pad, 3), np.uint8)
        image[:] = np.clip(background, 0, 255)
        ink = (255, 255, 255) if background.mean() < 110 else (20, 20, 20)
        cv2.putText(image, text, (pad, pad + th), font, 1.6, ink, thickness, cv2.LINE_AA)
        if rng.random() < 0.7:
            cv2.rectangle(image, (1, 1), (image.shape[1] - 2, image.shape[0] - 2), ink, int(rng.integers(1, 3)))
        out = cv2.GaussianBlur(image.astype(np.float32), (0, 0), float(rng.uniform(0.3, 1.5)))
        out += rng.normal(0, rng.uniform(2, 10), image.shape).astype(np.float32)  # the blur keeps the shape
        out = out * rng.uniform(0.5, 1.2) + rng.uniform(-30, 30)
        lines.append(np.clip(out, 0, 255).astype(np.uint8))
    return lines
