"""The shared Vietnamese plate recogniser (fast-plate-ocr format): a second opinion on VN plates.

The model (``<assets>/weights/vn_plate_ocr/vietanhlee_trafic_monitoring_model_ocr.onnx``,
vietanhlee/Trafic-Monitoring, **AGPL-3.0**) reads the whole plate crop, two-line plates too,
resized to 128x64 RGB without keeping the aspect ratio, into 9 character slots, each a softmax
over ``0-9A-Z_`` (``_`` = padding). It knows no Chinese characters. It is found in the model
folders (:func:`gatewatch.assets.model_dirs`), never downloaded.

Example::

    >>> reader = FastPlateReader(FastPlateReaderConfig())
    >>> reader.read(crop)                              # crop: BGR uint8 (H, W, 3)
    PlateReading(lines=('59L2', '14999'), confidence=0.99, line_confidences=(0.99, 0.99))
    >>> reader.recognizer.slots([crop]).shape          # (n, 9, 37) slot probabilities
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from gatewatch.assets import model_dirs
from gatewatch.errors import ModelError
from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates.config import AutoReaderConfig, FastPlateReaderConfig, FusedReaderConfig
from gatewatch.vision.plates.fusion import FusionWeights, SlotRead, fuse_vn, slot_read, vn_lines
from gatewatch.vision.plates.lines import inset, is_two_line, split_lines
from gatewatch.vision.plates.readers import READERS, AutoReader, PlateReading, _reading, drop_cjk

FASTPLATE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
FASTPLATE_PAD = "_"
FASTPLATE_SIZE = (128, 64)  # width, height
FASTPLATE_SLOTS = 9
FASTPLATE_ONNX = Path("vn_plate_ocr") / "vietanhlee_trafic_monitoring_model_ocr.onnx"


def fastplate_model_path() -> Path:
    """``vn_plate_ocr/vietanhlee_trafic_monitoring_model_ocr.onnx`` in the model folders; ``ModelError`` if absent."""
    for folder in model_dirs():
        if (folder / FASTPLATE_ONNX).is_file():
            return folder / FASTPLATE_ONNX
    raise ModelError(
        f"{FASTPLATE_ONNX} not found in {[str(d) for d in model_dirs()]}; set GATEWATCH_ASSET_DIR or "
        "GATEWATCH_MODEL_DIR to a folder holding it, or the reader's model_path"
    )


def preprocess(crops: Sequence[np.ndarray]) -> np.ndarray:
    """BGR crops ``(h, w, 3)`` -> uint8 ``(n, 64, 128, 3)`` RGB, each stretched to 128x64."""
    batch = np.empty((len(crops), FASTPLATE_SIZE[1], FASTPLATE_SIZE[0], 3), np.uint8)
    for i, crop in enumerate(crops):
        batch[i] = cv2.cvtColor(cv2.resize(crop, FASTPLATE_SIZE, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
    return batch


class FastPlateRecognizer:
    """The fast-plate-ocr model on an ``OnnxModel``: uint8 NHWC in, ``(n, 9, 37)`` slot probabilities out."""

    def __init__(self, model: OnnxModel) -> None:
        shape = model.input_shape
        outputs = model.session.get_outputs()
        if len(shape) != 4 or shape[1:] != [FASTPLATE_SIZE[1], FASTPLATE_SIZE[0], 3] or \
                list(outputs[0].shape[1:]) != [FASTPLATE_SLOTS, len(FASTPLATE_ALPHABET)]:
            raise ModelError(f"{model.path}: input {shape} / output {outputs[0].shape} is not a fast-plate-ocr "
                             f"(n, 64, 128, 3) -> (n, 9, 37) model")
        self.model = model
        self.model.session.run(None, {model.input_name: np.zeros((1, 64, 128, 3), np.uint8)})  # warm-up

    def slots(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Slot probabilities ``(n, 9, 37)`` of BGR plate crops (one batch)."""
        # uint8 input: OnnxModel.run casts to float, so the session is called directly
        return self.model.session.run(None, {self.model.input_name: preprocess(crops)})[0]

    def recognise(self, crops: Sequence[np.ndarray]) -> list[SlotRead]:
        """Text (padding dropped) and per-slot probabilities of each crop."""
        if not crops:
            return []
        return [slot_read(p, FASTPLATE_ALPHABET) for p in self.slots(crops)]


def _usable(crop: np.ndarray | None) -> bool:
    return crop is not None and crop.ndim == 3 and crop.shape[0] >= 8 and crop.shape[1] >= 16


def _recognizer(path: Path | None, providers: str, threads: int) -> FastPlateRecognizer:
    model = OnnxModel(path or fastplate_model_path(), providers=providers, threads=threads, warmup=False)
    return FastPlateRecognizer(model)


