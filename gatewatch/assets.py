"""Where models and media live: the asset, model and cache directory settings.

Order for models: ``GATEWATCH_MODEL_DIR``, then ``<asset dir>/weights``, then the writable
cache ``GATEWATCH_CACHE_DIR`` (default ``~/.cache/gatewatch``) where built models
(exports, INT8 quantisations) are written. The asset dir is ``GATEWATCH_ASSET_DIR`` or, as a
fallback, a ``shared/assets`` folder beside the checkout (``../shared/assets`` seen from the
repository root), which is what tests and CI use.
"""

from __future__ import annotations

import os
from pathlib import Path

ASSET_SCHEME = "asset://"
_PACKAGE_ROOT = Path(__file__).resolve().parent


def asset_dir() -> Path | None:
    """The shared asset folder, or ``None`` when none is configured or found."""
    env = os.environ.get("GATEWATCH_ASSET_DIR")
    if env:
        return Path(env).expanduser().resolve()
    for base in (Path.cwd(), _PACKAGE_ROOT):
        for parent in (base, *base.parents):
            candidate = parent / "shared" / "assets"
            if candidate.is_dir():
                return candidate
            candidate = parent.parent / "shared" / "assets"
            if parent.name and candidate.is_dir():
                return candidate
    return None


def model_dirs() -> list[Path]:
    """Folders searched for models, in order (existing ones only)."""
    dirs: list[Path] = []
    env = os.environ.get("GATEWATCH_MODEL_DIR")
    if env:
        dirs.append(Path(env).expanduser().resolve())
    assets = asset_dir()
    if assets is not None:
        dirs.append(assets / "weights")
    dirs.append(cache_dir())
    return [d for d in dirs if d.is_dir()]


def cache_dir() -> Path:
    """Writable folder for models gatewatch builds (exports, quantisations)."""
    env = os.environ.get("GATEWATCH_CACHE_DIR")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "gatewatch"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def resolve_asset(uri: str, base: Path | None = None) -> str:
    """Turn ``asset://videos/x.mp4`` or a path relative to ``base`` into a usable string.

    Stream URLs (``rtsp://``, ``http://`` ...) and webcam indices pass through unchanged.
    """
    if uri.startswith(ASSET_SCHEME):
        root = asset_dir()
        if root is None:
            from gatewatch.errors import ConfigError

            raise ConfigError(
                f"{uri}: no asset folder found; set GATEWATCH_ASSET_DIR to the folder holding 'videos/' and 'weights/'"
            )
        return str(root / uri[len(ASSET_SCHEME):])
    if "://" in uri or uri.isdigit():
        return uri
    path = Path(uri).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return str(path)
