"""Small builders of real events for the API tests (imported by the test modules)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi.testclient import TestClient

from gatewatch.events import CrossingEvent, FlagEvent, PlateRead

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)  # 08:00 in Asia/Ho_Chi_Minh


def crossing(**overrides: Any) -> dict[str, Any]:
    """A valid crossing event as JSON-ready dict (gate g1, camera cam-1, lane-2, entry, truck, at T0)."""
    plate = overrides.pop("plate", None)
    fields: dict[str, Any] = dict(
        gate="g1", camera="cam-1", lane="lane-2", direction="entry", vehicle_class="truck", track_id=7,
        confidence=0.9, frame_time=T0, stream_ts=1.0, frame_index=25, box=(10, 20, 200, 180),
    )
    fields.update(overrides)
    if plate:
        fields["plate"] = PlateRead(text=plate, text_raw=plate, country="VN", confidence=0.88)
    return CrossingEvent(**fields).model_dump(mode="json")


def flag_event(flag_id: str, phase: str, at: datetime = T0, **overrides: Any) -> dict[str, Any]:
    """A valid flag event (empty truck at g1/cam-1 unless overridden)."""
    plate = overrides.pop("plate", None)
    fields: dict[str, Any] = dict(
        flag_id=flag_id, flag_kind="empty_truck", phase=phase, gate="g1", camera="cam-1", lane="lane-2",
        track_id=3, vehicle_class="truck", started_at=T0, frame_time=at, stream_ts=5.0,
        duration_s=(at - T0).total_seconds(), box=(1, 2, 30, 40),
    )
    fields.update(overrides)
    if plate:
        fields["plate"] = PlateRead(text=plate, text_raw=plate, country="VN", confidence=0.8)
    return FlagEvent(**fields).model_dump(mode="json")


def post_events(client: TestClient, key: str, events: list[dict[str, Any]]) -> Any:
    """POST a batch with an API key."""
    return client.post("/api/v1/events", headers={"X-API-Key": key}, json={"events": events})
