"""POST /api/v1/events: batches, idempotency, all-or-nothing, scope, flag folding."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import T0, Env, crossing, flag_event, post_events

URL = "/api/v1/events"


def test_batch_is_stored_and_repeat_is_idempotent(client: TestClient, env: Env) -> None:
    events = [crossing(track_id=i, frame_time=T0 + timedelta(minutes=i)) for i in range(5)]
    first = post_events(client, env.key, events)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 5, "duplicates": 0}
    again = post_events(client, env.key, events[:3] + [crossing(track_id=99)])
    assert again.json() == {"accepted": 1, "duplicates": 3}
    page = client.get("/api/v1/crossings", headers=env.bearer(), params={"since": "2026-11-24T00:00:00Z"}).json()
    assert page["total"] == 6


def test_same_event_twice_in_one_batch_is_stored_once(client: TestClient, env: Env) -> None:
    event = crossing()
    assert post_events(client, env.key, [event, event]).json() == {"accepted": 1, "duplicates": 1}


def test_empty_batch_is_fine(client: TestClient, env: Env) -> None:
    assert post_events(client, env.key, []).json() == {"accepted": 0, "duplicates": 0}


def _bad(field: str, value: Any) -> dict[str, Any]:
    event = crossing()
    event[field] = value
    return event


BAD_EVENTS = [
    pytest.param(_bad("confidence", 1.7), "confidence", id="confidence-out-of-range"),
    pytest.param(_bad("track_id", "seven"), "track_id", id="wrong-type"),
    pytest.param(_bad("direction", "sideways"), "direction", id="unknown-direction"),
    pytest.param(_bad("kind", "parade"), "tag", id="unknown-kind"),
    pytest.param({k: v for k, v in crossing().items() if k != "lane"}, "lane", id="missing-field"),
    pytest.param(_bad("frame_time", "yesterday"), "frame_time", id="bad-datetime"),
    pytest.param(_bad("surprise", 1), "surprise", id="extra-field"),
    pytest.param("not-an-object", "JSON object", id="not-an-object"),
]


@pytest.mark.parametrize(("bad", "mentions"), BAD_EVENTS)
def test_batch_with_one_bad_event_is_refused_whole(client: TestClient, env: Env, bad: Any, mentions: str) -> None:
    good = [crossing(track_id=1), crossing(track_id=2)]
    r = post_events(client, env.key, [good[0], bad, good[1]])
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["index"] == 1
    assert mentions in detail["error"]
    assert detail["event_id"] == (bad.get("event_id") if isinstance(bad, dict) else None)
    # nothing half-written: the good events are still new
    assert post_events(client, env.key, good).json() == {"accepted": 2, "duplicates": 0}


@pytest.mark.parametrize(("body", "status", "mentions"), [
    pytest.param(b"{not json", 400, "malformed JSON", id="malformed-json"),
    pytest.param(b"[1, 2]", 422, "events", id="array-body"),
    pytest.param(b'{"evts": []}', 422, "events", id="missing-events"),
    pytest.param(b'{"events": {}}', 422, "events", id="events-not-list"),
    pytest.param(b'{"events": [], "more": 1}', 422, "more", id="extra-top-level-field"),
])
def test_malformed_bodies(client: TestClient, env: Env, body: bytes, status: int, mentions: str) -> None:
    r = client.post(URL, headers={"X-API-Key": env.key, "Content-Type": "application/json"}, content=body)
    assert r.status_code == status, r.text
    assert mentions in str(r.json()["detail"])


def test_batch_over_the_limit_is_413(client: TestClient, env: Env) -> None:
    events = [crossing(track_id=i) for i in range(env.settings.max_batch_events + 1)]
    r = post_events(client, env.key, events)
    assert r.status_code == 413
    assert "exceeds the limit of 50" in r.json()["detail"]


@pytest.mark.parametrize(("key_name", "event", "status", "mentions"), [
    pytest.param("key", crossing(camera="cam-9"), 403, "camera 'cam-9'", id="unknown-camera-for-key"),
    pytest.param("key", crossing(gate="g2"), 403, "gate 'g2'", id="other-gate"),
    pytest.param("other_key", crossing(), 403, "gate 'g1'", id="key-of-another-gate"),
    pytest.param("gate_key", crossing(camera="cam-9"), 200, None, id="gate-wide-key-any-camera"),
    pytest.param("key", flag_event(str(uuid.uuid4()), "start", camera="cam-2"), 403, "cam-2", id="flag-other-camera"),
])
def test_scope_of_keys(client: TestClient, env: Env, key_name: str, event: dict[str, Any], status: int,
                       mentions: str | None) -> None:
    r = post_events(client, getattr(env, key_name), [crossing(track_id=1), event])
    assert r.status_code == status, r.text
    if mentions:
        assert mentions in r.json()["detail"] and "outside this API key's scope" in r.json()["detail"]
        assert post_events(client, env.gate_key, [crossing(track_id=1)]).json()["accepted"] == 1


@pytest.mark.parametrize(("headers", "mentions"), [
    pytest.param({}, "missing X-API-Key", id="no-key"),
    pytest.param({"X-API-Key": "gwk_nope"}, "unknown or revoked", id="unknown-key"),
    pytest.param({"X-API-Key": "REVOKED"}, "unknown or revoked", id="revoked-key"),
    pytest.param({"Authorization": "BEARER"}, "missing X-API-Key", id="operator-token-is-not-a-key"),
])
def test_ingest_needs_a_live_key(client: TestClient, env: Env, headers: dict[str, str], mentions: str) -> None:
    headers = {k: env.revoked_key if v == "REVOKED" else v for k, v in headers.items()}
    if headers.get("Authorization") == "BEARER":
        headers = env.bearer("admin")
    r = client.post(URL, headers=headers, json={"events": [crossing()]})
    assert r.status_code == 401
    assert mentions in r.json()["detail"]


def test_flag_phases_fold_into_one_row_and_events_are_kept(client: TestClient, env: Env) -> None:
    flag_id = str(uuid.uuid4())
    start = flag_event(flag_id, "start")
    update = flag_event(flag_id, "update", T0 + timedelta(seconds=30), plate="29C-123.45")
    end = flag_event(flag_id, "end", T0 + timedelta(seconds=95), details={"fill_ratio": 0.02})
    assert post_events(client, env.key, [update, start]).json() == {"accepted": 2, "duplicates": 0}
    mid = client.get(f"/api/v1/flags/{flag_id}", headers=env.bearer()).json()
    assert (mid["phase"], mid["ended_at"], mid["plate"], mid["events_count"]) == ("update", None, "29C12345", 2)
    assert post_events(client, env.key, [end, start]).json() == {"accepted": 1, "duplicates": 1}
    flag = client.get(f"/api/v1/flags/{flag_id}", headers=env.bearer()).json()
    assert flag["status"] == "open" and flag["phase"] == "end"
    assert flag["duration_s"] == 95.0
    assert flag["ended_at"].startswith("2026-11-24T01:01:35")
    assert flag["details"] == {"fill_ratio": 0.02}
    assert [e["phase"] for e in flag["events"]] == ["start", "update", "end"]
    assert client.get("/api/v1/flags", headers=env.bearer()).json()["total"] == 1


def test_naive_times_are_read_as_utc(client: TestClient, env: Env) -> None:
    event = crossing()
    event["frame_time"] = "2026-11-24T01:30:00"
    flag = flag_event(str(uuid.uuid4()), "start")
    flag["frame_time"], flag["started_at"] = "2026-11-24T01:00:00", "2026-11-24T01:00:00"
    assert post_events(client, env.key, [event, flag]).json() == {"accepted": 2, "duplicates": 0}
    counts = client.get("/api/v1/counts", headers=env.bearer(),
                        params={"since": "2026-11-24T01:00:00Z", "until": "2026-11-24T02:00:00Z"}).json()
    assert counts["total"] == 1
    listed = client.get("/api/v1/flags", headers=env.bearer()).json()["items"]
    assert listed[0]["started_at"].startswith("2026-11-24T01:00:00")
