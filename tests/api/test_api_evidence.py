"""PUT /api/v1/events/{id}/evidence/{role} and GET /api/v1/evidence/{sha256}, with a real video frame."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from api_helpers import crossing, post_events
from conftest import Env
from fastapi.testclient import TestClient


def _put(client: TestClient, key: str, event_id: str, role: str, data: bytes, ctype: str = "image/jpeg"):  # noqa: ANN202
    return client.put(f"/api/v1/events/{event_id}/evidence/{role}", content=data,
                      headers={"X-API-Key": key, "Content-Type": ctype})


@pytest.fixture
def event_id(client: TestClient, env: Env) -> str:
    event = crossing(plate="51F-123.45")
    assert post_events(client, env.key, [event]).status_code == 200
    return event["event_id"]


def test_upload_is_content_addressed_and_idempotent(client: TestClient, env: Env, event_id: str,
                                                   frame_jpeg: bytes, frame_png: bytes) -> None:
    sha = hashlib.sha256(frame_jpeg).hexdigest()
    first = _put(client, env.key, event_id, "crop", frame_jpeg)
    assert first.status_code == 201 and first.json() == {"sha256": sha, "bytes": len(frame_jpeg)}
    assert _put(client, env.key, event_id, "crop", frame_jpeg).status_code == 200
    assert _put(client, env.gate_key, event_id, "snapshot", frame_jpeg).status_code == 201
    png = _put(client, env.key, event_id, "plate", frame_png, "image/png")
    assert png.status_code == 201 and png.json()["sha256"] == hashlib.sha256(frame_png).hexdigest()
    on_disk = env.settings.evidence_dir / sha[:2] / f"{sha}.jpg"
    assert on_disk.read_bytes() == frame_jpeg
    fetched = client.get(f"/api/v1/evidence/{sha}", headers=env.bearer())
    assert fetched.status_code == 200 and fetched.content == frame_jpeg
    assert fetched.headers["content-type"] == "image/jpeg"


@pytest.mark.parametrize(("role", "ctype", "body", "key_name", "status", "mentions"), [
    pytest.param("crop", "text/plain", "JPEG", "key", 415, "not accepted", id="wrong-content-type"),
    pytest.param("crop", "image/png", "JPEG", "key", 415, "not a image/png", id="bytes-do-not-match-type"),
    pytest.param("crop", "image/jpeg", "BIG", "key", 413, "exceeds", id="oversize"),
    pytest.param("thumbnail", "image/jpeg", "JPEG", "key", 422, "role", id="unknown-role"),
    pytest.param("crop", "image/jpeg", "JPEG", "other_key", 403, "outside this API key's scope", id="other-gate-key"),
    pytest.param("crop", "image/jpeg", "JPEG", None, 401, "missing X-API-Key", id="no-key"),
])
def test_bad_uploads(client: TestClient, env: Env, event_id: str, frame_jpeg: bytes, role: str, ctype: str,
                     body: str, key_name: str | None, status: int, mentions: str) -> None:
    data = frame_jpeg if body == "JPEG" else b"\xff\xd8\xff" + b"0" * env.settings.max_upload_bytes
    headers = {"Content-Type": ctype}
    if key_name:
        headers["X-API-Key"] = getattr(env, key_name)
    r = client.put(f"/api/v1/events/{event_id}/evidence/{role}", content=data, headers=headers)
    assert r.status_code == status, r.text
    assert mentions in str(r.json()["detail"])


def test_unknown_event_is_404(client: TestClient, env: Env, frame_jpeg: bytes) -> None:
    r = _put(client, env.key, str(uuid.uuid4()), "crop", frame_jpeg)
    assert r.status_code == 404 and "send the event before its evidence" in r.json()["detail"]


def test_malformed_event_id_is_422(client: TestClient, env: Env, frame_jpeg: bytes) -> None:
    assert _put(client, env.key, "not-a-uuid", "crop", frame_jpeg).status_code == 422


@pytest.mark.parametrize(("sha", "auth", "status"), [
    pytest.param("0" * 64, "operator", 404, id="unknown-hash"),
    pytest.param("XYZ", "operator", 422, id="malformed-hash"),
    pytest.param("0" * 64, None, 401, id="no-token"),
    pytest.param("0" * 64, "key", 401, id="api-key-is-not-an-operator"),
])
def test_fetch_evidence_refusals(client: TestClient, env: Env, sha: str, auth: str | None, status: int) -> None:
    headers = env.bearer() if auth == "operator" else {"X-API-Key": env.key} if auth == "key" else {}
    assert client.get(f"/api/v1/evidence/{sha}", headers=headers).status_code == status
