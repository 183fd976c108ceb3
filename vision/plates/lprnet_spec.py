"""What LPRNet is at the gate, shared by its runtime (:mod:`.lprnet`) and its export (:mod:`.lprnet_export`).

sirius-ai/LPRNet_Pytorch (Apache-2.0): blue and green single-line Chinese plates, a 94x24 BGR
input normalised as in training, 68 classes (31 provinces, 10 digits, 24 letters, ``I``, ``O``
and the CTC blank ``-`` last); the checkpoint and the exported ONNX file names.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gatewatch.assets import model_dirs

# sirius-ai/LPRNet_Pytorch data/load_data.py CHARS, in class order; the last one is the blank.
LPRNET_CHARS = (
    "京沪津渝冀晋蒙辽吉黑苏浙皖闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新"
    "0123456789"
    "ABCDEFGHJKLMNPQRSTUVWXYZIO"
    "-"
)
LPRNET_CLASSES = len(LPRNET_CHARS)  # 68
LPRNET_BLANK = LPRNET_CLASSES - 1
LPRNET_SIZE = (94, 24)  # width, height
LPRNET_ONNX = "lprnet_cn.onnx"
LPRNET_CHECKPOINT = Path("cn_plate_ocr_lprnet") / "Final_LPRNet_model.pth"


def lprnet_checkpoint() -> Path | None:
    """``Final_LPRNet_model.pth`` in the model folders (``<assets>/weights/cn_plate_ocr_lprnet``), if present."""
    for folder in model_dirs():
        if (folder / LPRNET_CHECKPOINT).is_file():
            return folder / LPRNET_CHECKPOINT
    return None


def preprocess(crop: np.ndarray) -> np.ndarray:
    """BGR crop ``(h, w, 3)`` -> ``(1, 3, 24, 94)`` float32, ``(x - 127.5) / 128`` as in training."""
    if crop.shape[1] != LPRNET_SIZE[0] or crop.shape[0] != LPRNET_SIZE[1]:
        crop = cv2.resize(crop, LPRNET_SIZE, interpolation=cv2.INTER_LINEAR)
    image = (crop.astype(np.float32) - 127.5) * 0.0078125
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None])
