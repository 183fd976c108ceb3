"""GET /api/v1/flags, GET /api/v1/flags/{id}, POST /api/v1/flags/{id}/review: the review queue and its audit."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import T0, Env, flag_event, post_events

NOW = datetime.now(timezone.utc)


@pytest.fixture
def flags(client: TestClient, env: Env) -> dict[str, str]:
    """Three open flags: empty truck at g1 (old), hold-list hit at g1 (recent), held at g2."""
    ids = {name: str(uuid.uuid4()) for name in ("empty", "hold", "held")}
    recent = NOW - timedelta(minutes=5)
    batch = [
        flag_event(ids["empty"], "start"),
        flag_event(ids["hold"], "start", recent, started_at=recent, flag_kind="hold_list", plate="51F-123.45",
                   camera="cam-1", duration_s=0.0),
    ]
    assert post_events(client, env.key, batch).status_code == 200
    later = T0 + timedelta(minutes=1)
    other = flag_event(ids["held"], "start", later, started_at=later, gate="g2", flag_kind="held")
    assert post_events(client, env.other_key, [other]).status_code == 200
    return ids


@pytest.mark.parametrize(("params", "expected"), [
    pytest.param({}, ["empty", "held", "hold"], id="open-queue-oldest-first"),
    pytest.param({"flag_kind": "hold_list"}, ["hold"], id="kind"),
    pytest.param({"gate": "g2"}, ["held"], id="gate"),
    pytest.param({"min_age_s": 3600}, ["empty", "held"], id="older-than-an-hour"),
    pytest.param({"max_age_s": 3600}, ["hold"], id="younger-than-an-hour"),
    pytest.param({"status": "confirmed"}, [], id="status"),
    pytest.param({"status": "all", "camera": "cam-1"}, ["empty", "held", "hold"], id="all-statuses-camera"),
])
def test_list_flags(client: TestClient, env: Env, flags: dict[str, str], params: dict[str, object],
                    expected: list[str]) -> None:
    r = client.get("/api/v1/flags", headers=env.bearer(), params=params)
    assert r.status_code == 200, r.text
    by_id = {v: k for k, v in flags.items()}
    assert [by_id[item["flag_id"]] for item in r.json()["items"]] == expected


@pytest.mark.parametrize(("params", "status"), [
    pytest.param({"status": "pending"}, 422, id="unknown-status"),
    pytest.param({"flag_kind": "speeding"}, 422, id="unknown-kind"),
    pytest.param({"min_age_s": -5}, 422, id="negative-age"),
    pytest.param({"limit": 1000}, 422, id="limit"),
])
def test_list_flags_bad_params(client: TestClient, env: Env, params: dict[str, object], status: int) -> None:
    assert client.get("/api/v1/flags", headers=env.bearer(), params=params).status_code == status


@pytest.mark.parametrize(("role", "action", "status_after"), [
    ("operator", "confirm", "confirmed"), ("admin", "dismiss", "dismissed"),
])
def test_review_leaves_the_queue_and_is_audited(client: TestClient, env: Env, flags: dict[str, str], role: str,
                                               action: str, status_after: str) -> None:
    flag_id = flags["hold"]
    r = client.post(f"/api/v1/flags/{flag_id}/review", headers=env.bearer(role),
                    json={"action": action, "note": "checked at the booth"})
    assert r.status_code == 200, r.text
    audit = r.json()
    assert audit["reviewer"] == ("admin" if role == "admin" else "olga") and audit["action"] == action
    assert audit["before"]["status"] == "open" and audit["after"]["status"] == status_after
    assert audit["after"]["review_note"] == "checked at the booth"
    queue = client.get("/api/v1/flags", headers=env.bearer()).json()
    assert flag_id not in [f["flag_id"] for f in queue["items"]] and queue["total"] == 2
    detail = client.get(f"/api/v1/flags/{flag_id}", headers=env.bearer()).json()
    assert detail["status"] == status_after and len(detail["reviews"]) == 1
    again = client.post(f"/api/v1/flags/{flag_id}/review", headers=env.bearer(), json={"action": "dismiss"})
    assert again.status_code == 409 and "already" in again.json()["detail"]


def test_events_after_review_do_not_reopen(client: TestClient, env: Env, flags: dict[str, str]) -> None:
    flag_id = flags["empty"]
    client.post(f"/api/v1/flags/{flag_id}/review", headers=env.bearer(), json={"action": "dismiss"})
    post_events(client, env.key, [flag_event(flag_id, "end", T0 + timedelta(seconds=60))])
    flag = client.get(f"/api/v1/flags/{flag_id}", headers=env.bearer()).json()
    assert flag["status"] == "dismissed" and flag["duration_s"] == 60.0


@pytest.mark.parametrize(("flag_id", "body", "auth", "status", "mentions"), [
    pytest.param("UNKNOWN", {"action": "confirm"}, "operator", 404, "not found", id="unknown-flag"),
    pytest.param("hold", {"action": "approve"}, "operator", 422, "action", id="bad-action"),
    pytest.param("hold", {"action": "confirm", "note": 5}, "operator", 422, "note", id="note-wrong-type"),
    pytest.param("hold", {"action": "confirm", "who": "x"}, "operator", 422, "who", id="extra-field"),
    pytest.param("hold", {"action": "confirm"}, None, 401, "bearer token required", id="no-token"),
    pytest.param("hold", {"action": "confirm"}, "key", 401, "bearer token required", id="api-key-cannot-review"),
    pytest.param("not-a-uuid", {"action": "confirm"}, "operator", 422, "uuid", id="malformed-id"),
])
def test_review_refusals(client: TestClient, env: Env, flags: dict[str, str], flag_id: str, body: object,
                         auth: str | None, status: int, mentions: str) -> None:
    target = flags.get(flag_id, str(uuid.uuid4()) if flag_id == "UNKNOWN" else flag_id)
    headers = env.bearer() if auth == "operator" else {"X-API-Key": env.key} if auth == "key" else {}
    r = client.post(f"/api/v1/flags/{target}/review", headers=headers, json=body)
    assert r.status_code == status, r.text
    assert mentions in str(r.json()["detail"])


def test_malformed_json_review_is_422(client: TestClient, env: Env, flags: dict[str, str]) -> None:
    r = client.post(f"/api/v1/flags/{flags['hold']}/review", content=b"{oops",
                    headers={**env.bearer(), "Content-Type": "application/json"})
    assert r.status_code == 422 and "json" in str(r.json()["detail"]).lower()


def test_flag_detail_unknown_and_unauthenticated(client: TestClient, env: Env) -> None:
    assert client.get(f"/api/v1/flags/{uuid.uuid4()}", headers=env.bearer()).status_code == 404
    assert client.get(f"/api/v1/flags/{uuid.uuid4()}").status_code == 401
    assert client.get("/api/v1/flags").status_code == 401
