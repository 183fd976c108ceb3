"""Where derived models are cached, named by what they depend on, so a stale one is never reused.

A cached file is ``<cache>/<source stem>_<tag>_<hash>.onnx``; the hash covers the source's
name and size and the recipe (calibration, format, and the OpenCV and ONNX Runtime versions
where they shape the result: :func:`toolchain`), so a new source, recipe or toolchain builds
a new file.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import cv2
import onnxruntime

from gatewatch.assets import cache_dir
from gatewatch.models.build import ModelBuild, build_checked

log = logging.getLogger(__name__)


def toolchain() -> str:
    """The OpenCV and ONNX Runtime versions, for recipes whose result depends on them.

    OpenCV draws synthetic calibration images (5.0 redrew every Hershey font) and ONNX
    Runtime's quantiser picks the ranges and writes the QDQ graph.
    """
    return f"opencv-{cv2.__version__}:onnxruntime-{onnxruntime.__version__}"


def content_key(path: Path) -> str:
    """The first 10 hex digits of the SHA-1 of a file's bytes: two different models never share a derived file,
    whatever their names (Ultralytics names every export ``best.onnx``)."""
    digest = hashlib.sha1()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:10]


def derived_path(source: Path, tag: str, recipe: str) -> Path:
    """Where the model derived from ``source`` by ``recipe`` is cached: ``<cache>/<stem>_<tag>_<hash>.onnx``."""
    key = hashlib.sha1(f"{source.stat().st_size}:{source.name}:{recipe}".encode()).hexdigest()[:10]
    return cache_dir() / f"{source.stem}_{tag}_{key}.onnx"


def cached_build(builder: ModelBuild, source: Path, tag: str, recipe: str) -> Path:
    """The cached model derived from ``source``; built and gated (:func:`build_checked`) on first use.

    Raises ``ModelError`` when it cannot be built here or is over its tolerance (nothing is cached then).
    """
    target = derived_path(source, tag, recipe)
    if target.is_file():
        return target
    result = build_checked(builder, source, target)
    log.info("built %s", result.summary())
    return result.path
