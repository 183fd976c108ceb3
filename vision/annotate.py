"""The annotated video (``gatewatch run --annotate out.mp4``): what the gate saw, drawn on each frame.

``GateAnnotator.draw`` draws, on a copy of the frame:

* each lane's gate line with an arrow for its entry direction and its entry/exit counts;
* the dwell zones of the held-vehicle stage, and over each vehicle standing in one its dwell timer
  (amber while it waits, red once its ``held`` flag is open);
* every track's box with its id, class and voted plate (labels kept inside the frame and spread
  apart by supervision's ``smart_position``);
* a vehicle counted on this frame: its box and its lane's line drawn thick in the direction's
  colour, with ENTRY or EXIT over it, for ``highlight_s`` of stream time.

Every text is drawn on a filled background and placed inside the frame, whatever the anchor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import supervision as sv

from gatewatch.config import HEADING_VECTORS
from gatewatch.vision.flags.held import DwellZone
from gatewatch.vision.lines import GateLine
from gatewatch.vision.sources import Frame, FrameSource
from gatewatch.vision.stages import Crossing, track_ids

LINE = (0, 255, 255)  # BGR: yellow
ENTRY = (80, 200, 60)  # green
EXIT = (0, 140, 255)  # orange
ZONE = (200, 120, 40)  # blue
WAITING = (0, 190, 255)  # amber
HELD = (40, 40, 220)  # red
TEXT = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def drawable(text: str) -> str:
    """``text`` in the characters OpenCV's fonts have: a Chinese plate's province character becomes ``CN``."""
    ascii_only = "".join(c for c in text if c.isascii())
    return ascii_only if ascii_only == text else f"CN {ascii_only}".strip()


def place_text(size: tuple[int, int], text_wh: tuple[int, int], anchor: tuple[float, float], pad: int) -> tuple[int, int]:
    """Bottom-left origin for a ``text_wh`` label near ``anchor`` so that it and its padding stay in the frame."""
    w, h = size
    tw, th = text_wh
    x = int(round(anchor[0]))
    y = int(round(anchor[1]))
    x = min(max(x, pad), max(pad, w - tw - pad))
    y = min(max(y, th + pad), max(th + pad, h - pad))
    return x, y


def put_label(image: np.ndarray, text: str, anchor: tuple[float, float], scale: float, color: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """Draw ``text`` on a filled ``color`` box near ``anchor``, inside the frame; returns the box ``(x0, y0, x1, y1)``."""
    thickness = max(1, round(scale * 1.6))
    (tw, th), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    pad = max(2, round(3 * scale))
    x, y = place_text((image.shape[1], image.shape[0]), (tw, th + baseline), anchor, pad)
    box = (x - pad, y - th - baseline - pad, x + tw + pad, y + pad)
    cv2.rectangle(image, box[:2], box[2:], color, -1)
    cv2.putText(image, text, (x, y - baseline), FONT, scale, TEXT, thickness, cv2.LINE_AA)
    return box


@dataclass
class _Flash:
    """A counted vehicle, highlighted until ``until_ts``."""

    until_ts: float
    direction: str
    lane: str
    box: np.ndarray


class GateAnnotator:
    """Draws lines, entry arrows, counts, dwell zones and timers, tracks and counted vehicles (module docstring)."""

    def __init__(
        self,
        size: tuple[int, int],
        lines: Sequence[GateLine],
        zones: Sequence[DwellZone] = (),
        highlight_s: float = 1.0,
    ) -> None:
        self.size = size
        self.lines = list(lines)
        self.zones = list(zones)
        self.highlight_s = highlight_s
        self.scale = max(size[1] / 720, 0.35)
        thick = max(1, round(2 * self.scale))
        self.thick = thick
        self.boxes = sv.BoxAnnotator(thickness=thick)
        self.labels = sv.LabelAnnotator(text_scale=0.6 * self.scale + 0.15, text_padding=2, text_thickness=1,
                                        smart_position=True)  # fmt: skip
        self._flash: dict[int, _Flash] = {}

    def draw(self, frame: Frame, tracks: sv.Detections, counted: Sequence[Crossing] = ()) -> np.ndarray:
        """The annotated copy of ``frame.image``."""
        image = frame.image.copy()
        for crossing in counted:
            self._flash[crossing.track_id] = _Flash(frame.ts + self.highlight_s, crossing.direction, crossing.lane,
                                                    np.asarray(crossing.box, dtype=float))  # fmt: skip
        self._flash = {tid: f for tid, f in self._flash.items() if f.until_ts > frame.ts}
        self._draw_zones(image, frame.ts)
        self._draw_tracks(image, tracks)
        self._draw_lines(image)
        self._draw_flashes(image, tracks)
        return image

    def _draw_zones(self, image: np.ndarray, ts: float) -> None:
        if not self.zones:
            return
        overlay = image.copy()
        for zone in self.zones:
            cv2.fillPoly(overlay, [zone.polygon.astype(np.int32)], ZONE)
        cv2.addWeighted(overlay, 0.18, image, 0.82, 0, dst=image)
        for zone in self.zones:
            polygon = zone.polygon.astype(np.int32)
            cv2.polylines(image, [polygon], True, ZONE, self.thick, cv2.LINE_AA)
            top = polygon.reshape(-1, 2)[np.argmin(polygon.reshape(-1, 2)[:, 1])]
            put_label(image, zone.zone.id, (top[0], top[1] - 4), 0.45 * self.scale + 0.1, ZONE)
            for stay in zone.stays:
                if stay.last_present_ts < ts - 0.5 or stay.dwell_s() <= 0:
                    continue  # gone, or not standing yet
                x0, y0, x1, _ = (float(v) for v in stay.box)
                color = HELD if stay.flag is not None else WAITING
                put_label(image, f"{stay.dwell_s():.0f} s", ((x0 + x1) / 2 - 10, y0 + 18 * self.scale), 0.55 * self.scale + 0.1,
                          color)  # fmt: skip

    def _draw_tracks(self, image: np.ndarray, tracks: sv.Detections) -> None:
        if not len(tracks):
            return
        names = tracks.data.get("class_name", np.array(["?"] * len(tracks)))
        plates = tracks.data.get("plate", np.array([None] * len(tracks), dtype=object))
        labels = [f"#{t} {n}" + (f" {drawable(p.text)}" if p is not None else "") for t, n, p in zip(track_ids(tracks), names, plates, strict=False)]
        self.boxes.annotate(image, tracks)
        self.labels.annotate(image, tracks, labels=labels)

    def _draw_lines(self, image: np.ndarray) -> None:
        flashing = {f.lane: f.direction for f in self._flash.values()}
        for line in self.lines:
            (x1, y1), (x2, y2) = ((int(x), int(y)) for x, y in line.lane.line)
            direction = flashing.get(line.id)
            color = LINE if direction is None else ENTRY if direction == "entry" else EXIT
            cv2.line(image, (x1, y1), (x2, y2), color, self.thick * (3 if direction else 1), cv2.LINE_AA)
            self._draw_entry_arrow(image, line)
            entries = sum(n for (d, _), n in line.counts.items() if d == "entry")
            exits = sum(n for (d, _), n in line.counts.items() if d == "exit")
            put_label(image, f"{line.id}  in {entries}  out {exits}", (min(x1, x2), min(y1, y2) - 8),
                      0.5 * self.scale + 0.1, (60, 60, 60))  # fmt: skip

    def _draw_entry_arrow(self, image: np.ndarray, line: GateLine) -> None:
        (x1, y1), (x2, y2) = line.lane.line
        hx, hy = HEADING_VECTORS[line.lane.entry_heading]
        length = max(36.0, 0.1 * min(self.size))
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        start = (int(mx - hx * length / 2), int(my - hy * length / 2))
        end = (int(mx + hx * length / 2), int(my + hy * length / 2))
        cv2.arrowedLine(image, start, end, ENTRY, self.thick + 1, cv2.LINE_AA, tipLength=0.35)

    def _draw_flashes(self, image: np.ndarray, tracks: sv.Detections) -> None:
        if not self._flash:
            return
        current = dict(zip(track_ids(tracks), tracks.xyxy, strict=False)) if len(tracks) else {}
        for tid, flash in self._flash.items():
            box = current.get(tid, flash.box)
            x0, y0, x1, y1 = (int(v) for v in box)
            color = ENTRY if flash.direction == "entry" else EXIT
            cv2.rectangle(image, (x0, y0), (x1, y1), color, self.thick * 3)
            put_label(image, flash.direction.upper(), (x0, y1 + 4 + 20 * self.scale), 0.6 * self.scale + 0.15, color)


class AnnotatedVideo:
    """Writes ``GateAnnotator`` frames to an ``.mp4`` at the source's rate and size."""

    def __init__(self, path: str | Path, source: FrameSource, annotator: GateAnnotator) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self.annotator = annotator
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), source.fps or 25.0, source.size)
        self.frames = 0

    def write(self, frame: Frame, tracks: sv.Detections, counted: Sequence[Crossing] = ()) -> None:
        self.writer.write(self.annotator.draw(frame, tracks, counted))
        self.frames += 1

    def close(self) -> None:
        self.writer.release()
