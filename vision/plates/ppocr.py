"""PP-OCR text-line recogniser (CTC) on an ``OnnxModel``, restricted to the plate character set.

The model is PP-OCRv6 small inside the ``rapidocr`` wheel (reads Latin and Chinese). Two copies
are derived from it once, into the cache, through the gated builders of ``gatewatch.models``:
the output layer cut to the plate characters (:class:`~gatewatch.models.prune.OutputPruneBuild`;
faster, and no character a plate cannot hold is ever emitted) and a static INT8 copy calibrated
on synthetic plate lines (:class:`~gatewatch.models.quantize.RecognizerInt8Build`). Either copy
falls back to the model it was derived from, with a warning, when it cannot be built here or is
over its tolerance.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from gatewatch.errors import ModelError
from gatewatch.models.build import BuildUnavailable
from gatewatch.models.cache import cached_build, derived_path, toolchain
from gatewatch.models.onnx import OnnxModel
from gatewatch.models.prune import PRUNE_TOLERANCE, OutputPruneBuild
from gatewatch.models.quantize import RECOGNIZER_INT8_TOLERANCE, RecognizerInt8Build, holds_qdq
from gatewatch.vision.plates.formats import PLATE_CHARSET

log = logging.getLogger(__name__)

REC_HEIGHT = 48
REC_WARMUP_SIZE = (REC_HEIGHT, 160)  # (h, w) of the warm-up line; the width is dynamic
PPOCR_REC_FILE = "PP-OCRv6_rec_small.onnx"
PRUNE_RECIPE = "prune-v2"  # part of the pruned file's cache name, with the kept classes
INT8_CALIBRATION = "synthetic-v1:200:0"  # calibration recipe; part of the cached file's name
# u8 activations x u8 weights (see RecognizerInt8Build: u8 x s8 saturates on AVX2 CPUs without VNNI).
INT8_FORMAT = "qdq-u8u8-per-channel"
# Gates of the two derived copies (see gatewatch.models.build): over them the copy is not used.
PRUNE_MAX_DIFF = PRUNE_TOLERANCE  # probabilities of the cut model vs the full model's, renormalised
INT8_MAX_CHANGED = RECOGNIZER_INT8_TOLERANCE  # share of time steps whose best class INT8 changes (0.013 here)


def rapidocr_model_dir() -> Path:
    """The ``models`` folder inside the installed ``rapidocr`` package (not imported)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the 'rapidocr' package is not installed: pip install 'gatewatch[plates]'")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def int8_recipe() -> str:
    """What the cached INT8 recogniser depends on: the calibration recipe, OpenCV and ONNX Runtime.

    The calibration lines are drawn with OpenCV's ``putText`` (OpenCV 5.0 draws every Hershey
    font constant with one new built-in face, so each line changes) and the ranges and the QDQ
    graph come from ONNX Runtime's quantiser; a cache built under other versions is not reused.
    """
    return f"{INT8_CALIBRATION}:{INT8_FORMAT}:{toolchain()}"


def _synthetic_batches(count: int, seed: int) -> list[np.ndarray]:
    """One recogniser batch per synthetic plate line (:func:`~.calibration.synthetic_plate_lines`)."""
    from gatewatch.vision.plates.calibration import synthetic_plate_lines

    return [PpOcrRecognizer.preprocess([line]) for line in synthetic_plate_lines(count, seed)]


def _calibration_batches() -> list[np.ndarray]:
    _, count, seed = INT8_CALIBRATION.split(":")
    return _synthetic_batches(int(count), int(seed))


def pruned_model(source: Path, keep: list[int]) -> Path:
    """The recogniser with its output layer cut to the ``keep`` classes (cached; ``ModelError`` if it cannot be had)."""
    build = OutputPruneBuild(tuple(keep), lambda: _synthetic_batches(8, 1), REC_WARMUP_SIZE, PRUNE_MAX_DIFF)
    return cached_build(build, source, "plates", f"{PRUNE_RECIPE}:{keep}")


def int8_model(source: Path, input_name: str) -> Path:
    """A static INT8 (QDQ) copy of a recogniser, calibrated on synthetic plate lines (cached).

    Conv and MatMul are quantised (u8 activations, u8 per-channel weights, MinMax ranges); 1.3-1.6x
    faster on one CPU core, plate exact match within 1 point of fp32 (``benchmarks/plates.py``).
    Needs the ``onnx`` package to build (a copy already in the cache folder is used without it).
    A model that already holds QDQ nodes is returned as it is. Raises ``ModelError`` when the
    copy cannot be had (``BuildUnavailable``) or is over its tolerance.
    """
    recipe = int8_recipe()
    if not derived_path(source, "int8", recipe).is_file() and holds_qdq(source):
        return source
    build = RecognizerInt8Build(input_name, _calibration_batches, REC_WARMUP_SIZE, INT8_MAX_CHANGED)
    return cached_build(build, source, "int8", recipe)


