"""Evidence images on disk, named by their sha256: ``<root>/ab/abcdef....jpg``.

An upload is kept only when it decodes fully as the image it says it is (Pillow): the header's
size is checked against ``MAX_PIXELS`` before any pixel is decoded, and nothing may follow the
image's end marker. An event's image in a role is written once: other bytes later answer 409.

Example::

    store = EvidenceStore(Path("evidence"))
    bare = check_image(jpeg_bytes, "image/jpeg")   # raises UnsupportedImage / TooManyPixels
    sha = store.put(jpeg_bytes, bare)
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gatewatch.api.exceptions import Conflict, NotFound
from gatewatch.api.models import Event, Evidence, Flag, utcnow

CONTENT_TYPES = {"image/jpeg": ".jpg", "image/png": ".png"}
MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
END_MARKERS = {"image/jpeg": b"\xff\xd9", "image/png": b"\x00\x00\x00\x00IEND\xaeB`\x82"}
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
ROLES = ("crop", "snapshot", "plate")
MAX_PIXELS = 40_000_000  # an 8K UHD frame (7680x4320, 33 MP) fits; decoding needs about 3 bytes a pixel


class UnsupportedImage(ValueError):
    """Content type not allowed, or bytes that do not decode fully as it."""


class TooManyPixels(ValueError):
    """The image's header declares more than ``MAX_PIXELS`` pixels (refused before decoding)."""


def check_image(data: bytes, content_type: str) -> str:
    """The bare content type when ``data`` is exactly one whole JPEG or PNG of that type.

    Raises ``UnsupportedImage`` (other type, wrong magic bytes, bytes after the end marker, an image
    that does not decode) or ``TooManyPixels`` (header over ``MAX_PIXELS``, checked before decoding).
    """
    bare = content_type.split(";")[0].strip().lower()
    if bare not in CONTENT_TYPES:
        raise UnsupportedImage(f"content type {bare or 'none'!r} not accepted; use image/jpeg or image/png")
    if not data.startswith(MAGIC[bare]):
        raise UnsupportedImage(f"body is not a {bare} image (wrong magic bytes)")
    if not data.endswith(END_MARKERS[bare]):
        raise UnsupportedImage(f"body is not one whole {bare} image (no end marker at the end of the bytes)")
    try:
        with Image.open(io.BytesIO(data), formats=[PIL_FORMATS[bare]]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise TooManyPixels(f"image of {width}x{height} pixels exceeds {MAX_PIXELS} pixels")
            image.verify()  # chunk checksums (PNG), structure
        with Image.open(io.BytesIO(data), formats=[PIL_FORMATS[bare]]) as image:
            image.load()  # every pixel decodes; a truncated image raises
    except TooManyPixels:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own bound, far above MAX_PIXELS, checked at open
        raise TooManyPixels(f"image exceeds {MAX_PIXELS} pixels ({exc})"[:300]) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedImage(f"body is not a whole {bare} image ({exc.__class__.__name__}: {exc})"[:300]) from None
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

    ``created`` is False when the event already had exactly these bytes in that role. Raises
    ``NotFound`` for an unknown event and ``Conflict`` when the role already holds other bytes or
    the event's flag row belongs to another gate or camera than the event.
    """
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"event {event_id} not found: send the event before its evidence")
    if event.flag_id is not None:
        flag = session.get(Flag, event.flag_id)
        if flag is not None and (flag.gate, flag.camera) != (event.gate, event.camera):
            raise Conflict("conflict: this event's evidence cannot be attached")
    sha = hashlib.sha256(data).hexdigest()
    record = session.get(Evidence, (event_id, role))
    if record is not None:
        if record.sha256 != sha:
            raise Conflict(f"conflict: event {event_id} already has other {role} evidence; it is never replaced")
        return record, False
    store.put(data, content_type)
    record = Evidence(event_id=event_id, role=role, sha256=sha, bytes=len(data), content_type=content_type,
                      created_at=utcnow())
    session.add(record)
    try:
        session.commit()
    except IntegrityError:  # a parallel upload of the same role won: same bytes is fine, other bytes conflict
        session.rollback()
        record = session.get(Evidence, (event_id, role), populate_existing=True)
        if record is None or record.sha256 != sha:
            raise Conflict(f"conflict: event {event_id} already has other {role} evidence; it is never replaced") \
                from None
        return record, False
    return record, True


def find_by_hash(session: Session, sha256: str) -> Evidence | None:
    """Any evidence record with this hash (for its content type), or None."""
    return session.scalars(select(Evidence).where(Evidence.sha256 == sha256).limit(1)).first()
