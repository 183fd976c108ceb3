"""Model supply and ONNX Runtime sessions: resolve by name or path, and build derived models
(export, INT8, pruned) through one gated builder interface. Never imports ``gatewatch.vision``."""

from __future__ import annotations

from gatewatch.models.build import BuildResult, BuildUnavailable, ModelBuild, build_checked
from gatewatch.models.onnx import OnnxModel, available_providers, choose_providers
from gatewatch.models.registry import KNOWN_MODELS, resolve_model

__all__ = [
    "KNOWN_MODELS", "BuildResult", "BuildUnavailable", "ModelBuild", "OnnxModel", "available_providers",
    "build_checked", "choose_providers", "resolve_model",
]
