"""The hold list: edge boxes fetch it (``X-API-Key``); operators edit it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from gatewatch.api.deps import EdgeKeyDep, OperatorDep, SessionDep, SettingsDep
from gatewatch.api.exceptions import Conflict, NotFound
from gatewatch.api.models import Hold
from gatewatch.api.queries import as_utc
from gatewatch.api.review import active_holds, add_hold, is_active, list_holds, remove_hold
from gatewatch.api.schemas import HoldIn, HoldOut, QueryName
from gatewatch.contract import INT32_MAX, PLATE_MAX, HoldEntry, HoldsForEdge

router = APIRouter(prefix="/api/v1/holds", tags=["holds"])


def _out(hold: Hold) -> HoldOut:
    return HoldOut(id=hold.id, plate=hold.plate, gate=hold.gate, reason=hold.reason, until=hold.until,
                   added_by=hold.added_by, added_at=hold.added_at, removed_at=hold.removed_at,
                   removed_by=hold.removed_by, active=is_active(hold))


@router.get("", response_model=HoldsForEdge)
def edge_holds(session: SessionDep, key: EdgeKeyDep) -> HoldsForEdge:
    """Active entries for the key's gate (and all-gates entries), for the edge box's hold-list flagger
    (the contract's ``HoldsForEdge``, parsed on the edge with the same model)."""
    return HoldsForEdge(holds=[HoldEntry.model_validate(h) for h in active_holds(session, key.gate)])


@router.get("/entries", response_model=list[HoldOut])
def get_entries(
    session: SessionDep, _user: OperatorDep,
    gate: QueryName = None,
    active: Annotated[bool, Query(description="Only entries in force now.")] = True,
) -> list[HoldOut]:
    """Hold-list entries with who added them, why and until when."""
    return [_out(h) for h in list_holds(session, gate, active)]


@router.post("/entries", response_model=HoldOut, status_code=status.HTTP_201_CREATED)
def post_entry(body: HoldIn, session: SessionDep, settings: SettingsDep, user: OperatorDep) -> HoldOut:
    """Put a plate on the hold list (stored as its key, the one the edge matches on); an ``until`` without an
    offset is read in the gate's zone (``GATEWATCH_TIMEZONE``), like query times."""
    plate = body.plate_normalised()
    if len(plate) < 2:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"plate {body.plate!r} has too few characters")
    if len(plate) > PLATE_MAX:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"plate {body.plate!r} has more than {PLATE_MAX} "
                            "characters once normalised")
    try:
        until = as_utc(body.until, settings.tz) if body.until is not None else None
        return _out(add_hold(session, plate, body.reason, until, body.gate, user.username))
    except Conflict as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.delete("/entries/{hold_id}", response_model=HoldOut)
def delete_entry(hold_id: Annotated[int, Path(ge=1, le=INT32_MAX)], session: SessionDep, user: OperatorDep) -> HoldOut:
    """Take an entry off the list (the record is kept, marked removed)."""
    try:
        return _out(remove_hold(session, hold_id, user.username))
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
