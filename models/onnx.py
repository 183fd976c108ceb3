"""One class owns each ONNX Runtime session.

``OnnxModel`` checks the file at construction (an error names the path), picks execution
providers from what is installed or what the config asks for, reads the Ultralytics
metadata (class names, input size, stride, task) and runs one warm-up.

Example::

    >>> model = OnnxModel("yolov8n.onnx", providers="auto", threads=1)
    >>> model.names[2], model.imgsz
    ('car', (640, 640))
    >>> outputs = model.run(batch)   # batch: float32 (1, 3, 640, 640)
"""

from __future__ import annotations

import ast
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from gatewatch.errors import ModelError

log = logging.getLogger(__name__)

# Preference order when providers="auto".
PROVIDER_ORDER = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "OpenVINOExecutionProvider",
    "CPUExecutionProvider",
)
PROVIDER_ALIASES = {
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


def available_providers() -> list[str]:
    """Execution providers this onnxruntime build offers."""
    return list(ort.get_available_providers())


def choose_providers(requested: str | Sequence[str] = "auto") -> list[str]:
    """Providers to use: ``"auto"`` picks the best available; a list is checked against them.

    Raises ``ModelError`` when a requested provider is not available.
    """
    available = available_providers()
    if isinstance(requested, str) and requested == "auto":
        return [p for p in PROVIDER_ORDER if p in available] or available
    names = [requested] if isinstance(requested, str) else list(requested)
    chosen = [PROVIDER_ALIASES.get(n.lower(), n) for n in names]
    missing = [p for p in chosen if p not in available]
    if missing:
        raise ModelError(f"execution provider(s) {missing} not available; this onnxruntime offers {available}")
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


GRAPH_OPTIMIZATION = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
EXECUTION_MODE = {"sequential": ort.ExecutionMode.ORT_SEQUENTIAL, "parallel": ort.ExecutionMode.ORT_PARALLEL}


@dataclass(frozen=True)
class SessionTuning:
    """onnxruntime session settings beyond the intra-op thread count (``model.*`` in the camera config).

    ``spinning``: idle intra-op threads busy-wait for the next job (onnxruntime's default). With
    more than one intra-op thread on a small CPU that also decodes video, the spinning thread
    takes the core the decoder needs; off, it sleeps. No effect with one intra-op thread.
    ``inter_op_threads`` and ``execution_mode: parallel`` run independent branches of the graph
    at once (a YOLO graph is nearly a chain). ``io_binding``: on a GPU provider, the input is
    copied to the device once and the outputs read back through a binding (no effect on CPU).
    ``trt_fp16``: TensorRT builds fp16 engines. TensorRT engines are cached in the model cache
    (``trt-engines/``), so only the first start of a camera pays the engine build.
    """

    inter_op_threads: int = 1
    spinning: bool = True
    execution_mode: str = "sequential"
    graph_optimization: str = "all"
    io_binding: bool = False
    trt_fp16: bool = False

    def __post_init__(self) -> None:
        if self.execution_mode not in EXECUTION_MODE:
            raise ModelError(f"execution_mode '{self.execution_mode}': one of {sorted(EXECUTION_MODE)}")
        if self.graph_optimization not in GRAPH_OPTIMIZATION:
            raise ModelError(f"graph_optimization '{self.graph_optimization}': one of {sorted(GRAPH_OPTIMIZATION)}")
        if self.inter_op_threads < 0:
            raise ModelError("inter_op_threads must be 0 (onnxruntime decides) or more")


def provider_options(providers: Sequence[str], tuning: SessionTuning) -> list[dict[str, str]]:
    """Options per provider: TensorRT's engine cache (and fp16); the others their defaults."""
    from gatewatch.assets import cache_dir

    out: list[dict[str, str]] = []
    for name in providers:
        if name == "TensorrtExecutionProvider":
            engines = cache_dir() / "trt-engines"
            engines.mkdir(parents=True, exist_ok=True)
            out.append({"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(engines),
                        "trt_timing_cache_enable": "True", "trt_timing_cache_path": str(engines),
                        "trt_fp16_enable": str(tuning.trt_fp16)})
        else:
            out.append({})
    return out


def _literal(value: str) -> Any:
    try:
        return ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):  # plain text (a dictionary)
        return value


