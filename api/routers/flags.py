"""The flag queue, reviews and evidence images (operators)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import FileResponse, StreamingResponse

from gatewatch.api.board import evidence_ref
from gatewatch.api.deps import OperatorDep, SessionDep, SettingsDep
from gatewatch.api.evidence import find_by_hash
from gatewatch.api.exceptions import Conflict, NotFound
from gatewatch.api.export import (
    EXPORT_RESPONSES,
    FLAG_COLUMNS,
    AcceptH,
    ExportSince,
    ExportUntil,
    FormatQ,
    export_range,
    export_response,
    filename,
    flag_rows,
    pick_format,
    stream_from_db,
)
from gatewatch.api.models import Evidence, Flag
from gatewatch.api.review import evidence_for, flag_events, flag_reviews, get_flag, list_flags, review_flag
from gatewatch.api.schemas import (
    FlagDetail,
    FlagOut,
    FlagPage,
    Offset,
    QueryName,
    ReviewIn,
    ReviewOut,
    age_seconds,
)

router = APIRouter(prefix="/api/v1", tags=["flags"])
FlagKindQ = Annotated[Literal["held", "hold_list", "empty_truck"] | None, Query()]


def _out(flag: Flag, evidence: list[Evidence]) -> FlagOut:
    out = FlagOut.model_validate(flag)
    out.evidence = [evidence_ref(e) for e in evidence]
    return out


@router.get("/flags", response_model=FlagPage)
def get_flags(
    session: SessionDep, _user: OperatorDep,
    status_: Annotated[Literal["open", "confirmed", "dismissed", "all"], Query(alias="status")] = "open",
    flag_kind: FlagKindQ = None,
    gate: QueryName = None,
    camera: QueryName = None,
    # age_seconds(...) builds an Annotated[...] type at import time; FastAPI reads it, mypy cannot
    min_age_s: age_seconds("Started at least this long ago.") = None,  # type: ignore[valid-type]
    max_age_s: age_seconds("Started at most this long ago.") = None,  # type: ignore[valid-type]
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Offset = 0,
) -> FlagPage:
    """Flags, oldest first; by default the open review queue. Each comes with its evidence images."""
    total, rows = list_flags(session, None if status_ == "all" else status_, flag_kind, gate, camera,
                             min_age_s, max_age_s, limit, offset)
    evidence = evidence_for(session, [f.flag_id for f in rows])
    return FlagPage(total=total, limit=limit, offset=offset,
                    items=[_out(f, evidence.get(f.flag_id, [])) for f in rows])


@router.get("/flags/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
def export_flags(
    request: Request, settings: SettingsDep, _user: OperatorDep, since: ExportSince, until: ExportUntil,
    status_: Annotated[Literal["reviewed", "confirmed", "dismissed", "open", "all"], Query(alias="status")] = "reviewed",
    flag_kind: FlagKindQ = None, gate: QueryName = None, camera: QueryName = None,
    format_: FormatQ = None, accept: AcceptH = None,
) -> StreamingResponse:
    """Flags started in a range (default: reviewed ones, confirmed or dismissed) with who reviewed them, when and
    the note; times in the gate's time zone, streamed. Declared before ``/flags/{flag_id}``."""
    tz = settings.tz
    start, end = export_range(since, until, tz)
    fmt = pick_format(format_, accept)
    body = stream_from_db(
        request.app.state.sessionmaker,
        lambda session: flag_rows(session, status_, flag_kind, gate, camera, start, end, tz), FLAG_COLUMNS, fmt)
    return export_response(body, fmt, filename("flags", gate, start, end, tz, fmt))


@router.get("/flags/{flag_id}", response_model=FlagDetail)
def get_one_flag(flag_id: uuid.UUID, session: SessionDep, _user: OperatorDep) -> FlagDetail:
    """One flag with its events and review history."""
    try:
        flag = get_flag(session, str(flag_id))
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    base = _out(flag, evidence_for(session, [flag.flag_id]).get(flag.flag_id, []))
    return FlagDetail(**base.model_dump(), events=flag_events(session, flag.flag_id),
                      reviews=[ReviewOut.model_validate(r) for r in flag_reviews(session, flag.flag_id)])


@router.post("/flags/{flag_id}/review", response_model=ReviewOut,
             responses={404: {"description": "Unknown flag"}, 409: {"description": "Already reviewed"}})
def post_review(flag_id: uuid.UUID, body: ReviewIn, session: SessionDep, user: OperatorDep) -> ReviewOut:
    """Confirm or dismiss an open flag with a note; the audit record is returned. The flag leaves the queue."""
    try:
        _, review = review_flag(session, str(flag_id), user.username, body.action, body.note)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return ReviewOut.model_validate(review)


@router.get("/evidence/{sha256}", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}})
def get_evidence(
    request: Request, sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="Lowercase hex.")],
    session: SessionDep, _user: OperatorDep,
) -> FileResponse:
    """The image with this sha256."""
    record = find_by_hash(session, sha256)
    path = request.app.state.evidence.path(sha256, record.content_type) if record else None
    if record is None or path is None or not path.exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no evidence image {sha256}")
    return FileResponse(path, media_type=record.content_type, headers={
        "Cache-Control": "private, max-age=86400, immutable", "X-Content-Type-Options": "nosniff"})
