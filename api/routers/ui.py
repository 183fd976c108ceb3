"""The operator console: one static HTML page plus ES modules and CSS under ``api/static`` (no build, no CDN).

Only files under ``api/static`` with a known suffix are served (``index.html`` at ``/ui/``, ``app.css``,
``js/**/*.js`` as ``text/javascript`` so the browser runs them as modules); names with ``..``, hidden
parts or other characters are 404 before the file system is touched.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, RedirectResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8"}
SAFE_NAME = re.compile(r"^(?:[a-z0-9][a-z0-9_-]*/){0,3}[a-z0-9][a-z0-9_.-]{0,63}$")

router = APIRouter(tags=["ui"], include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    """Send browsers to the console."""
    return RedirectResponse("/ui/")


def static_file(name: str) -> Path | None:
    """The file under ``STATIC`` that ``/ui/<name>`` names, or None (unknown, unsafe name or other suffix)."""
    name = name or "index.html"
    if len(name) > 200 or ".." in name or not SAFE_NAME.match(name):
        return None
    path = (STATIC / name).resolve()
    if path.suffix not in MEDIA_TYPES or not path.is_relative_to(STATIC) or not path.is_file():
        return None
    return path


@router.get("/ui/{name:path}")
def ui_file(name: str) -> FileResponse:
    """The page shell and its assets; they hold no data (every data call needs a token)."""
    path = static_file(name)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no page {name[:200]!r}")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})
