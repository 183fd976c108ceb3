"""The operator review page: one static HTML file plus a little JS and CSS (no build, no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, RedirectResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
FILES = {"": ("index.html", "text/html; charset=utf-8"), "app.js": ("app.js", "text/javascript; charset=utf-8"),
         "app.css": ("app.css", "text/css; charset=utf-8")}

router = APIRouter(tags=["ui"], include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    """Send browsers to the review page."""
    return RedirectResponse("/ui/")


@router.get("/ui/{name:path}")
def ui_file(name: str) -> FileResponse:
    """The page shell and its assets; they hold no data (every data call needs a token)."""
    if name not in FILES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no page {name!r}")
    filename, media_type = FILES[name]
    return FileResponse(STATIC / filename, media_type=media_type, headers={"Cache-Control": "no-cache"})