class FastPlateReader:
    """Plate reader on the shared VN model alone: one read of the whole crop, split into lines by the VN layout."""

    def __init__(self, config: FastPlateReaderConfig | None = None) -> None:
        self.config = config or FastPlateReaderConfig()
        self.recognizer = _recognizer(self.config.model_path, self.config.providers, self.config.threads)

    def _reading(self, crop: np.ndarray, read: SlotRead) -> PlateReading | None:
        if not read.text or float(read.probs.mean()) < self.config.min_confidence:
            return None
        lines = vn_lines(read.text) if is_two_line(crop, self.config.two_line_max_aspect) else (read.text,)
        parts, start = [], 0
        for line in lines:
            parts.append(float(read.probs[start : start + len(line)].mean()))
            start += len(line)
        return PlateReading(lines, float(read.probs.mean()), tuple(parts))

    def read_many(self, crops: Sequence[np.ndarray]) -> list[PlateReading | None]:
        """Read several plate crops in one batch (``None`` for an unusable or unreadable crop)."""
        usable = [i for i, c in enumerate(crops) if _usable(c)]
        reads = self.recognizer.recognise([inset(crops[i], self.config.frame_inset) for i in usable])
        out: list[PlateReading | None] = [None] * len(crops)
        for i, read in zip(usable, reads, strict=True):
            out[i] = self._reading(crops[i], read)
        return out

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        return self.read_many([crop])[0]


class FusedReader:
    """``auto`` on every crop, fused per character with the VN slot model on crops that do not look Chinese.

    Crops routed Chinese (as :class:`AutoReader` decides, :func:`~.route.route_plate`: a province character,
    the CN format, or a blue/green single-line crop that fits no VN format) are read exactly as ``auto`` reads them;
    the slot model knows no province characters. Every other crop is read by both and fused by
    :func:`~.fusion.fuse_vn`; when the fusion fits no VN layout, PP-OCR's read is returned as ``auto`` would.
    """

    def __init__(self, config: FusedReaderConfig | None = None, weights: FusionWeights | None = None) -> None:
        self.config = config or FusedReaderConfig()
        cfg = self.config
        self.auto = AutoReader(AutoReaderConfig(**cfg.model_dump(include=set(AutoReaderConfig.model_fields) - {"type"})))
        self.slots = _recognizer(cfg.fastplate_model_path, cfg.providers, cfg.threads)
        self.weights = weights or FusionWeights()
        self.fused_reads = 0

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        return self.read_with_sources(crop)[0]

    def read_with_sources(
        self, crop: np.ndarray, slot: SlotRead | None = None
    ) -> tuple[PlateReading | None, list[tuple[str, np.ndarray]]]:
        """The fused reading and the two reads it was made from (text, per-character probabilities):
        PP-OCR's (lines joined) and the slot model's, or RapidOCR's and LPRNet's on a Chinese crop;
        the list is empty when only one reader read the crop. ``slot``: the slot model's read of this
        crop (``fastplate_inset``) when the caller has it already."""
        sources: list[tuple[str, np.ndarray]] = []
        if not _usable(crop):
            return None, sources
        cfg = self.config
        lines = split_lines(inset(crop, cfg.frame_inset), cfg.two_line_max_aspect)
        step_probs = self.auto.rapid.recognizer.probabilities(lines)
        texts = [self.auto.rapid.recognizer.decode(p) for p in step_probs]
        aspect = crop.shape[1] / crop.shape[0]
        single = len(lines) == 1 and cfg.cn_min_aspect <= aspect <= cfg.cn_max_aspect
        route = self.auto.route(crop, len(lines), [t for t, _ in texts])
        if single and route == "CN":  # exactly as auto: LPRNet fused in
            return self.auto.read_cn(crop, texts[0], step_probs[0], sources), sources
        if route == "CN":  # Chinese two-line: auto's read
            return _reading(texts, cfg.min_confidence), sources
        texts = [drop_cjk(t, p) for t, p in texts]
        if slot is None:
            slot = self.slots.recognise([inset(crop, cfg.fastplate_inset)])[0]
        sources += [("".join(t for t, _ in texts), np.concatenate([p for _, p in texts]) if texts else np.zeros(0)),
                    (slot.text, slot.probs)]
        fused = fuse_vn([(t, p.tolist()) for t, p in texts], slot, self.weights)
        if fused is None:
            return _reading(texts, cfg.min_confidence), sources
        self.fused_reads += 1
        if fused.confidence < cfg.min_confidence:
            return None, sources
        parts, start = [], 0
        for line in fused.lines:
            parts.append(float(np.mean(fused.probs[start : start + len(line)])))
            start += len(line)
        return PlateReading(fused.lines, fused.confidence, tuple(parts)), sources


READERS.update({"fastplate": FastPlateReader, "fused": FusedReader})
