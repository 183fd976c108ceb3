"""Evidence images on disk, named by their sha256: ``<root>/ab/abcdef....jpg``.

Example::

    store = EvidenceStore(Path("evidence"))
    sha, created = store.put(jpeg_bytes, "image/jpeg")
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gatewatch.api.exceptions import NotFound
from gatewatch.api.models import Event, Evidence, utcnow

CONTENT_TYPES = {"image/jpeg": ".jpg", "image/png": ".png"}
MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
ROLES = ("crop", "snapshot", "plate")


class UnsupportedImage(ValueError):
    """Content type not allowed, or bytes that do not match it."""


def check_image(data: bytes, content_type: str) -> str:
    """The bare content type when ``data`` is a JPEG or PNG that matches it; raises ``UnsupportedImage``."""
    bare = content_type.split(";")[0].strip().lower()
    if bare not in CONTENT_TYPES:
        raise UnsupportedImage(f"content type {bare or 'none'!r} not accepted; use image/jpeg or image/png")
    if not data.startswith(MAGIC[bare]):
        raise UnsupportedImage(f"body is not a {bare} image (wrong magic bytes)")
    return bare


class EvidenceStore:
    """Content-addressed files under ``root``; writing the same bytes twice is a no-op."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str, content_type: str) -> Path:
        """Where the image with this hash lives."""
        return self.root / sha256[:2] / f"{sha256}{CONTENT_TYPES[content_type]}"

    def put(self, data: bytes, content_type: str) -> str:
        """Write ``data`` atomically (temp file + rename) unless already there; returns its sha256."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha, content_type)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return sha


def attach(session: Session, store: EvidenceStore, event_id: str, role: str, data: bytes,
           content_type: str) -> tuple[Evidence, bool]:
    """Store the image and link it to the event in ``role``; returns (record, created).

    ``created`` is False when the event already had exactly these bytes in that role.
    Raises ``NotFound`` for an unknown event.
    """
    if session.get(Event, event_id) is None:
        raise NotFound(f"event {event_id} not found: send the event before its evidence")
    sha = store.put(data, content_type)
    record = session.get(Evidence, (event_id, role))
    if record is not None and record.sha256 == sha:
        return record, False
    created = record is None
    if record is None:
        record = Evidence(event_id=event_id, role=role)
        session.add(record)
    record.sha256, record.bytes, record.content_type, record.created_at = sha, len(data), content_type, utcnow()
    session.commit()
    return record, created


def find_by_hash(session: Session, sha256: str) -> Evidence | None:
    """Any evidence record with this hash (for its content type), or None."""
    return session.scalars(select(Evidence).where(Evidence.sha256 == sha256).limit(1)).first()
