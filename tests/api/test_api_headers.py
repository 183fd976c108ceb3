"""Security headers on every response, and no caching of API data, evidence or metrics."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from gatewatch.api.security_headers import DOCS_CSP, PAGE_CSP
from tests.api.helpers import Env, crossing, post_events

PAGE_CSP_EXPECTED = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
                     "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def test_page_policy_is_the_strict_one() -> None:
    assert PAGE_CSP == PAGE_CSP_EXPECTED
    assert "unsafe" not in PAGE_CSP and "frame-ancestors 'none'" in DOCS_CSP


@pytest.mark.parametrize(("method", "path", "auth", "status", "cache", "csp"), [
    ("GET", "/healthz", None, 200, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/api/v1/users/me", "operator", 200, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/api/v1/users/me", None, 401, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/api/v1/flags", "operator", 200, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/api/v1/counts", "operator", 200, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/api/v1/crossings/export?since=2026-11-24T00:00:00&until=2026-11-25T00:00:00", "operator", 200,
     "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/api/v1/flags/export?since=2026-11-24T00:00:00&until=2026-11-25T00:00:00&format=json", "operator", 200,
     "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/api/v1/users", "operator", 403, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/api/v1/holds", "key", 200, "no-store", PAGE_CSP_EXPECTED),
    ("POST", "/api/v1/events", "key", 200, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/api/v1/evidence/EVIDENCE", "operator", 200, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/api/v1/nowhere", None, 404, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/metrics", "admin", 200, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/ui/", None, 200, "no-cache", PAGE_CSP_EXPECTED),
    ("GET", "/ui/js/main.js", None, 200, "no-cache", PAGE_CSP_EXPECTED),
    ("GET", "/openapi.json", None, 200, "no-store", PAGE_CSP_EXPECTED),
    ("GET", "/docs", None, 200, "no-store", "DOCS"),
])
def test_every_response_carries_the_security_headers(
    client: TestClient, env: Env, frame_jpeg: bytes, method: str, path: str, auth: str | None, status: int,
    cache: str, csp: str,
) -> None:
    headers = {"X-API-Key": env.key} if auth == "key" else env.bearer(auth) if auth else {}
    body = {"events": [crossing()]} if path == "/api/v1/events" else None
    if "EVIDENCE" in path:
        event = crossing()
        assert post_events(client, env.key, [event]).status_code == 200
        put = client.put(f"/api/v1/events/{event['event_id']}/evidence/crop", content=frame_jpeg,
                         headers={"X-API-Key": env.key, "Content-Type": "image/jpeg"})
        assert put.status_code == 201
        path = path.replace("EVIDENCE", hashlib.sha256(frame_jpeg).hexdigest())
    r = client.request(method, path, headers=headers, json=body)
    assert r.status_code == status, r.text
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == cache
    assert r.headers["Content-Security-Policy"] == (DOCS_CSP if csp == "DOCS" else csp)
    assert r.headers.get_list("Content-Security-Policy") == [r.headers["Content-Security-Policy"]]


def test_evidence_upload_answer_is_not_cached(client: TestClient, env: Env, frame_jpeg: bytes) -> None:
    event = crossing()
    assert post_events(client, env.key, [event]).status_code == 200
    put = client.put(f"/api/v1/events/{event['event_id']}/evidence/crop", content=frame_jpeg,
                     headers={"X-API-Key": env.key, "Content-Type": "image/jpeg"})
    assert put.status_code == 201 and put.headers["Cache-Control"] == "no-store"


def test_an_unhandled_error_answers_500_with_the_security_headers(tmp_path, caplog) -> None:
    """A bug in a route still answers with the headers (the error is logged, its text is not sent)."""
    from gatewatch.api.app import create_app
    from gatewatch.api.settings import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/gw.db", evidence_dir=tmp_path / "evidence",
                              jwt_secret="test-secret-" + "x" * 32))

    def broken() -> None:
        raise RuntimeError("secret detail of a bug")

    app.add_api_route("/api/v1/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/broken")
    assert r.status_code == 500
    assert "secret detail" not in r.text
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Security-Policy"] == PAGE_CSP_EXPECTED
    app.state.engine.dispose()
