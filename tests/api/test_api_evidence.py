"""PUT /api/v1/events/{id}/evidence/{role} and GET /api/v1/evidence/{sha256}, with a real video frame."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import Env, crossing, post_events


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


def _bilevel_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of ``width`` x ``height`` white pixels (small on the wire, huge decoded)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    squeeze = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    idat = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


HTML = b"<html><script>alert(document.cookie)</script></html>"


@pytest.mark.parametrize(("body", "ctype", "status", "mentions"), [
    pytest.param("PNG-9000x9000", "image/png", 413, "9000x9000 pixels exceeds 40000000", id="81-megapixels"),
    pytest.param("PNG-MAGIC+HTML", "image/png", 415, "not one whole image/png", id="png-header-then-html"),
    pytest.param("PNG+HTML", "image/png", 415, "not one whole image/png", id="png-then-html"),
    pytest.param("JPEG+HTML", "image/jpeg", 415, "not one whole image/jpeg", id="jpeg-then-html"),
    pytest.param("JPEG-HALF", "image/jpeg", 415, "not one whole image/jpeg", id="truncated-jpeg"),
    pytest.param("JPEG-GARBLED-HEADER", "image/jpeg", 415, "not a whole image/jpeg", id="garbled-jpeg-header"),
    pytest.param("PNG-BAD-CRC", "image/png", 415, "not a whole image/png", id="png-bad-checksum"),
    pytest.param("PNG-20000x20000", "image/png", 413, "(400000000 pixels)", id="pixel-bomb"),
])
def test_images_that_do_not_decode_whole_are_refused(client: TestClient, env: Env, event_id: str,
                                                     frame_jpeg: bytes, frame_png: bytes, body: str, ctype: str,
                                                     status: int, mentions: str) -> None:
    data = {
        "PNG-MAGIC+HTML": frame_png[:8] + HTML,
        "PNG+HTML": frame_png + HTML,
        "JPEG+HTML": frame_jpeg + HTML,
        "JPEG-HALF": frame_jpeg[: len(frame_jpeg) // 2],
        "JPEG-GARBLED-HEADER": frame_jpeg[:3] + HTML + frame_jpeg[3 + len(HTML):],
        "PNG-BAD-CRC": frame_png[:40] + bytes([frame_png[40] ^ 0xFF]) + frame_png[41:],
        "PNG-20000x20000": _bilevel_png(20000, 20000),
        "PNG-9000x9000": _bilevel_png(9000, 9000),
    }[body]
    assert len(data) < env.settings.max_upload_bytes
    r = _put(client, env.key, event_id, "crop", data, ctype)
    assert r.status_code == status, r.text
    assert mentions in r.json()["detail"]
    sha = hashlib.sha256(data).hexdigest()
    assert client.get(f"/api/v1/evidence/{sha}", headers=env.bearer()).status_code == 404
    assert not list(env.settings.evidence_dir.glob(f"*/{sha}.*"))
    # the role is still free for the real image
    assert _put(client, env.key, event_id, "crop", frame_jpeg).status_code == 201


def test_evidence_is_never_replaced(client: TestClient, env: Env, event_id: str, frame_jpeg: bytes,
                                    frame_png: bytes) -> None:
    first = _put(client, env.key, event_id, "snapshot", frame_jpeg)
    assert first.status_code == 201
    other = _put(client, env.key, event_id, "snapshot", frame_png, "image/png")
    assert other.status_code == 409, other.text
    assert "never replaced" in other.json()["detail"]
    assert _put(client, env.key, event_id, "snapshot", frame_jpeg).status_code == 200
    with env.app.state.sessionmaker() as session:
        from gatewatch.api.models import Evidence

        stored = session.get(Evidence, (event_id, "snapshot"))
        assert (stored.sha256, stored.content_type) == (hashlib.sha256(frame_jpeg).hexdigest(), "image/jpeg")


def test_served_images_carry_their_type_and_nosniff(client: TestClient, env: Env, event_id: str,
                                                    frame_png: bytes) -> None:
    assert _put(client, env.key, event_id, "plate", frame_png, "image/png").status_code == 201
    r = client.get(f"/api/v1/evidence/{hashlib.sha256(frame_png).hexdigest()}", headers=env.bearer())
    assert r.status_code == 200 and r.content == frame_png
    assert (r.headers["content-type"], r.headers["x-content-type-options"]) == ("image/png", "nosniff")


def test_evidence_cannot_reach_a_flag_of_another_gate(client: TestClient, env: Env, frame_jpeg: bytes) -> None:
    """An event row stored before folds were checked (gate g2 naming g1's flag) gets no evidence onto that flag."""
    from gatewatch.api.models import Event
    from tests.api.helpers import T0, flag_event

    flag_id = str(uuid.uuid4())
    assert post_events(client, env.key, [flag_event(flag_id, "start")]).status_code == 200
    foreign = str(uuid.uuid4())
    with env.app.state.sessionmaker() as session:
        session.add(Event(event_id=foreign, kind="flag", gate="g2", camera="cam-1", frame_time=T0, received_at=T0,
                          flag_id=flag_id, phase="update", payload={}))
        session.commit()
    r = _put(client, env.other_key, foreign, "snapshot", frame_jpeg)
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == "conflict: this event's evidence cannot be attached"
    flag = client.get(f"/api/v1/flags/{flag_id}", headers=env.bearer()).json()
    assert flag["evidence"] == []
