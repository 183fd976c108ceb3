"""Sign-in, users, API keys, holds, health, metrics, docs: happy paths and refusals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import Env, crossing, post_events


@pytest.mark.parametrize(("username", "password", "status"), [
    ("olga", "operator-password", 200), ("olga", "wrong-password", 401), ("nobody", "whatever-pw", 401),
])
def test_sign_in(client: TestClient, username: str, password: str, status: int) -> None:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == status, r.text
    if status == 200:
        token = r.json()["access_token"]
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me == {**me, "username": "olga", "role": "operator"} and "password_hash" not in me
    else:
        assert r.json()["detail"] == "wrong username or password"


def test_sign_in_needs_form_fields(client: TestClient) -> None:
    assert client.post("/api/v1/auth/token", json={"username": "olga"}).status_code == 422


def test_expired_and_forged_tokens(client: TestClient, env: Env) -> None:
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    expired = jwt.encode({"sub": "olga", "role": "operator", "exp": past}, env.app.state.jwt_secret, "HS256")
    forged = jwt.encode({"sub": "admin", "role": "admin", "exp": past + timedelta(days=1)}, "guess", "HS256")
    for token in (expired, forged):
        r = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["detail"] == "invalid or expired token"


ADMIN_ROUTES = [
    ("GET", "/api/v1/users", None),
    ("POST", "/api/v1/users", {"username": "u-NEW", "password": "password-1", "role": "operator"}),
    ("GET", "/api/v1/keys", None),
    ("POST", "/api/v1/keys", {"gate": "g9", "camera": "cam-1"}),
    ("DELETE", "/api/v1/keys/999999", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
@pytest.mark.parametrize(("auth", "status"), [(None, 401), ("key", 401), ("operator", 403)])
def test_admin_routes_refuse_others(client: TestClient, env: Env, method: str, path: str, body: object,
                                    auth: str | None, status: int) -> None:
    headers = env.bearer() if auth == "operator" else {"X-API-Key": env.key} if auth == "key" else {}
    r = client.request(method, path, headers=headers, json=body)
    assert r.status_code == status
    if status == 403:
        assert r.json()["detail"] == "admin role required (you are 'operator')"


def test_admin_manages_users(client: TestClient, env: Env) -> None:
    name = f"u-{uuid.uuid4().hex[:8]}"
    r = client.post("/api/v1/users", headers=env.bearer("admin"),
                    json={"username": name, "password": "password-1", "role": "operator"})
    assert r.status_code == 201 and r.json()["username"] == name
    dup = client.post("/api/v1/users", headers=env.bearer("admin"),
                      json={"username": name, "password": "password-1"})
    assert dup.status_code == 409 and "already exists" in dup.json()["detail"]
    assert name in [u["username"] for u in client.get("/api/v1/users", headers=env.bearer("admin")).json()]


@pytest.mark.parametrize("body", [
    {"username": "x", "password": "short"}, {"username": "x", "password": "password-1", "role": "root"},
    {"username": "", "password": "password-1"}, {"password": "password-1"},
])
def test_bad_user_bodies(client: TestClient, env: Env, body: dict[str, str]) -> None:
    assert client.post("/api/v1/users", headers=env.bearer("admin"), json=body).status_code == 422


def test_admin_manages_keys(client: TestClient, env: Env) -> None:
    r = client.post("/api/v1/keys", headers=env.bearer("admin"), json={"gate": "g1", "camera": "cam-7", "name": "box7"})
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith("gwk_") and created["created_by"] == "admin"
    assert post_events(client, key, [crossing(camera="cam-7")]).status_code == 200
    assert post_events(client, key, [crossing(camera="cam-1")]).status_code == 403
    listed = client.get("/api/v1/keys", headers=env.bearer("admin")).json()
    assert all("key" not in k and "key_hash" not in k for k in listed)
    revoked = client.delete(f"/api/v1/keys/{created['id']}", headers=env.bearer("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.delete(f"/api/v1/keys/{created['id']}", headers=env.bearer("admin")).status_code == 409
    assert post_events(client, key, [crossing(camera="cam-7")]).status_code == 401
    assert client.delete("/api/v1/keys/999999", headers=env.bearer("admin")).status_code == 404


def test_hold_list_round_trip(client: TestClient, env: Env) -> None:
    future = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    entries = [
        {"plate": "51F-123.45", "reason": "customs check", "until": future, "gate": "g1"},
        {"plate": "29C-999.01", "reason": "g2 only", "gate": "g2"},
        {"plate": "30A-000.11", "reason": "every gate"},
    ]
    made = []
    for entry in entries:
        r = client.post("/api/v1/holds/entries", headers=env.bearer(), json=entry)
        assert r.status_code == 201, r.text
        made.append(r.json())
    assert made[0]["plate"] == "51F12345" and made[0]["added_by"] == "olga" and made[0]["active"]
    edge = client.get("/api/v1/holds", headers={"X-API-Key": env.key})
    assert edge.status_code == 200
    assert [h["plate"] for h in edge.json()["holds"]] == ["30A00011", "51F12345"]
    assert set(edge.json()["holds"][0]) == {"plate", "reason", "until"}
    g2 = client.get("/api/v1/holds", headers={"X-API-Key": env.other_key}).json()["holds"]
    assert [h["plate"] for h in g2] == ["29C99901", "30A00011"]
    removed = client.delete(f"/api/v1/holds/entries/{made[2]['id']}", headers=env.bearer())
    assert removed.status_code == 200 and removed.json()["removed_by"] == "olga" and not removed.json()["active"]
    assert client.delete(f"/api/v1/holds/entries/{made[2]['id']}", headers=env.bearer()).status_code == 409
    assert client.delete("/api/v1/holds/entries/424242", headers=env.bearer()).status_code == 404
    edge_after = client.get("/api/v1/holds", headers={"X-API-Key": env.key}).json()["holds"]
    assert [h["plate"] for h in edge_after] == ["51F12345"]
    everything = client.get("/api/v1/holds/entries", headers=env.bearer(), params={"active": False}).json()
    assert len(everything) == 3
    active = client.get("/api/v1/holds/entries", headers=env.bearer()).json()
    assert len(active) == 2


@pytest.mark.parametrize(("body", "status", "mentions"), [
    ({"plate": "5", "reason": "x"}, 422, "plate"),
    ({"plate": "51F12345"}, 422, "reason"),
    ({"plate": "51F12345", "reason": "x", "until": "tomorrow-ish"}, 422, "until"),
    ({"plate": "51F12345", "reason": "x", "until": "2020-01-01T00:00:00Z"}, 422, "in the past"),
    ({"plate": "-.-.-", "reason": "x"}, 422, "too few characters"),
])
def test_bad_hold_entries(client: TestClient, env: Env, body: dict[str, str], status: int, mentions: str) -> None:
    r = client.post("/api/v1/holds/entries", headers=env.bearer(), json=body)
    assert r.status_code == status
    assert mentions in str(r.json()["detail"])


@pytest.mark.parametrize(("method", "path", "headers", "status"), [
    ("GET", "/api/v1/holds", {}, 401),
    ("GET", "/api/v1/holds", "BEARER", 401),
    ("GET", "/api/v1/holds/entries", {}, 401),
    ("GET", "/api/v1/holds/entries", "KEY", 401),
    ("POST", "/api/v1/holds/entries", "KEY", 401),
    ("DELETE", "/api/v1/holds/entries/1", {}, 401),
])
def test_hold_routes_refuse_wrong_credentials(client: TestClient, env: Env, method: str, path: str,
                                             headers: object, status: int) -> None:
    h = env.bearer() if headers == "BEARER" else {"X-API-Key": env.key} if headers == "KEY" else {}
    assert client.request(method, path, headers=h, json={"plate": "51F12345", "reason": "x"}).status_code == status


def test_health_is_open(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


SCRAPER_SECRET = "scraper-" + "s" * 40


@pytest.fixture(scope="module")
def scraped(env: Env) -> Iterator[TestClient]:
    """The env's database behind an app that also takes ``GATEWATCH_METRICS_TOKEN``."""
    from pydantic import SecretStr

    from gatewatch.api.app import create_app

    app = create_app(env.settings.model_copy(update={"metrics_token": SecretStr(SCRAPER_SECRET)}))
    with TestClient(app) as c:
        yield c
    app.state.engine.dispose()


