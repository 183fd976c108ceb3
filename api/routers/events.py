"""Edge-box ingest: event batches and evidence images (``X-API-Key``)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Request, Response, status
from starlette.concurrency import run_in_threadpool

from gatewatch.api.auth import key_allows
from gatewatch.api.deps import EdgeKeyDep, SessionDep
from gatewatch.api.evidence import ROLES, TooManyPixels, UnsupportedImage, attach, check_image
from gatewatch.api.exceptions import Conflict, EventConflict, InvalidEvent, NotFound, OutOfScope
from gatewatch.api.ingest import store_batch, validate_batch
from gatewatch.api.models import Event
from gatewatch.api.schemas import EvidenceStored, IngestResult
from gatewatch.contract import event_adapter

router = APIRouter(prefix="/api/v1/events", tags=["ingest"])

# The body is parsed by hand (per-event errors name the event's index), so its schema is given here:
# the contract's event models (``gatewatch.contract``), their definitions added to the OpenAPI components
# as ``Edge*``.
_EVENT = event_adapter.json_schema(ref_template="#/components/schemas/Edge{model}")
EVENT_SCHEMAS: dict[str, Any] = {f"Edge{name}": schema for name, schema in _EVENT.pop("$defs").items()}
BATCH_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["events"], "additionalProperties": False,
    "properties": {"events": {"type": "array", "items": {
        **_EVENT, "description": "A gatewatch.contract CrossingEvent or FlagEvent (discriminated on 'kind'); "
                       "the edge-local paths (crop_path, snapshot_path) are ignored and never stored.",
    }}},
}
INVALID = {"description": "Invalid event: nothing stored. Body: {'detail': {'index', 'event_id', 'error'}}"}
CONFLICT = {"description": "An event_id already stored with other content, or a flag_id of another gate, camera or "
                           "kind: nothing stored. Body: {'detail': {'index', 'event_id', 'error': 'conflict: ...'}}"}


def _parse_body(raw: bytes, max_events: int) -> list[Any]:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed JSON: {exc}") from None
    except RecursionError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "malformed JSON: nested too deep") from None
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise InvalidEvent(None, None, "body must be a JSON object {\"events\": [...]}")
    extra = set(body) - {"events"}
    if extra:
        raise InvalidEvent(None, None, f"unexpected field(s) in body: {', '.join(sorted(extra))}")
    events = body["events"]
    if len(events) > max_events:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"batch of {len(events)} events exceeds the limit of {max_events}")
    return events


@router.post(
    "", response_model=IngestResult, openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": BATCH_SCHEMA}}}},
    responses={400: {"description": "Malformed JSON"}, 401: {"description": "Missing or unknown key"},
               403: {"description": "Event outside the key's gate/camera"}, 413: {"description": "Batch too big"},
               409: CONFLICT, 422: INVALID},
)
async def ingest(request: Request, session: SessionDep, key: EdgeKeyDep) -> IngestResult:
    """Store a batch of events all or nothing; an event already stored counts as a duplicate."""
    app = request.app
    metrics = app.state.metrics
    try:
        items = _parse_body(await request.body(), app.state.settings.max_batch_events)
        events = validate_batch(items, key)
        outcome = await run_in_threadpool(store_batch, session, events)
    except InvalidEvent as exc:
        metrics.batches.labels("invalid").inc()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.detail()) from None
    except EventConflict as exc:
        metrics.batches.labels("conflict").inc()
        raise HTTPException(status.HTTP_409_CONFLICT, exc.detail()) from None
    except OutOfScope as exc:
        metrics.batches.labels("forbidden").inc()
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except HTTPException:
        metrics.batches.labels("refused").inc()
        raise
    metrics.batches.labels("ok").inc()
    for kind, n in outcome.by_kind.items():
        metrics.events.labels(kind).inc(n)
    metrics.duplicates.inc(outcome.duplicates)
    return IngestResult(accepted=outcome.accepted, duplicates=outcome.duplicates)


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"image of {declared} bytes exceeds {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"image exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.put(
    "/{event_id}/evidence/{role}", response_model=EvidenceStored,
    openapi_extra={"requestBody": {"required": True, "content": {
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}}}}},
    responses={201: {"description": "Stored for the first time", "model": EvidenceStored},
               404: {"description": "Unknown event"}, 409: {"description": "The role holds other bytes"},
               413: {"description": "Too many bytes or pixels"},
               415: {"description": "Not one whole JPEG or PNG of the declared type"}},
)
async def put_evidence(
    request: Request, response: Response, session: SessionDep, key: EdgeKeyDep,
    event_id: uuid.UUID, role: Annotated[str, Path(pattern="^(crop|snapshot|plate)$", description=str(ROLES))],
    content_type: Annotated[str, Header()] = "",
) -> EvidenceStored:
    """Attach an image to an event: 201 the first time, 200 when these bytes were already there.

    The bytes must decode fully as the declared JPEG or PNG (at most ``MAX_PIXELS``); an image in a
    role is never replaced (other bytes: 409).
    """
    settings = request.app.state.settings
    data = await _read_capped(request, settings.max_upload_bytes)
    event = session.get(Event, str(event_id))
    if event is not None and not key_allows(key, event.gate, event.camera):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"event {event_id} is for gate {event.gate!r} camera "
                            f"{event.camera!r}, outside this API key's scope")
    try:
        bare = await run_in_threadpool(check_image, data, content_type)
    except UnsupportedImage as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(exc)) from None
    except TooManyPixels as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    try:
        record, created = await run_in_threadpool(
            attach, session, request.app.state.evidence, str(event_id), role, data, bare)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    request.app.state.metrics.evidence_bytes.inc(len(data))
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return EvidenceStored(sha256=record.sha256, bytes=record.bytes)
