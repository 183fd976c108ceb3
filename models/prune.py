"""Cut a recogniser's output layer down to the classes a gate can see (the plate character set).

The last MatMul and Add of the graph (the class projection) keep only the ``keep`` columns, so
the model runs faster and can never emit a character no plate holds. Its softmax over the kept
classes equals the full model's probabilities of those classes renormalised, which is what the
build measures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gatewatch.models.build import BuildResult, BuildUnavailable
from gatewatch.models.onnx import OnnxModel

PRUNE_TOLERANCE = 1e-4
PRUNE_MEASURE = "max abs probability difference vs the full model renormalised"


@dataclass(frozen=True)
class OutputPruneBuild:
    """A copy of a recogniser whose output layer keeps only the ``keep`` classes (in that order).

    Attributes:
        keep: class indices to keep (the CTC blank first).
        probe: input batches to compare the copy with its source on, made only when a build runs.
        input_size: ``(h, w)`` of a line for the sessions that measure the copy.
        tolerance: the largest accepted difference of probabilities.
    """

    keep: tuple[int, ...]
    probe: Callable[[], Sequence[np.ndarray]]
    input_size: tuple[int, int]
    tolerance: float = PRUNE_TOLERANCE

    def build(self, source: Path, out: Path) -> BuildResult:
        try:
            import onnx
            from onnx import numpy_helper
        except ImportError as exc:
            raise BuildUnavailable("pruning the recogniser's output layer needs the 'onnx' package") from exc
        start = time.perf_counter()
        model = onnx.load(str(source))
        graph = model.graph
        last_matmul = next(n for n in reversed(graph.node) if n.op_type == "MatMul")
        last_add = next(n for n in reversed(graph.node) if n.op_type == "Add")
        names = {last_matmul.input[1], *(i for i in last_add.input)}
        index = np.asarray(self.keep)
        for init in graph.initializer:
            if init.name in names:
                array = numpy_helper.to_array(init)
                init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(array[..., index]), init.name))
        graph.output[0].type.tensor_type.shape.dim[2].dim_value = len(self.keep)
        del graph.value_info[:]  # stale intermediate shapes (full class count); ONNX Runtime infers them again
        onnx.save(model, str(out))
        full = OnnxModel(source, providers="cpu", threads=0, warmup=False, input_size=self.input_size)
        pruned = OnnxModel(out, providers="cpu", threads=0, warmup=False, input_size=self.input_size)
        batches = list(self.probe())
        worst = 0.0
        for batch in batches:
            ref = full.run(batch)[0][:, :, index]
            ref = ref / np.maximum(ref.sum(axis=2, keepdims=True), 1e-9)
            worst = max(worst, float(np.abs(pruned.run(batch)[0] - ref).max()))
        return BuildResult(out, source, worst, self.tolerance, PRUNE_MEASURE, len(batches), time.perf_counter() - start)