@pytest.mark.parametrize(("caller", "status", "detail"), [
    (None, 401, "metrics need an admin token or the metrics token"),
    ("key", 403, "metrics are for admins and the metrics scraper, not edge keys"),
    ("gate_key", 403, "metrics are for admins and the metrics scraper, not edge keys"),
    ("revoked_key", 401, "metrics need an admin token or the metrics token"),
    ("operator", 403, "admin role required (you are 'operator')"),
    ("admin", 200, None),
    ("scraper", 200, None),
    ("scraper-wrong", 401, "metrics need an admin token or the metrics token"),
    ("forged", 401, "metrics need an admin token or the metrics token"),
])
def test_metrics_callers(client: TestClient, scraped: TestClient, env: Env, caller: str | None, status: int,
                         detail: str | None) -> None:
    bearer = {"operator": env.operator, "admin": env.admin, "scraper": SCRAPER_SECRET,
              "scraper-wrong": SCRAPER_SECRET[:-1] + "x", "forged": jwt.encode(
                  {"sub": "1", "role": "admin", "exp": datetime.now(timezone.utc) + timedelta(hours=1)}, "guess")}
    keys = {"key": env.key, "gate_key": env.gate_key, "revoked_key": env.revoked_key}
    headers = {"Authorization": f"Bearer {bearer[caller]}"} if caller in bearer else \
        {"X-API-Key": keys[caller]} if caller in keys else {}
    r = scraped.get("/metrics", headers=headers)
    assert r.status_code == status, r.text
    if detail is not None:
        assert r.json()["detail"] == detail
    # without GATEWATCH_METRICS_TOKEN the scraper secret is just a bad token
    plain = client.get("/metrics", headers=headers)
    assert plain.status_code == (401 if caller == "scraper" else status)