class PpOcrRecognizer:
    """PP-OCR text-line recogniser (CTC) on ONNX Runtime, restricted to a character set.

    Args:
        path: the recogniser ``.onnx`` (its ``character`` metadata is the dictionary);
            default: PP-OCRv6 small inside the ``rapidocr`` package.
        charset: characters to keep (others can never be emitted).
        providers: ``"auto"``, ``"cpu"``, ``"cuda"`` ... as for ``OnnxModel``.
        threads: intra-op threads (1 per model on small CPUs).
        prune: write and load a copy with the output layer cut to ``charset`` (faster; the full
            model without the ``onnx`` package, or with a warning when the copy is over tolerance).
        precision: ``"int8"`` runs a static INT8 copy built once into the cache
            (:func:`int8_model`; fp32 with a warning when it cannot be built or is over tolerance).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        charset: str = PLATE_CHARSET,
        providers: str | Sequence[str] = "cpu",
        threads: int = 1,
        prune: bool = True,
        warmup: bool = True,
        precision: Literal["fp32", "int8"] = "fp32",
    ) -> None:
        self.source = Path(path) if path else rapidocr_model_dir() / PPOCR_REC_FILE
        if not self.source.is_file():
            raise ModelError(f"recogniser model not found: {self.source}")
        meta = OnnxModel(self.source, providers="cpu", threads=threads, warmup=False, input_size=REC_WARMUP_SIZE)
        dictionary = meta.raw_metadata.get("character")
        if not dictionary:
            raise ModelError(f"{self.source}: no 'character' dictionary in the model metadata")
        full = ["", *dictionary.splitlines(), " "]  # CTC blank first, space last (PaddleOCR)
        wanted = set(charset)
        keep = [0] + [i for i, c in enumerate(full) if i and c in wanted]
        self.characters = np.array([full[i] for i in keep])
        self.path = self.source
        if prune:
            try:
                self.path = pruned_model(self.source, keep)
            except BuildUnavailable:
                pass  # no onnx package: the full model, columns picked at run time
            except ModelError as exc:
                log.warning("plate-charset recogniser not used (%s); using the full model", exc)
        self._columns: np.ndarray | None = None if self.path != self.source else np.asarray(keep)
        self.precision = "fp32"
        if precision == "int8":
            try:
                self.path, self.precision = int8_model(self.path, meta.input_name), "int8"
            except ModelError as exc:
                log.warning("precision int8: the INT8 recogniser cannot be had (%s); using fp32", exc)
        del meta
        self.model = OnnxModel(self.path, providers=providers, threads=threads, warmup=warmup, input_size=REC_WARMUP_SIZE)
        self.providers = self.model.providers
        self.input_name = self.model.input_name
        self.warmup_ms = self.model.warmup_ms

    @staticmethod
    def preprocess(lines: Sequence[np.ndarray]) -> np.ndarray:
        """Line crops ``(h, w, 3)`` BGR -> batch ``(n, 3, 48, W)`` in -1..1, right-padded with 0."""
        widths = [max(8, math.ceil(REC_HEIGHT * img.shape[1] / max(img.shape[0], 1))) for img in lines]
        batch = np.zeros((len(lines), 3, REC_HEIGHT, max(widths)), np.float32)
        for i, (img, w) in enumerate(zip(lines, widths, strict=True)):
            resized = cv2.resize(img, (w, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
            batch[i, :, :, :w] = resized.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
        return batch

    def probabilities(self, lines: Sequence[np.ndarray]) -> np.ndarray:
        """Per-time-step class probabilities ``(n, T, len(characters))`` for line crops."""
        probs = self.model.run(self.preprocess(lines))[0]
        if self._columns is not None:
            probs = probs[:, :, self._columns]
            probs = probs / np.maximum(probs.sum(axis=2, keepdims=True), 1e-9)
        return probs

    def decode(self, probs: np.ndarray) -> tuple[str, np.ndarray]:
        """Greedy CTC decode of one line ``(T, C)``: text and per-character probabilities."""
        best = probs.argmax(axis=1)
        score = probs.max(axis=1)
        keep = best != 0
        keep[1:] &= best[1:] != best[:-1]
        return "".join(self.characters[best[keep]]), score[keep]

    def recognise(self, lines: Sequence[np.ndarray]) -> list[tuple[str, np.ndarray]]:
        """Text and per-character probabilities for each line crop ``(h, w, 3)``."""
        if not lines:
            return []
        return [self.decode(p) for p in self.probabilities(lines)]

    def describe(self) -> dict[str, Any]:
        """What benchmarks report about this model."""
        return {"path": str(self.path), "providers": self.providers, "classes": len(self.characters),
                "precision": self.precision, "warmup_ms": self.warmup_ms}