class OnnxModel:
    """An ONNX Runtime session with its Ultralytics metadata.

    Args:
        path: the ``.onnx`` file.
        providers: ``"auto"``, a provider name/alias (``"cuda"``), or a list of them.
        threads: intra-op threads (0 lets onnxruntime decide). On small CPUs 1 thread per
            model leaves a core for decoding.
        warmup: run one inference on zeros at construction.
        input_size: ``(h, w)`` for a model whose file states neither an ``imgsz`` nor a fixed
            input shape (a text-line recogniser with a dynamic width); the warm-up uses it.
        tuning: session settings besides ``threads`` (``SessionTuning``; default: onnxruntime's
            own, one inter-op thread).
    """

    def __init__(
        self,
        path: str | Path,
        providers: str | Sequence[str] = "auto",
        threads: int = 1,
        warmup: bool = True,
        input_size: tuple[int, int] | None = None,
        tuning: SessionTuning | None = None,
    ) -> None:
        self.path = Path(path)
        self.tuning = tuning or SessionTuning()
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        self.providers = choose_providers(providers)
        self.session = self._session(threads, mem_pattern=True)
        self.dynamic_shape = any(not isinstance(d, int) for i in self.session.get_inputs() for d in i.shape)
        if self.dynamic_shape:
            # onnxruntime keeps one memory plan per distinct input shape and never drops it (~12 KB
            # each): a recogniser fed crops of every width grew the edge's heap for hours. Without
            # the plans the heap stays flat; the outputs are the same.
            self.session = self._session(threads, mem_pattern=False)
        self.providers = self.session.get_providers()
        inputs = self.session.get_inputs()
        self.input_name = inputs[0].name
        self.input_shape = list(inputs[0].shape)
        # A symbolic first dimension: several images go through one call (gatewatch.vision.detector.predict_batch).
        self.batch_dynamic = bool(self.input_shape) and not isinstance(self.input_shape[0], int)
        self.input_dtype = np.float16 if "float16" in inputs[0].type else np.float32
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._binding = (self.session.io_binding() if self.tuning.io_binding and self.providers[0] != "CPUExecutionProvider"
                         else None)
        self._binding_lock = threading.Lock()
        self.raw_metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.metadata: dict[str, Any] = {k: _literal(v) for k, v in self.raw_metadata.items()}
        self.names: dict[int, str] = {int(k): str(v) for k, v in dict(self.metadata.get("names", {})).items()}
        self.imgsz: tuple[int, int] = self._input_size(input_size)
        self.stride = int(self.metadata.get("stride", 32))
        self.task = str(self.metadata.get("task", "detect"))
        self.warmup_ms: float | None = None
        if warmup:
            start = time.perf_counter()
            self.run(np.zeros((1, 3, *self.imgsz), dtype=self.input_dtype))
            self.warmup_ms = (time.perf_counter() - start) * 1000
        log.info("loaded %s on %s (imgsz=%s, %d classes)", self.path.name, self.providers[0], self.imgsz, len(self.names))

    def _session(self, threads: int, *, mem_pattern: bool) -> ort.InferenceSession:
        options = ort.SessionOptions()
        tuning = self.tuning
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = tuning.inter_op_threads
        options.execution_mode = EXECUTION_MODE[tuning.execution_mode]
        options.graph_optimization_level = GRAPH_OPTIMIZATION[tuning.graph_optimization]
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if tuning.spinning else "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "1" if tuning.spinning else "0")
        options.log_severity_level = 3
        options.enable_mem_pattern = mem_pattern
        try:
            return ort.InferenceSession(str(self.path), sess_options=options, providers=self.providers,
                                        provider_options=provider_options(self.providers, tuning))
        except Exception as exc:  # onnxruntime raises several unrelated types here
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{self.path}: not a loadable ONNX model ({first})") from exc

    def _input_size(self, given: tuple[int, int] | None) -> tuple[int, int]:
        imgsz = self.metadata.get("imgsz")
        if isinstance(imgsz, (list, tuple)) and len(imgsz) == 2:
            return int(imgsz[0]), int(imgsz[1])
        if isinstance(imgsz, int):
            return imgsz, imgsz
        h, w = self.input_shape[2:4] if len(self.input_shape) == 4 else (None, None)
        if isinstance(h, int) and isinstance(w, int):
            return h, w
        if given is not None:
            return int(given[0]), int(given[1])
        raise ModelError(f"{self.path}: input size unknown (no 'imgsz' metadata and a dynamic input shape)")

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run the model on one NCHW batch; returns the raw outputs."""
        batch = batch.astype(self.input_dtype, copy=False)
        if self._binding is None:
            return self.session.run(self.output_names, {self.input_name: batch})
        with self._binding_lock:  # one binding: concurrent callers (detect.overlap_threads) take turns
            binding = self._binding  # a GPU provider: one copy in, outputs left where the provider puts them
            binding.clear_binding_inputs()
            binding.clear_binding_outputs()
            binding.bind_cpu_input(self.input_name, np.ascontiguousarray(batch))
            for name in self.output_names:
                binding.bind_output(name)
            self.session.run_with_iobinding(binding)
            return list(binding.copy_outputs_to_cpu())

    def describe(self) -> dict[str, Any]:
        """What benchmarks and logs report about this model."""
        return {
            "path": str(self.path),
            "providers": self.providers,
            "threads": self.session.get_session_options().intra_op_num_threads,
            "tuning": asdict(self.tuning),
            "imgsz": list(self.imgsz),
            "classes": len(self.names),
            "task": self.task,
            "batch_dynamic": self.batch_dynamic,
            "warmup_ms": self.warmup_ms,
        }
