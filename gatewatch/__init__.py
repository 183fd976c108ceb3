"""gatewatch: the camera side of a smart border gate."""

from __future__ import annotations

__version__ = "0.1.0"
