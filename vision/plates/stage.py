"""Pipeline stage: one plate per tracked vehicle, read on a few good frames and voted.

Per track and frame the stage decides whether the frame can improve the track's plate
(vehicle big enough, enough frames since the last try, not settled, budget left), crops
the vehicle, detects the plate on the crop, scores the plate crop (size, sharpness,
detector confidence), reads it only when it is about as good as the best seen, fits the
text to a VN/CN format and votes. A vehicle costs a few reads, not one per frame.

Example::

    >>> stage = PlateStage(PlatesConfig())
    >>> for frame in frames:                        # gatewatch.vision.sources.Frame
    ...     tracks = tracker.update(detector.predict(frame.image), frame.ts)
    ...     updates = stage.update(frame, tracks)   # [PlateUpdate(track_id=7, plate=PlateRead(...))] when a plate changed
    >>> stage.plate_for(7)
    PlateRead(text='51F12345', text_raw='51F-123.45', country='VN', confidence=0.93, reads=3, crop_path=None)

As a pipeline stage it reports each change of a track's voted plate (``PlateUpdate``); the
pipeline hands plates on to the flag stages and to crossings waiting for their plate.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import supervision as sv

from gatewatch.events import PLATE_MAX, PLATE_RAW_MAX, PlateRead, fit_text
from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates.config import (
    AutoReaderConfig,
    EasyOcrReaderConfig,
    PlatesConfig,
    RapidOcrReaderConfig,
)
from gatewatch.vision.plates.crops import plate_crop
from gatewatch.vision.plates.detector import PlateBox, PlateDetector, crop_box, plate_model_path
from gatewatch.vision.plates.formats import PlateText, normalise
from gatewatch.vision.plates.province import apply_province_prior
from gatewatch.vision.plates.readers import PlateReader, build_reader
from gatewatch.vision.plates.reading import PlateReading
from gatewatch.vision.plates.voting import Candidate, PlateVote
from gatewatch.vision.sources import Frame
from gatewatch.vision.stages import PlateUpdate

log = logging.getLogger(__name__)


def plate_quality(crop: np.ndarray, detector_confidence: float, min_width: int) -> float:
    """Quality 0..1 of a plate crop ``(h, w, 3)``: size x sharpness x detector confidence."""
    h, w = crop.shape[:2]
    if h == 0 or w == 0:
        return 0.0
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    gray = cv2.resize(gray, (max(8, round(48 * w / h)), 48))
    sharpness = min(1.0, float(cv2.Laplacian(gray, cv2.CV_32F).var()) / 300.0)
    size = min(1.0, w / (3.0 * min_width))
    return float(detector_confidence * size * (0.3 + 0.7 * sharpness))


@dataclass
class _Track:
    vote: PlateVote = field(default_factory=PlateVote)
    detections: int = 0
    last_try: int = -(10**9)
    best_quality: float = 0.0
    best_crop: np.ndarray | None = None
    crop_path: str | None = None
    settled: bool = False
    reported: PlateRead | None = None  # the plate the last PlateUpdate gave


class PlateStage:
    """Reads one plate per track; see the module docstring.

    Args:
        config: the ``plates:`` config.
        detector: plate detector (default: built from ``config.detector_model``).
        reader: plate reader (default: built from ``config.reader``).
    """

    def __init__(
        self,
        config: PlatesConfig | None = None,
        detector: PlateDetector | None = None,
        reader: PlateReader | None = None,
    ) -> None:
        self.config = config or PlatesConfig()
        self._tracks: dict[int, _Track] = {}
        self.reads_total = 0
        self.detections_total = 0
        self.rejected_total = 0
        self.plates_found_total = 0
        self.too_small_total = 0
        if not self.config.enabled:
            self.detector, self.reader = detector, reader
            return
        if detector is None:
            path = (
                plate_model_path(self.config.export_if_missing, self.config.detector_input_size)
                if self.config.detector_model == "plate-yolov8n"
                else Path(self.config.detector_model)
            )
            model = OnnxModel(path, providers=self.config.detector_providers, threads=self.config.detector_threads)
            detector = PlateDetector(model, confidence=self.config.detector_confidence)
        self.detector = detector
        self.reader = reader or build_reader(self.config.reader)
        if self.config.crop_dir is not None:
            self.config.crop_dir.mkdir(parents=True, exist_ok=True)

    def _wants(self, state: _Track, frame_index: int) -> bool:
        cfg = self.config
        return not (
            state.settled
            or len(state.vote) >= cfg.max_reads_per_track
            or state.detections >= cfg.max_detections_per_track
            or frame_index - state.last_try < cfg.min_frame_gap
        )

    def update(self, frame: Frame, tracks: sv.Detections) -> list[PlateUpdate]:
        """Try to improve the plate of each track in ``tracks`` on ``frame``; the tracks whose plate changed."""
        if not self.config.enabled or self.detector is None or self.reader is None or len(tracks) == 0:
            return []
        if tracks.tracker_id is None:
            return []
        frame_bgr, frame_index = frame.image, frame.index
        updates: list[PlateUpdate] = []
        names = tracks.data.get("class_name")
        wanted = set(self.config.vehicle_classes)
        for i in range(len(tracks)):
            track_id = int(tracks.tracker_id[i])
            if track_id < 0 or (names is not None and str(names[i]) not in wanted):
                continue
            xyxy = tracks.xyxy[i]
            if xyxy[3] - xyxy[1] < self.config.min_vehicle_height_px:
                continue
            state = self._tracks.setdefault(track_id, _Track())
            if not self._wants(state, frame_index):
                continue
            try:
                self._try(state, track_id, frame_bgr, frame_index, xyxy)
            except Exception:  # a bad frame or crop must not stop the stream
                log.exception("plate read failed for track %d at frame %d", track_id, frame_index)
            plate = self.plate_for(track_id)
            if plate != state.reported:
                state.reported = plate
                updates.append(PlateUpdate(track_id, plate))
        return updates

    def _try(self, state: _Track, track_id: int, frame: np.ndarray, frame_index: int, xyxy: np.ndarray) -> None:
        cfg = self.config
        detector, reader = self.detector, self.reader
        assert detector is not None and reader is not None  # update() tries only with both
        state.last_try = frame_index
        vehicle = crop_box(frame, xyxy, cfg.vehicle_margin)
        if vehicle.size == 0:
            return
        state.detections += 1
        self.detections_total += 1
        boxes = detector.boxes(vehicle, cfg.max_plates_per_vehicle)
        if not boxes:
            return
        self.plates_found_total += 1
        readable = [
            b for b in boxes
            if b.xyxy[2] - b.xyxy[0] >= cfg.min_plate_width_px and b.xyxy[3] - b.xyxy[1] >= cfg.min_plate_height_px
        ]
        if not readable:
            self.too_small_total += 1
            return
        # quality from the crop as detected: enlarging or turning it adds no detail
        qualities = [
            plate_quality(crop_box(vehicle, b.xyxy, cfg.plate_margin), b.confidence, cfg.min_plate_width_px)
            for b in readable
        ]
        crops = [plate_crop(vehicle, b.xyxy, cfg.plate_margin, cfg.deskew, cfg.upscale_plate_to_px) for b in readable]
        gate = cfg.quality_ratio * state.best_quality if len(state.vote) else -1.0
        tries = [(c, q, b) for c, q, b in zip(crops, qualities, readable, strict=True) if q >= gate]
        if not tries:
            return
        reading, fitted, plate, quality = self._read_best(tries)
        if reading is None or fitted is None:
            self.rejected_total += 1
            return
        state.vote.add(Candidate(fitted.text, fitted.country, reading.text_raw, reading.confidence, quality, frame_index))
        if quality > state.best_quality:
            state.best_quality = quality
            state.best_crop = plate.copy()
            if cfg.crop_dir is not None:
                path = cfg.crop_dir / f"plate_track{track_id}.jpg"
                cv2.imwrite(str(path), plate)
                state.crop_path = str(path)
        result = state.vote.result()
        if result and result.agreeing >= cfg.settle_reads and result.confidence >= cfg.settle_confidence:
            state.settled = True

    def _read_best(
        self, tries: list[tuple[np.ndarray, float, PlateBox]]
    ) -> tuple[PlateReading | None, PlateText | None, np.ndarray, float]:
        """Read each plate crop of one vehicle; the read that fits a format wins, then reader x detector confidence.

        Returns ``(reading, fitted, crop, quality)`` of the winner (the first crop when none was read).
        """
        cfg, reader = self.config, self.reader
        assert reader is not None
        best: tuple[tuple[bool, float], PlateReading | None, PlateText | None, np.ndarray, float] | None = None
        for plate, quality, box in tries:
            reading = reader.read(plate)
            if reading is not None and cfg.province_prior:
                reading = apply_province_prior(reading, cfg.province_prior)
            self.reads_total += 1
            fitted = normalise(reading.lines, cfg.max_substitutions, reading.alternatives) if reading else None
            rank = (fitted is not None, reading.confidence * box.confidence if reading else -1.0)
            if best is None or rank > best[0]:
                best = (rank, reading, fitted, plate, quality)
        assert best is not None  # tries is never empty
        return best[1], best[2], best[3], best[4]

    def plate_for(self, track_id: int) -> PlateRead | None:
        """The track's voted plate, or ``None`` when none was read or it is too uncertain."""
        state = self._tracks.get(int(track_id))
        result = state.vote.result() if state else None
        if state is None or result is None or result.confidence < self.config.min_plate_confidence:
            return None
        country = result.country if result.country in ("VN", "CN") else "unknown"
        return PlateRead(
            text=fit_text(result.text, PLATE_MAX), text_raw=fit_text(result.text_raw, PLATE_RAW_MAX),
            country=country,
            confidence=round(result.confidence, 4), reads=max(1, result.reads), crop_path=state.crop_path,
        )

    def crop_for(self, track_id: int) -> np.ndarray | None:
        """Best plate crop ``(h, w, 3)`` BGR of a track, or ``None``."""
        state = self._tracks.get(int(track_id))
        return None if state is None else state.best_crop

    def forget(self, frame: Frame | None, track_ids: Iterable[int]) -> list[PlateUpdate]:
        """Drop the state of tracks that ended (after their crossings went out); nothing to report."""
        for track_id in track_ids:
            self._tracks.pop(int(track_id), None)
        return []

    def finish(self, frame: Frame | None) -> list[PlateUpdate]:
        """End of the stream: plates are reported as they change, nothing is left to say."""
        return []

    def stats(self) -> dict[str, int]:
        """Work done so far: vehicle crops searched, plates found, too small to read, reads, rejected reads."""
        return {
            "vehicle crops searched": self.detections_total, "plates found": self.plates_found_total,
            "too small": self.too_small_total, "read": self.reads_total, "fitting no format": self.rejected_total,
        }

    @property
    def tracks(self) -> int:
        """Tracks with plate state held."""
        return len(self._tracks)


__all__ = ["AutoReaderConfig", "EasyOcrReaderConfig", "PlateStage", "PlatesConfig", "RapidOcrReaderConfig", "plate_quality"]
