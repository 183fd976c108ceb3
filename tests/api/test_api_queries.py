"""GET /api/v1/counts, /api/v1/crossings (pagination, plate search) and /api/v1/vehicles/{plate}."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import T0, Env, crossing, post_events

DAY = {"since": "2026-11-24T00:00:00", "until": "2026-11-25T00:00:00"}  # local (Asia/Ho_Chi_Minh) day


def m(minutes: float) -> Any:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def seeded(client: TestClient, env: Env) -> TestClient:
    """Eight crossings over two days and two gates, three vehicles with plates."""
    g1 = [
        crossing(frame_time=m(5), plate="29C-123.45"),
        crossing(frame_time=m(10)),
        crossing(frame_time=m(70), plate="51F-678.90"),
        crossing(frame_time=m(20), vehicle_class="car"),
        crossing(frame_time=m(120), lane="lane-1", direction="exit", plate="29C-123.45"),
        crossing(frame_time=m(-24 * 60), plate="30A-999.88"),
    ]
    assert post_events(client, env.key, g1).status_code == 200
    assert post_events(client, env.gate_key, [crossing(frame_time=m(40), camera="cam-2")]).status_code == 200
    assert post_events(client, env.other_key, [crossing(frame_time=m(0), gate="g2")]).status_code == 200
    assert post_events(client, env.key, [crossing(frame_time=m(300), plate="29C12345")]).status_code == 200
    return client


@pytest.mark.parametrize(("filters", "total"), [
    pytest.param({}, 8, id="everything"),
    pytest.param({"gate": "g1"}, 7, id="gate"),
    pytest.param({"gate": "g1", "lane": "lane-2", "direction": "entry", "vehicle_class": "truck"}, 5, id="trucks-in-lane-2"),
    pytest.param({"gate": "g1", "camera": "cam-1", "lane": "lane-2", "vehicle_class": "truck"}, 4, id="camera"),
    pytest.param({"vehicle_class": "car"}, 1, id="class"),
    pytest.param({"direction": "exit"}, 1, id="direction"),
    pytest.param({"gate": "g2"}, 1, id="other-gate"),
    pytest.param({"gate": "nowhere"}, 0, id="unknown-gate-counts-zero"),
])
def test_counts_filters(seeded: TestClient, env: Env, filters: dict[str, str], total: int) -> None:
    r = seeded.get("/api/v1/counts", headers=env.bearer(), params={**DAY, **filters})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == total and body["bucket"] == "hour" and len(body["buckets"]) == 24


def test_hourly_counts_are_bucketed_in_utc_hours_from_local_midnight(seeded: TestClient, env: Env) -> None:
    params = {**DAY, "gate": "g1", "lane": "lane-2", "direction": "entry", "vehicle_class": "truck"}
    body = seeded.get("/api/v1/counts", headers=env.bearer(), params=params).json()
    assert body["since"].startswith("2026-11-23T17:00:00")  # local midnight, +07:00
    nonzero = {b["start"][:16]: b["count"] for b in body["buckets"] if b["count"]}
    assert nonzero == {"2026-11-24T01:00": 3, "2026-11-24T02:00": 1, "2026-11-24T06:00": 1}


def test_daily_counts_follow_the_local_day(seeded: TestClient, env: Env) -> None:
    params = {"since": "2026-11-23T00:00:00", "until": "2026-11-25T00:00:00", "bucket": "day"}
    body = seeded.get("/api/v1/counts", headers=env.bearer(), params=params).json()
    assert [(b["start"][:13], b["count"]) for b in body["buckets"]] == [("2026-11-22T17", 1), ("2026-11-23T17", 8)]


def test_counts_default_to_today(seeded: TestClient, env: Env) -> None:
    body = seeded.get("/api/v1/counts", headers=env.bearer()).json()
    assert len(body["buckets"]) == 24 and body["timezone"] == "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize(("params", "mentions"), [
    pytest.param({"bucket": "week"}, "bucket", id="unknown-bucket"),
    pytest.param({"since": "last tuesday"}, "since", id="bad-datetime"),
    pytest.param({"since": "2026-11-25T00:00:00", "until": "2026-11-24T00:00:00"}, "after", id="reversed-range"),
    pytest.param({"direction": "sideways"}, "direction", id="bad-direction"),
    pytest.param({"since": "2020-01-01T00:00:00", "until": "2026-01-01T00:00:00"}, "bucket=day", id="too-many-hours"),
])
def test_counts_bad_params(client: TestClient, env: Env, params: dict[str, str], mentions: str) -> None:
    r = client.get("/api/v1/counts", headers=env.bearer(), params=params)
    assert r.status_code == 422
    assert mentions in str(r.json()["detail"])


def test_crossings_pagination_newest_first(seeded: TestClient, env: Env) -> None:
    pages = [seeded.get("/api/v1/crossings", headers=env.bearer(), params={"gate": "g1", "limit": 3, "offset": o}).json()
             for o in (0, 3, 6)]
    assert [p["total"] for p in pages] == [8, 8, 8]
    times = [item["frame_time"] for p in pages for item in p["items"]]
    assert len(times) == 8 and times == sorted(times, reverse=True)


@pytest.mark.parametrize(("plate", "fuzzy", "expected"), [
    pytest.param("29C12345", False, {"29C12345": 3}, id="exact"),
    pytest.param("29c-123.45", False, {"29C12345": 3}, id="exact-with-separators"),
    pytest.param("29CI2345", False, {}, id="exact-does-not-forgive"),
    pytest.param("29CI2345", True, {"29C12345": 3}, id="I-for-1"),
    pytest.param("Z9C12345", True, {"29C12345": 3}, id="Z-for-2"),
    pytest.param("29C1234", True, {"29C12345": 3}, id="missing-char"),
    pytest.param("29C-128.45", True, {"29C12345": 3}, id="one-wrong-char"),
    pytest.param("51F67B9O", True, {"51F67890": 1}, id="B-for-8-and-O-for-0"),
    pytest.param("29C12399", True, {}, id="two-wrong-chars"),
])
def test_plate_search(seeded: TestClient, env: Env, plate: str, fuzzy: bool, expected: dict[str, int]) -> None:
    r = seeded.get("/api/v1/crossings", headers=env.bearer(), params={"plate": plate, "fuzzy": fuzzy})
    assert r.status_code == 200, r.text
    found: dict[str, int] = {}
    for item in r.json()["items"]:
        found[item["plate"]] = found.get(item["plate"], 0) + 1
    assert found == expected


@pytest.mark.parametrize(("params", "status"), [
    pytest.param({"limit": 0}, 422, id="limit-zero"),
    pytest.param({"limit": 501}, 422, id="limit-too-big"),
    pytest.param({"offset": -1}, 422, id="negative-offset"),
    pytest.param({"plate": "--"}, 422, id="plate-without-characters"),
    pytest.param({"since": "soon"}, 422, id="bad-since"),
])
def test_crossings_bad_params(client: TestClient, env: Env, params: dict[str, Any], status: int) -> None:
    assert client.get("/api/v1/crossings", headers=env.bearer(), params=params).status_code == status


def test_vehicle_history_pairs_arrival_and_departure(seeded: TestClient, env: Env) -> None:
    r = seeded.get("/api/v1/vehicles/29C-123.45", headers=env.bearer())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["plate"] == "29C12345" and len(body["crossings"]) == 3
    first, second = body["visits"]
    assert first["clearance_s"] == 115 * 60
    assert first["arrived_at"].startswith("2026-11-24T01:05") and first["departed_at"].startswith("2026-11-24T03:00")
    assert second["departed_at"] is None and second["clearance_s"] is None


def test_vehicle_history_fuzzy_and_unknown(seeded: TestClient, env: Env) -> None:
    fuzzy = seeded.get("/api/v1/vehicles/29CI2345", headers=env.bearer(), params={"fuzzy": True}).json()
    assert fuzzy["plates_matched"] == ["29C12345"]
    r = seeded.get("/api/v1/vehicles/99Z99999", headers=env.bearer())
    assert r.status_code == 404 and "99Z99999" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/counts", "/api/v1/crossings", "/api/v1/vehicles/29C12345"])
@pytest.mark.parametrize(("auth", "status"), [(None, 401), ("key", 401), ("garbage", 401)])
def test_query_routes_need_an_operator(client: TestClient, env: Env, path: str, auth: str | None, status: int) -> None:
    headers = {"X-API-Key": env.key} if auth == "key" else {"Authorization": "Bearer abc.def.ghi"} if auth else {}
    r = client.get(path, headers=headers)
    assert r.status_code == status
    assert r.json()["detail"] in ("not signed in: bearer token required", "invalid or expired token")


def _one_edit_variants(key: str) -> set[str]:
    subs = {key[:i] + "X" + key[i + 1:] for i in range(len(key))}
    dels = {key[:i] + key[i + 1:] for i in range(len(key))}
    ins = {key[:i] + "X" + key[i:] for i in range(len(key) + 1)}
    return subs | dels | ins


def test_fuzzy_prefilter_misses_no_one_edit_plate(client: TestClient, env: Env) -> None:
    """Every plate one edit away (at every position) is found by the database prefilter; two edits are not."""
    import uuid

    from gatewatch.api.models import Crossing
    from gatewatch.api.queries import matching_plates

    base = "29C12345"
    near = _one_edit_variants(base)
    far = {base[:i] + "X" + base[i + 1:j] + "X" + base[j + 1:] for i in range(len(base)) for j in range(i + 2, len(base))}
    with env.app.state.sessionmaker() as session:
        session.add_all(
            Crossing(event_id=str(uuid.uuid4()), gate="g1", camera="cam-1", lane="l", direction="entry",
                     vehicle_class="truck", frame_time=T0, hour=0, track_id=1, confidence=0.9,
                     plate=plate)
            for plate in near | far | {base}
        )
        session.commit()
        assert set(matching_plates(session, base, fuzzy=True)) == near | {base}
        assert matching_plates(session, base, fuzzy=False) == [base]
