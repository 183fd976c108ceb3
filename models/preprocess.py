"""Image preprocessing shared by the detectors at the gate and the model builds that calibrate them."""

from __future__ import annotations

import cv2
import numpy as np


def letterbox(
    frame: np.ndarray, size: tuple[int, int], color: int = 114
) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Resize keeping aspect ratio, pad to ``size`` (h, w), return an NCHW float32 RGB batch.

    Returns ``(batch (1, 3, h, w), scale, (pad_x, pad_y))`` so boxes map back with
    ``(xy - pad) / scale``.
    """
    h, w = frame.shape[:2]
    out_h, out_w = size
    scale = min(out_h / h, out_w / w)
    new_w, new_h = round(w * scale), round(h * scale)
    pad_x, pad_y = (out_w - new_w) / 2, (out_h - new_h) / 2
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR) if (new_w, new_h) != (w, h) else frame
    top, left = round(pad_y - 0.1), round(pad_x - 0.1)
    padded = cv2.copyMakeBorder(
        resized, top, out_h - new_h - top, left, out_w - new_w - left, cv2.BORDER_CONSTANT, value=(color,) * 3
    )
    batch = cv2.dnn.blobFromImage(padded, scalefactor=1 / 255.0, swapRB=True)
    return batch, scale, (float(left), float(top))
