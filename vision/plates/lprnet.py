"""LPRNet Chinese plate recogniser on ONNX Runtime (torch-free at run time).

The weights are sirius-ai/LPRNet_Pytorch's ``Final_LPRNet_model.pth`` (Apache-2.0; blue and
green single-line Chinese plates, 94x24 input, 68 classes: 31 provinces, 10 digits, 24
letters, ``I``, ``O`` and the CTC blank ``-`` last). They are exported once to
``cache_dir()/lprnet_cn.onnx`` by :func:`lprnet_model_path` with ``export_if_missing=True``
(needs torch; :mod:`.lprnet_export` holds the network and the gated export); afterwards only the
ONNX file is used. The classes, input and file names are in :mod:`.lprnet_spec`.

Example::

    >>> rec = LprnetRecognizer(OnnxModel(lprnet_model_path(export_if_missing=True), providers="cpu"))
    >>> rec.recognise(crop)                     # crop: BGR uint8 (h, w, 3), one plate line
    ('皖A0K782', array([0.99, 0.98, ...], dtype=float32))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gatewatch.assets import cache_dir, model_dirs
from gatewatch.errors import ModelError
from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates.lprnet_spec import (
    LPRNET_BLANK,
    LPRNET_CHARS,
    LPRNET_CHECKPOINT,
    LPRNET_CLASSES,
    LPRNET_ONNX,
    LPRNET_SIZE,
    lprnet_checkpoint,
    preprocess,
)

__all__ = [
    "LPRNET_BLANK", "LPRNET_CHARS", "LPRNET_CHECKPOINT", "LPRNET_CLASSES", "LPRNET_ONNX", "LPRNET_SIZE",
    "LprnetRecognizer", "ctc_decode", "lprnet_checkpoint", "lprnet_model_path", "preprocess",
]


def lprnet_model_path(export_if_missing: bool = False) -> Path:
    """Path of ``lprnet_cn.onnx`` (model folders, then the cache); export it when asked.

    Raises ``ModelError`` when it is missing and not exported, or when exporting needs torch
    and torch is not installed.
    """
    for folder in model_dirs():
        if (folder / LPRNET_ONNX).is_file():
            return folder / LPRNET_ONNX
    target = cache_dir() / LPRNET_ONNX
    checkpoint = lprnet_checkpoint()
    if not export_if_missing:
        raise ModelError(
            f"{LPRNET_ONNX} not found in {[str(d) for d in model_dirs()]}; export it once with "
            "python -c 'from gatewatch.vision.plates.lprnet import lprnet_model_path; "
            "lprnet_model_path(export_if_missing=True)' (needs torch), or set the reader's export_if_missing"
        )
    if checkpoint is None:
        raise ModelError(f"cannot export {LPRNET_ONNX}: {LPRNET_CHECKPOINT} not found in the model folders")
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise ModelError(f"exporting {LPRNET_ONNX} needs torch (pip install 'gatewatch[export]'), "
                         f"or copy an exported {LPRNET_ONNX} to {target}") from exc
    from gatewatch.vision.plates.lprnet_export import export_lprnet

    return export_lprnet(target, checkpoint).path


def ctc_decode(logits: np.ndarray) -> tuple[str, np.ndarray]:
    """Greedy CTC over ``(68, T)`` logits: drop repeats and blanks; text and per-character probabilities."""
    z = logits - logits.max(axis=0, keepdims=True)
    probs = np.exp(z)
    probs /= probs.sum(axis=0, keepdims=True)
    best = probs.argmax(axis=0)
    score = probs.max(axis=0)
    keep = best != LPRNET_BLANK
    keep[1:] &= best[1:] != best[:-1]
    return "".join(LPRNET_CHARS[i] for i in best[keep]), score[keep].astype(np.float32)


class LprnetRecognizer:
    """LPRNet on an ``OnnxModel`` (static input ``(1, 3, 24, 94)``, no Ultralytics metadata)."""

    def __init__(self, model: OnnxModel) -> None:
        shape = model.input_shape
        if tuple(model.imgsz) != (LPRNET_SIZE[1], LPRNET_SIZE[0]) or (len(shape) == 4 and shape[1] != 3):
            raise ModelError(f"{model.path}: input {shape} is not an LPRNet (1, 3, 24, 94) input")
        self.model = model

    def logits(self, crop: np.ndarray) -> np.ndarray:
        """Raw logits ``(68, 18)`` of one BGR crop."""
        out = self.model.run(preprocess(crop))[0]
        if out.ndim != 3 or out.shape[1] != LPRNET_CLASSES:
            raise ModelError(f"{self.model.path}: output {out.shape} is not (1, {LPRNET_CLASSES}, T)")
        return out[0]

    def recognise(self, crop: np.ndarray) -> tuple[str, np.ndarray]:
        """Text and per-character probabilities of one single-line plate crop."""
        return ctc_decode(self.logits(crop))
