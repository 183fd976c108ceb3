"""Model supply and ONNX Runtime sessions: resolve by name or path, export, quantise."""

from __future__ import annotations

from gatewatch.models.onnx import OnnxModel, available_providers, choose_providers
from gatewatch.models.registry import KNOWN_MODELS, resolve_model

__all__ = ["KNOWN_MODELS", "OnnxModel", "available_providers", "choose_providers", "resolve_model"]
