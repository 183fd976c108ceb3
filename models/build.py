"""One interface for every model derived from another, and the tolerance gate it passes.

A derived model at the gate is a checkpoint exported to ONNX, an INT8 copy of a detector or
plate recogniser, or a recogniser cut down to the plate character set. Its build writes the
new file and measures how far it moves from its source (``BuildResult.error``, in the unit
``measure`` names). :func:`build_checked` is the one gate: the file is written under a
temporary name beside its target and moved into place only when the error is within the
tolerance; otherwise the temporary file is deleted and ``ModelError`` names the figure and the
limit, so a model over tolerance is never cached or used.

Policy: a build never falls back by itself. A caller that has a safe model to fall back to (the
plate recogniser runs its fp32 or full model when its INT8 or pruned copy cannot be had) catches
``ModelError`` and logs a warning; everywhere else the error stops the start.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from gatewatch.errors import ModelError


class BuildUnavailable(ModelError):
    """A build this install cannot run: a package it needs (``onnx``, ``torch``) is missing."""


@dataclass(frozen=True)
class BuildResult:
    """A derived model file and how far it is from its source.

    Attributes:
        path: the built file.
        source: the model or checkpoint it was derived from.
        error: the build's figure of merit (see ``measure``); lower is closer to the source.
        tolerance: the largest ``error`` that is accepted.
        measure: what ``error`` is, in words (it names the figure in the gate's message).
        samples: how many inputs the build calibrated or compared on.
        seconds: build time.
    """

    path: Path
    source: Path
    error: float
    tolerance: float
    measure: str
    samples: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """``error`` is within ``tolerance`` (a NaN error never is)."""
        return self.error <= self.tolerance

    def check(self) -> BuildResult:
        """This result, or ``ModelError`` naming the figure and the limit when over tolerance."""
        if not self.ok:
            raise ModelError(
                f"{self.path.name} (from {self.source.name}): {self.measure} {self.error:.3g} is over the "
                f"tolerance {self.tolerance:.3g}; the model is not used"
            )
        return self

    def summary(self) -> str:
        """One line for logs and the CLI."""
        return (
            f"{self.source} -> {self.path}: {self.measure} {self.error:.3g} (tolerance {self.tolerance:.3g}) "
            f"on {self.samples} inputs in {self.seconds:.1f} s"
        )


class ModelBuild(Protocol):
    """A recipe that derives one model file from another and measures the result."""

    def build(self, source: Path, out: Path) -> BuildResult:
        """Write the derived model to ``out`` and measure it against ``source``; no gating here."""
        ...


def build_checked(builder: ModelBuild, source: str | Path, out: str | Path) -> BuildResult:
    """Run ``builder`` and keep its file at ``out`` only when it is within tolerance.

    Raises ``ModelError`` (``BuildUnavailable`` when a package is missing) and leaves nothing
    behind when the build fails or is over tolerance; an earlier file at ``out`` is kept then.
    """
    source, out = Path(source), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{out.stem}.", suffix=f".tmp{out.suffix}", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        result = replace(builder.build(source, tmp), path=out).check()
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return result
