"""What the operator console needs to know about the gate itself (its time zone)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter

from gatewatch.api.deps import OperatorDep, SettingsDep
from gatewatch.api.queries import utc_offset
from gatewatch.api.schemas import GateInfo

router = APIRouter(prefix="/api/v1", tags=["gate"])


@router.get("/gate", response_model=GateInfo)
def gate_info(settings: SettingsDep, _user: OperatorDep) -> GateInfo:
    """The gate's IANA time zone (``GATEWATCH_TIMEZONE``) and its offset from UTC now; the console shows every
    time, and picks "today", in this zone rather than the browser's."""
    now = datetime.now(timezone.utc)
    return GateInfo(timezone=settings.timezone, utc_offset=utc_offset(now, settings.tz))
