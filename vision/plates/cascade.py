"""The ``cascade`` reader: the own recogniser first, the fused readers only where it is not sure.

The own line model reads a crop in about a millisecond; ``fused_own`` runs three or four models on it
(PP-OCR, the fast-plate-ocr slot model or LPRNet, and the own model) in 10-20 ms. Most crops the own
model reads as a plate that fits a format with every character near-certain, and there the others
seldom change the read. So the cascade:

1. reads the crop with the own model (the inset and line split of ``own``);
2. keeps that read when it fits a VN or CN format exactly as read (no character swapped) and either
   (a Vietnamese read) the fast-plate-ocr slot model (~1.5 ms) reads the same text and no own character
   is below ``min_agreed_prob``, or (a Chinese read, which the slot model cannot read, or no slot model)
   no own character is below ``min_char_prob`` (:func:`own_accepts`);
3. else reads the crop with ``escalate`` (``fused_own`` by default), which reuses the own and slot
   reads of steps 1-2 instead of running those models again.

With ``lprnet_agrees`` (off by default) a Chinese read is kept, like a Vietnamese one, only when LPRNet
(~1.6 ms) reads the same text, at ``min_agreed_prob``. The rule and the thresholds were chosen on the dev-check quarter (``benchmarks/cascade_choice.py``),
never on the held-out half. With ``auto_own`` (no slot model) a Vietnamese own read is kept on its
probabilities alone (``min_char_prob``), which the dev check found less safe. ``fused_own`` needs the fast-plate-ocr model (AGPL-3.0, an asset that is not
shipped); without it the cascade escalates to ``auto_own`` (RapidOCR, LPRNet, own) with a warning.

Example::

    >>> reader = CascadeReader(CascadeReaderConfig(threads=1))
    >>> reader.read(crop).lines                   # crop: BGR uint8 (H, W, 3)
    ('59L2', '14999')
    >>> reader.accepted, reader.escalated         # crops settled by the own read / passed on
    (1, 0)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from gatewatch.errors import ModelError
from gatewatch.vision.plates.config import AutoOwnReaderConfig, CascadeReaderConfig, FusedOwnReaderConfig
from gatewatch.vision.plates.fastplate import FusedReader
from gatewatch.vision.plates.fused_own import AutoOwnReader, FusedOwnReader
from gatewatch.vision.plates.lines import inset
from gatewatch.vision.plates.lprnet import ctc_decode
from gatewatch.vision.plates.own import plate_lines
from gatewatch.vision.plates.readers import READERS, PlateReading, _reading, _usable
from gatewatch.vision.plates.third_opinion import fits

log = logging.getLogger(__name__)


def own_accepts(
    own_lines: Sequence[tuple[str, np.ndarray]],
    min_char_prob: float,
    slot_text: str | None = None,
    min_agreed_prob: float | None = None,
    lprnet_text: str | None = None,
) -> str | None:
    """The own read's plate text when the cascade keeps it, else ``None``.

    ``own_lines``: the own model's text and per-character probabilities per line. Kept when the joined
    text fits a VN or CN format as it stands and no character is below ``min_char_prob``; for a text
    without Chinese characters when ``slot_text`` (the fast-plate-ocr model's read) is given, when that
    read is the same text and no character is below ``min_agreed_prob`` (default: ``min_char_prob``);
    likewise for a text with Chinese characters when ``lprnet_text`` (LPRNet's read) is given.
    """
    text = "".join(t for t, _ in own_lines)
    probs = [float(p) for _, line_probs in own_lines for p in line_probs]
    if not text or len(probs) != len(text):
        return None
    least = min_char_prob
    second = slot_text if text.isascii() else lprnet_text
    if second is not None:
        if second != text:
            return None
        least = min_char_prob if min_agreed_prob is None else min_agreed_prob
    return text if min(probs) >= least and fits(text) else None


class CascadeReader:
    """Own model first; ``fused_own`` (or ``auto_own``) only for crops its read does not settle."""

    def __init__(self, config: CascadeReaderConfig | None = None) -> None:
        self.config = config or CascadeReaderConfig()
        cfg = self.config
        self.escalation: FusedOwnReader
        if cfg.escalate == "fused_own":
            try:
                fields = set(FusedOwnReaderConfig.model_fields) - {"type"}
                self.escalation = FusedOwnReader(FusedOwnReaderConfig(**cfg.model_dump(include=fields)))
            except ModelError as exc:
                log.warning("cascade: fused_own cannot be built (%s); escalating to auto_own instead", exc)
                self.escalation = self._auto_own()
        else:
            self.escalation = self._auto_own()
        self.escalate_to = "auto_own" if isinstance(self.escalation, AutoOwnReader) else "fused_own"
        self.own = self.escalation.own
        fused = self.escalation.fused
        self.slots = fused.slots if isinstance(fused, FusedReader) else None
        self.lprnet = fused.auto.lprnet if isinstance(fused, FusedReader) else fused.lprnet  # type: ignore[attr-defined]
        self.accepted = 0
        self.escalated = 0

    def _auto_own(self) -> AutoOwnReader:
        fields = set(AutoOwnReaderConfig.model_fields) - {"type"}
        return AutoOwnReader(AutoOwnReaderConfig(**self.config.model_dump(include=fields)))

    def read(self, crop: np.ndarray) -> PlateReading | None:
        """Read a plate crop ``(H, W, 3)`` BGR; ``None`` for an empty or unreadable crop."""
        if not _usable(crop):
            return None
        cfg = self.config
        own_lines = self.own.recognise(plate_lines(crop, cfg.own_frame_inset, cfg.two_line_max_aspect))
        slot = None
        text = "".join(t for t, _ in own_lines)
        if self.slots is not None and text.isascii() and fits(text):  # a VN read: the slot model must agree
            slot = self.slots.recognise([inset(crop, cfg.fastplate_inset)])[0]
        slot_text = slot.text if slot is not None else None
        lprnet_text = None
        if cfg.lprnet_agrees and not text.isascii() and fits(text):  # a CN read: LPRNet must agree
            lprnet_text = ctc_decode(self.lprnet.logits(crop))[0]
        if own_accepts(own_lines, cfg.min_char_prob, slot_text, cfg.min_agreed_prob, lprnet_text) is not None:
            self.accepted += 1
            return _reading(own_lines, cfg.min_confidence)
        self.escalated += 1
        return self.escalation.read_with_own(crop, own_lines, slot)


READERS["cascade"] = CascadeReader
