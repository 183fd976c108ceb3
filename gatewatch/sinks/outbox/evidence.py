"""The evidence images an event names (vehicle crop, snapshot, plate crop) and how their bytes are recognised."""

from __future__ import annotations

from gatewatch.contract import Event, FlagEvent

Image = tuple[str, bytes, str, str]  # role, bytes, content type, file suffix

_IMAGE_TYPES = ((b"\xff\xd8\xff", "image/jpeg", ".jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", ".png"))


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """``(content type, suffix)`` of JPEG or PNG bytes, else ``None``."""
    for magic, ctype, suffix in _IMAGE_TYPES:
        if data.startswith(magic):
            return ctype, suffix
    return None


def evidence_paths(event: Event) -> list[tuple[str, str]]:
    """``(role, path)`` of the images an event names: crop, snapshot, plate crop."""
    found: list[tuple[str, str | None]] = [("crop", event.crop_path)]
    if isinstance(event, FlagEvent):
        found.append(("snapshot", event.snapshot_path))
    if event.plate is not None:
        found.append(("plate", event.plate.crop_path))
    return [(role, path) for role, path in found if path]