def test_metrics(client: TestClient, env: Env) -> None:
    post_events(client, env.key, [crossing(), crossing(track_id=2)])
    r = client.get("/metrics", headers=env.bearer("admin"))
    assert r.status_code == 200
    text = r.text
    assert 'gatewatch_events_ingested_total{kind="crossing"}' in text
    assert "gatewatch_open_flags 0.0" in text
    assert 'gatewatch_http_request_duration_seconds_count{method="POST",route="/api/v1/events",status="200"}' in text


def test_openapi_docs_list_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/events", "/api/v1/events/{event_id}/evidence/{role}", "/api/v1/holds", "/api/v1/counts",
                 "/api/v1/crossings", "/api/v1/vehicles/{plate}", "/api/v1/flags", "/api/v1/flags/{flag_id}/review",
                 "/api/v1/auth/token", "/api/v1/keys", "/healthz", "/metrics", "/api/v1/crossings/export",
                 "/api/v1/counts/export", "/api/v1/flags/export"):
        assert path in paths
    assert client.get("/docs").status_code == 200


def test_openapi_ingest_body_names_the_event_models(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    items = body["properties"]["events"]["items"]
    assert items["discriminator"]["propertyName"] == "kind"
    assert items["discriminator"]["mapping"] == {"crossing": "#/components/schemas/EdgeCrossingEvent",
                                                 "flag": "#/components/schemas/EdgeFlagEvent"}
    components = schema["components"]["schemas"]
    crossing = components["EdgeCrossingEvent"]
    assert {"gate", "camera", "lane", "direction", "vehicle_class", "frame_time"} <= set(crossing["required"])
    assert {"event_id", "plate"} <= set(crossing["properties"])
    refs: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            refs.update(v for k, v in node.items() if k == "$ref")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    assert refs and all(ref.rsplit("/", 1)[-1] in components for ref in refs)  # nothing dangles


def test_review_page_shell(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    page = client.get("/ui/")
    assert page.status_code == 200 and "Sign in" in page.text and "cdn" not in page.text.lower()
    assert client.get("/ui/js/main.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/secrets.txt").status_code == 404


def test_unset_jwt_secret_is_kept_in_the_database(client: TestClient, env: Env) -> None:
    """Without GATEWATCH_JWT_SECRET, every app on one database (workers, restarts) signs with one key."""
    from gatewatch.api.app import create_app

    settings = env.settings.model_copy(update={"jwt_secret": None})
    first, second = create_app(settings), create_app(settings)
    try:
        assert first.state.jwt_secret == second.state.jwt_secret != env.app.state.jwt_secret
        assert len(first.state.jwt_secret) >= 32
        with TestClient(first) as one, TestClient(second) as two:
            answer = one.post("/api/v1/auth/token", data={"username": "olga", "password": "operator-password"})
            assert answer.status_code == 200
            token = answer.json()["access_token"]
            me = two.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["username"] == "olga"
            # a token signed with the configured secret means nothing to these apps
            assert two.get("/api/v1/users/me", headers=env.bearer()).status_code == 401
    finally:
        first.state.engine.dispose()
        second.state.engine.dispose()
