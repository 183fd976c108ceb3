"""The ``flags:`` section of a camera YAML: held vehicles, hold list, empty trucks.

Every section is optional; a section that is absent is off. Times are seconds of stream time
(frame timestamps), never wall-clock time, so a recorded file replays exactly. Pydantic models
only (no OpenCV or onnxruntime at import): ``CameraConfig.flags`` is a ``FlagsConfig``, checked
with the rest of the file.

Example::

    flags:
      evidence_dir: out/evidence
      held:
        threshold_s: 120
        zones:
          - id: gate-apron
            polygon: [[100, 200], [600, 200], [600, 400], [100, 400]]
      hold_list: {file: holds.yaml}
      empty_truck: {travel_axis: x, cab_fraction: 0.3, fill_threshold: 0.4}
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gatewatch.events import Name
from gatewatch.strict import Strict

Point = tuple[float, float]


class ZoneConfig(Strict):
    """One dwell zone: a polygon in frame pixels, with an optional threshold of its own."""

    id: Name = Field(description="Zone name, e.g. 'apron-1'.")
    polygon: list[Point] = Field(min_length=3, max_length=64, description="Polygon corners in frame pixels.")
    threshold_s: float | None = Field(None, gt=0, le=86_400, description="Dwell threshold here (default: held.threshold_s).")


class HeldConfig(Strict):
    """Vehicles standing (nearly) still inside a dwell zone for longer than a threshold."""

    zones: list[ZoneConfig] = Field(min_length=1, description="Dwell zones; a vehicle is in one when its box centre is.")
    threshold_s: float = Field(120.0, gt=0, le=86_400, description="Seconds standing still before the flag is raised.")
    classes: list[str] = Field(["car", "truck", "bus"], min_length=1, description="Vehicle classes that can be held.")
    still_s: float = Field(1.0, gt=0, le=60, description="A track counts as still once it has moved little for this long.")
    max_motion: float = Field(
        0.12, gt=0, le=1, description="Most the box centre may wander while 'still', as a fraction of the box diagonal."
    )
    leave_grace_s: float = Field(
        5.0, ge=0, le=600, description="A vehicle out of sight (occluded, missed, id switch) this long has left."
    )
    reassoc_iou: float = Field(0.3, gt=0, le=1, description="IoU with a standing vehicle's box that re-associates a track.")
    appearance_hold: bool = Field(
        True,
        description="While the detector misses a standing vehicle, compare its image patch with the one seen last; "
        "if it still matches, the vehicle is still there.",
    )
    appearance_min_ncc: float = Field(
        0.6, ge=-1, le=1, description="Normalised cross-correlation that counts as 'the same vehicle is still there'."
    )
    max_still_s_without_detection: float = Field(
        3600.0, gt=0, description="Longest a vehicle is kept on appearance alone, without any detection."
    )

    @model_validator(mode="after")
    def _unique_zones(self) -> HeldConfig:
        ids = [z.id for z in self.zones]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"zones: ids must be unique, repeated: {dupes}")
        return self


class HoldListConfig(Strict):
    """Plates on the hold list: from the gate API, from a local file, or both (the file as fallback)."""

    url: str | None = Field(None, description="Holds endpoint, e.g. 'http://api:8000/api/v1/holds'.")
    api_key_env: str = Field("GATEWATCH_API_KEY", description="Environment variable holding the X-API-Key.")
    file: str | None = Field(None, description="Local hold list (.yaml, .json or .csv with plate, reason, until).")
    refresh_s: float = Field(300.0, ge=0, le=86_400, description="Refetch the list this often (0: load once).")
    timeout_s: float = Field(5.0, gt=0, le=120, description="HTTP timeout.")
    confusable: bool = Field(True, description="Match through OCR confusions (O/0, I/1, B/8, D/0, S/5, Z/2, G/6).")
    missing_char: bool = Field(True, description="Match a read that lacks one character of a listed plate.")
    min_length: int = Field(5, ge=2, le=16, description="Reads shorter than this are never matched fuzzily.")
    grace_s: float = Field(5.0, ge=0, le=600, description="The flag ends once its vehicle is out of sight this long.")

    @model_validator(mode="after")
    def _needs_source(self) -> HoldListConfig:
        if not self.url and not self.file:
            raise ValueError("give a url, a file, or both")
        return self


class BackgroundConfig(Strict):
    """Background model of the static scene, learned where no vehicle is tracked."""

    warmup_s: float = Field(2.0, ge=0, le=600, description="Frames over this time seed the background (median).")
    learning_rate: float = Field(0.02, gt=0, le=1, description="Per-frame update weight outside vehicle boxes.")
    diff_threshold: float = Field(28.0, gt=0, le=255, description="Colour distance that counts as foreground.")
    work_width: int = Field(320, ge=64, le=1920, description="Width the frame is scaled to for the model.")


class ClassifierConfig(Strict):
    """An ONNX image classifier (classes 'empty' and 'loaded') that replaces the geometric check."""

    model: str = Field(description="Path to the .onnx classifier (see `gatewatch flags train`).")
    providers: str | list[str] = Field("auto", description="onnxruntime providers ('auto', 'cpu', ...).")
    threads: int = Field(1, ge=0, le=64, description="onnxruntime intra-op threads.")
    empty_threshold: float = Field(0.5, gt=0, lt=1, description="Mean P(empty) over the checks that flags a truck.")


class EmptyTruckConfig(Strict):
    """Trucks whose bed or chassis behind the cab is empty (fixed camera, calibrated per camera)."""

    classes: list[str] = Field(["truck"], min_length=1, description="Classes checked.")
    travel_axis: Literal["x", "y"] = Field("x", description="Image axis along which trucks drive (x: side view).")
    cab_side: Literal["front", "start", "end"] = Field(
        "front",
        description="Where the cab is along the travel axis: 'front' (the leading end, from the track's motion), "
        "'start' (left/top) or 'end' (right/bottom).",
    )
    cab_fraction: float = Field(0.3, ge=0, lt=0.9, description="Share of the box length taken by the cab.")
    cargo_band: tuple[float, float] = Field(
        (0.0, 0.6),
        description="Across the travel axis, the part of the box (0 = top/left, 1 = bottom/right) where cargo would "
        "stand; for a side view the upper 60 percent, above the chassis.",
    )
    fill_threshold: float = Field(0.35, gt=0, lt=1, description="Median foreground fill of the bed below which it is empty.")
    min_size_px: tuple[int, int] = Field((60, 30), description="Smallest box (width, height) checked.")
    edge_margin_px: int = Field(4, ge=0, le=200, description="Boxes this close to the frame border are cut off: skipped.")
    min_checks: int = Field(3, ge=1, le=100, description="Checks (frames) a truck needs before it is judged.")
    check_interval_s: float = Field(0.2, ge=0, le=10, description="Least time between two checks of a truck.")
    grace_s: float = Field(2.0, ge=0, le=600, description="The flag ends once its truck is out of sight this long.")
    background: BackgroundConfig = BackgroundConfig()
    classifier: ClassifierConfig | None = Field(None, description="When set, the classifier decides instead.")

    @model_validator(mode="after")
    def _band(self) -> EmptyTruckConfig:
        lo, hi = self.cargo_band
        if not 0 <= lo < hi <= 1:
            raise ValueError("cargo_band: need 0 <= low < high <= 1")
        return self


class FlagsConfig(Strict):
    """The ``flags:`` section of a camera config."""

    evidence_dir: str | None = Field(
        "gatewatch-evidence", description="Folder for snapshots and crops (JPEG); null writes none."
    )
    jpeg_quality: int = Field(90, ge=10, le=100, description="JPEG quality of evidence images.")
    update_interval_s: float = Field(30.0, gt=0, le=86_400, description="Seconds between update events of an open flag.")
    held: HeldConfig | None = None
    hold_list: HoldListConfig | None = None
    empty_truck: EmptyTruckConfig | None = None
