"""Plate crops from a detected box: margin, tilt correction (deskew).

``plate_crop(image, xyxy, margin, deskew)`` is what the stage and ``benchmarks/plate_scenes.py``
read: the detector's box grown by ``margin`` of its size per side and, with ``deskew``, turned
level by the text's own skew (``skew_angle``: the angle whose rotation makes the horizontal ink
profile of the binarised plate the sharpest, i.e. the character rows line up).

Example::

    >>> crop = plate_crop(vehicle, box.xyxy, margin=0.04, deskew=True)
    >>> skew_angle(crop)          # degrees, counter-clockwise; 0.0 for a level plate
    0.0
"""

from __future__ import annotations

import cv2
import numpy as np

from gatewatch.vision.plates.detector import crop_box

MAX_SKEW_DEG = 20.0
SKEW_STEP_DEG = 1.0
MIN_SKEW_DEG = 3.0  # below this a plate is read as it is: the readers cope, and a rotation blurs
_PROFILE_HEIGHT = 64


def _rotate(image: np.ndarray, angle: float, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """``image`` rotated ``angle`` degrees counter-clockwise about its centre, same size."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)


def skew_angle(crop: np.ndarray, max_deg: float = MAX_SKEW_DEG, step_deg: float = SKEW_STEP_DEG) -> float:
    """Skew of the text in a plate crop ``(h, w, 3)`` BGR, in degrees; rotating by it levels the text.

    Projection profile: the crop is binarised (Otsu, characters as ink whichever way round the plate
    is painted), rotated by each angle in ``-max_deg..max_deg`` and scored by the variance of its row
    sums; level text rows give the sharpest profile. 0.0 for an empty or flat crop.
    """
    if crop.size == 0 or min(crop.shape[:2]) < 4:
        return 0.0
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    h, w = gray.shape
    scale = _PROFILE_HEIGHT / h
    gray = cv2.resize(gray, (max(8, round(w * scale)), _PROFILE_HEIGHT), interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if ink.mean() > 127:  # more "ink" than paper: dark characters on a light plate, take the dark side
        ink = 255 - ink
    if not ink.any():
        return 0.0
    angles = np.arange(-max_deg, max_deg + 1e-6, step_deg)
    scores = [
        float(_rotate(ink, float(a), cv2.BORDER_CONSTANT).sum(axis=1, dtype=np.float64).var()) for a in angles
    ]
    best = int(np.argmax(scores))
    if scores[best] <= scores[len(angles) // 2] * 1.0001:  # no angle beats level: keep it level
        return 0.0
    return float(angles[best])


def deskew(crop: np.ndarray, min_deg: float = MIN_SKEW_DEG) -> np.ndarray:
    """``crop`` rotated level when its text is skewed at least ``min_deg``; else ``crop`` itself."""
    angle = skew_angle(crop)
    if abs(angle) < min_deg:
        return crop
    return _rotate(crop, angle)


def upscale(crop: np.ndarray, min_height: int) -> np.ndarray:
    """``crop`` enlarged (bicubic, aspect kept) to ``min_height`` px high when it is lower; else itself."""
    h, w = crop.shape[:2]
    if min_height <= 0 or h == 0 or h >= min_height:
        return crop
    return cv2.resize(crop, (max(1, round(w * min_height / h)), min_height), interpolation=cv2.INTER_CUBIC)


def plate_crop(
    image: np.ndarray, xyxy: np.ndarray, margin: float, deskew_plate: bool, min_height: int = 0
) -> np.ndarray:
    """The plate in ``image`` at ``xyxy`` grown by ``margin`` per side, enlarged to ``min_height`` px high
    when lower (0: never), then deskewed when asked."""
    crop = upscale(crop_box(image, xyxy, margin), min_height)
    return deskew(crop) if deskew_plate and crop.size else crop


__all__ = ["MIN_SKEW_DEG", "deskew", "plate_crop", "skew_angle", "upscale"]
