"""gatewatch's own plate recogniser (``own``): a small CTC line reader trained here, torch-free at run time.

The network (trained by :mod:`gatewatch.vision.plates.train` on synthetic Vietnamese and Chinese
plates plus the dev half of the shared Vietnamese crops) reads one text line: a grey line image
stretched to 128x32, ``(pixel / 255 - 0.5) / 0.5``, in; CTC logits ``(n, 32, len(OWN_CHARSET) + 1)``
out (class 0 = blank). Two-line plates are split into lines first, exactly as the PP-OCR path
does (:func:`~gatewatch.vision.plates.lines.split_lines` after a 4 % frame inset), so the
model only ever sees one line; the training pipeline cuts its synthetic plates with the same
functions. The weights live beside this module (``weights/gatewatch_plate_crnn.onnx``, with its
``MODEL_CARD.md``).

Example::

    >>> reader = OwnReader(OwnReaderConfig())
    >>> reader.read(crop)                         # crop: BGR uint8 (H, W, 3)
    PlateReading(lines=('59L2', '14999'), confidence=0.98, line_confidences=(0.97, 0.99))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from gatewatch.errors import ModelError
from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates.config import OWN_FRAME_INSET, OwnReaderConfig
from gatewatch.vision.plates.formats import CN_PROVINCES, CN_SUFFIXES, DIGITS, LETTERS
from gatewatch.vision.plates.lines import inset, split_lines
from gatewatch.vision.plates.readers import READERS, PlateReading, _reading, _usable

OWN_CHARSET = DIGITS + LETTERS + CN_PROVINCES + CN_SUFFIXES  # class i + 1; class 0 is the CTC blank
OWN_INPUT = (128, 32)  # width, height of one line
OWN_STEPS = OWN_INPUT[0] // 4  # CTC time steps
OWN_ONNX = Path(__file__).resolve().parent / "weights" / "gatewatch_plate_crnn.onnx"


def preprocess_lines(lines: Sequence[np.ndarray]) -> np.ndarray:
    """Line crops (BGR ``(h, w, 3)`` or grey ``(h, w)``) -> float32 ``(n, 1, 32, 128)`` in [-1, 1]."""
    batch = np.empty((len(lines), 1, OWN_INPUT[1], OWN_INPUT[0]), np.float32)
    for i, line in enumerate(lines):
        grey = cv2.cvtColor(line, cv2.COLOR_BGR2GRAY) if line.ndim == 3 else line
        batch[i, 0] = cv2.resize(grey, OWN_INPUT, interpolation=cv2.INTER_AREA if grey.shape[1] > OWN_INPUT[0]
                                 else cv2.INTER_LINEAR)
    return batch / 127.5 - 1.0


def plate_lines(crop: np.ndarray, frame_inset: float = OWN_FRAME_INSET, two_line_max_aspect: float = 2.2) -> list[np.ndarray]:
    """The line crops the model reads for a plate crop: frame inset, then the line split."""
    return split_lines(inset(crop, frame_inset), two_line_max_aspect)


def ctc_greedy(logits: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Greedy CTC decode of ``(n, T, C)`` logits: text and one probability per character for each row."""
    shifted = logits - logits.max(axis=2, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=2, keepdims=True)
    best = probs.argmax(axis=2)
    out: list[tuple[str, np.ndarray]] = []
    for row, p in zip(best, probs, strict=True):
        chars: list[str] = []
        confs: list[float] = []
        prev = 0
        for t, cls in enumerate(row):
            if cls != 0 and cls != prev:
                chars.append(OWN_CHARSET[cls - 1])
                confs.append(float(p[t, cls]))
            elif cls != 0 and cls == prev:
                confs[-1] = max(confs[-1], float(p[t, cls]))
            prev = int(cls)
        out.append(("".join(chars), np.array(confs, np.float32)))
    return out


class OwnRecognizer:
    """The exported line model on an ``OnnxModel``: ``(n, 1, 32, 128)`` float in, ``(n, 32, C)`` logits out."""

    def __init__(self, model: OnnxModel) -> None:
        shape = model.input_shape
        if len(shape) != 4 or list(shape[1:]) != [1, OWN_INPUT[1], OWN_INPUT[0]]:
            raise ModelError(f"{model.path}: input {shape} is not a gatewatch line model (n, 1, 32, 128)")
        self.model = model

    def recognise(self, lines: Sequence[np.ndarray]) -> list[tuple[str, np.ndarray]]:
        """Text and per-character probabilities of each line crop (one batch)."""
        if not lines:
            return []
        logits = self.model.session.run(None, {self.model.input_name: preprocess_lines(lines)})[0]
        return ctc_greedy(logits)


class OwnReader:
    """Plate reader on gatewatch's own line model: inset, split lines, recognise all lines in one batch."""

    def __init__(self, config: OwnReaderConfig | None = None) -> None:
        self.config = config or OwnReaderConfig()
        path = self.config.model_path or OWN_ONNX
        self.recognizer = OwnRecognizer(OnnxModel(path, providers=self.config.providers, threads=self.config.threads,
                                                  warmup=False))

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        if not _usable(crop):
            return None
        lines = plate_lines(crop, self.config.frame_inset, self.config.two_line_max_aspect)
        return _reading(self.recognizer.recognise(lines), self.config.min_confidence)


READERS["own"] = OwnReader
