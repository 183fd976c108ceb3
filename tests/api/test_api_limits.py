"""Input limits: every bad field of an event or query parameter answers 422 naming it, on both backends.

The limits live in the one event contract (``gatewatch.events``) and match the columns of
``gatewatch.api.models``: values just inside them are stored, values just outside are refused.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import Env, crossing, flag_event

URL = "/api/v1/events"
FLAG_ID = "5a0e6c1e-8f0e-4d5e-9a59-3f9f7d3c2b11"


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _set(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target = event
    *parents, last = path.split(".")
    for name in parents:
        target = target[name]
    target[last] = value
    return event


def _crossing(path: str, value: Any) -> dict[str, Any]:
    return _set(crossing(plate="51F-123.45"), path, value)


def _flag(path: str, value: Any) -> dict[str, Any]:
    return _set(flag_event(FLAG_ID, "start", plate="51F-123.45"), path, value)


BAD_EVENTS = [
    pytest.param(_crossing("vehicle_class", "t" * 33), "vehicle_class", id="vehicle-class-33-chars"),
    pytest.param(_crossing("plate.text", "5" * 33), "plate.text", id="plate-33-chars"),
    pytest.param(_crossing("plate.text", "ß" * 17), "plate.text", id="plate-longer-once-upper-cased"),
    pytest.param(_crossing("plate.text_raw", "5" * 65), "plate.text_raw", id="plate-raw-65-chars"),
    pytest.param(_crossing("lane", "l" * 65), "lane", id="lane-65-chars"),
    pytest.param(_crossing("lane", "l" * 1_000_000), "lane", id="lane-1M-chars"),
    pytest.param(_crossing("camera", "c" * 65), "camera", id="camera-65-chars"),
    pytest.param(_crossing("crop_path", "/" + "p" * 1024), "crop_path", id="path-1025-chars"),
    pytest.param(_crossing("lane", "lane\x002"), "lane", id="nul-in-lane"),
    pytest.param(_crossing("plate.text_raw", "51F\x1b[2J"), "plate.text_raw", id="escape-in-plate"),
    pytest.param(_crossing("vehicle_class", "truck\ud800"), "vehicle_class", id="lone-surrogate"),
    pytest.param(_crossing("lane", ""), "lane", id="empty-lane"),
    pytest.param(_crossing("box", [0, 0, float("nan"), 10]), "box", id="nan-in-box"),
    pytest.param(_crossing("box", [0, 0, float("inf"), 10]), "box", id="infinity-in-box"),
    pytest.param(_crossing("stream_ts", float("nan")), "stream_ts", id="nan-stream-ts"),
    pytest.param(_crossing("track_id", 2**31), "track_id", id="track-id-2^31"),
    pytest.param(_crossing("track_id", 2**63), "track_id", id="track-id-2^63"),
    pytest.param(_crossing("track_id", -1), "track_id", id="negative-track-id"),
    pytest.param(_crossing("frame_index", 2**63), "frame_index", id="frame-index-2^63"),
    pytest.param(_crossing("plate.reads", 2**31), "plate.reads", id="plate-reads-2^31"),
    pytest.param(_crossing("frame_time", "0001-01-01T00:30:00+05:00"), "frame_time", id="year-1-with-offset"),
    pytest.param(_crossing("frame_time", "9999-12-31T23:30:00-05:00"), "frame_time", id="year-9999-with-offset"),
    pytest.param(_crossing("frame_time", "2100-01-01T00:00:00Z"), "frame_time", id="year-2100"),
    pytest.param(_crossing("frame_time", "1969-12-31T23:59:59Z"), "frame_time", id="before-1970"),
    pytest.param(_flag("duration_s", float("inf")), "duration_s", id="infinite-duration"),
    pytest.param(_flag("duration_s", float("nan")), "duration_s", id="nan-duration"),
    pytest.param(_flag("started_at", "9999-12-31T23:59:59"), "started_at", id="started-year-9999"),
    pytest.param(_flag("zone", "z" * 65), "zone", id="zone-65-chars"),
    pytest.param(_flag("track_id", 2**31), "track_id", id="flag-track-id-2^31"),
    pytest.param(_flag("details", _nested(900)), "details", id="details-900-deep"),
    pytest.param(_flag("details", _nested(6)), "details", id="details-7-levels"),
    pytest.param(_flag("details", {"k" * 65: 1}), "details", id="details-key-65-chars"),
    pytest.param(_flag("details", {"note": "n" * 2001}), "details", id="details-text-2001-chars"),
    pytest.param(_flag("details", {"note": "a\x00b"}), "details", id="details-nul"),
    pytest.param(_flag("details", {"score": float("nan")}), "details", id="details-nan"),
    pytest.param(_flag("details", {"n": 2**63}), "details", id="details-int-2^63"),
    pytest.param(_flag("details", {"xs": list(range(600))}), "details", id="details-600-items"),
    pytest.param(_flag("details", {f"k{i}": "v" * 1000 for i in range(20)}), "details", id="details-20kB"),
]


def _post_raw(client: TestClient, env: Env, events: list[Any]) -> Any:
    """POST exactly what Python's json writes (NaN and Infinity included, as a careless sender would)."""
    body = json.dumps({"events": events}).encode()
    return client.post(URL, headers={"X-API-Key": env.key, "Content-Type": "application/json"}, content=body)


@pytest.mark.parametrize(("bad", "field"), BAD_EVENTS)
def test_bad_event_field_is_422_naming_it(client: TestClient, env: Env, bad: dict[str, Any], field: str) -> None:
    bad = {**bad, "event_id": str(uuid.uuid4())}
    r = _post_raw(client, env, [crossing(track_id=1), bad])
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert (detail["index"], detail["event_id"]) == (1, bad["event_id"])
    named = detail["error"].split(":")[0].split(".", 1)[1]  # 'crossing.lane: ...' -> 'lane'
    assert named.startswith(field), detail["error"]
    assert len(r.content) < 2000  # the answer does not echo a huge value
    assert client.get("/api/v1/crossings", headers=env.bearer(), params={"since": "2026-11-24T00:00:00Z"}
                      ).json()["total"] == 0


def test_values_at_the_limits_are_stored(client: TestClient, env: Env) -> None:
    event = crossing(plate="5" * 32, lane="l" * 64, vehicle_class="t" * 32, track_id=2**31 - 1,
                     camera="cam-1", frame_time="2099-12-31T23:59:59+00:00", frame_index=2**53 - 1)
    event["plate"]["text_raw"] = "r" * 64
    flag = flag_event(FLAG_ID, "start", zone="z" * 64, started_at="1970-01-01T00:00:00Z",
                      details={"reason": "held at the\tgate\r\n" + "n" * 1900, "nested": _nested(4)})
    r = _post_raw(client, env, [event, flag])
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 2, "duplicates": 0}
    page = client.get("/api/v1/crossings", headers=env.bearer(), params={"since": "2099-12-31T00:00:00Z"}).json()
    item = page["items"][0]
    assert (item["lane"], item["vehicle_class"], item["plate"], item["plate_raw"], item["track_id"]) == (
        "l" * 64, "t" * 32, "5" * 32, "r" * 64, 2**31 - 1)
    stored = client.get(f"/api/v1/flags/{FLAG_ID}", headers=env.bearer()).json()
    assert stored["zone"] == "z" * 64 and stored["details"]["nested"] == _nested(4)


def test_json_nested_beyond_the_parser_is_400(client: TestClient, env: Env) -> None:
    body = b'{"events": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    r = client.post(URL, headers={"X-API-Key": env.key, "Content-Type": "application/json"}, content=body)
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == "malformed JSON: nested too deep"


NUL_NAME = "g\x00"
BAD_QUERIES = [
    pytest.param("GET", "/api/v1/crossings", {"offset": 2**63}, "offset", id="crossings-offset-2^63"),
    pytest.param("GET", "/api/v1/crossings", {"offset": 2**31}, "offset", id="crossings-offset-2^31"),
    pytest.param("GET", "/api/v1/crossings", {"since": "9999-12-31T23:00:00-05:00"}, "since", id="since-9999"),
    pytest.param("GET", "/api/v1/crossings", {"since": "9999-12-31T23:00:00"}, "since", id="naive-since-9999"),
    pytest.param("GET", "/api/v1/crossings", {"until": "0001-01-01T00:00:00+05:00"}, "until", id="until-year-1"),
    pytest.param("GET", "/api/v1/crossings", {"gate": NUL_NAME}, "gate", id="crossings-nul-gate"),
    pytest.param("GET", "/api/v1/crossings", {"lane": "l" * 65}, "lane", id="crossings-lane-65"),
    pytest.param("GET", "/api/v1/counts", {"since": "9999-12-31T00:00:00"}, "since", id="counts-since-9999"),
    pytest.param("GET", "/api/v1/counts", {"until": "0001-01-01T00:00:00"}, "until", id="counts-until-year-1"),
    pytest.param("GET", "/api/v1/counts", {"vehicle_class": "t\x00"}, "vehicle_class", id="counts-nul-class"),
    pytest.param("GET", "/api/v1/crossings/export", {"since": "2026-11-24T00:00:00", "until": "9999-12-31T00:00:00"},
                 "until", id="export-until-9999"),
    pytest.param("GET", "/api/v1/crossings/export", {"until": "2026-11-24T00:00:00"}, "since", id="export-no-since"),
    pytest.param("GET", "/api/v1/counts/export", {"since": "2026-11-24T00:00:00", "until": "2026-11-25T00:00:00",
                                                  "lane": "l" * 65}, "lane", id="counts-export-lane-65"),
    pytest.param("GET", "/api/v1/flags/export", {"since": "2026-11-24T00:00:00", "until": "2026-11-25T00:00:00",
                                                 "gate": NUL_NAME}, "gate", id="flags-export-nul-gate"),
    pytest.param("GET", "/api/v1/flags/export", {"since": "2026-11-24T00:00:00", "until": "2026-11-25T00:00:00",
                                                 "format": "xlsx"}, "format", id="flags-export-format"),
    pytest.param("GET", "/api/v1/flags", {"min_age_s": "1e300"}, "min_age_s", id="min-age-1e300"),
    pytest.param("GET", "/api/v1/flags", {"max_age_s": "inf"}, "max_age_s", id="max-age-inf"),
    pytest.param("GET", "/api/v1/flags", {"max_age_s": "nan"}, "max_age_s", id="max-age-nan"),
    pytest.param("GET", "/api/v1/flags", {"offset": 2**63}, "offset", id="flags-offset-2^63"),
    pytest.param("GET", "/api/v1/flags", {"camera": NUL_NAME}, "camera", id="flags-nul-camera"),
    pytest.param("GET", "/api/v1/holds/entries", {"gate": NUL_NAME}, "gate", id="holds-nul-gate"),
    pytest.param("GET", "/api/v1/vehicles/" + "5" * 65, {}, "plate", id="vehicle-plate-65"),
    pytest.param("DELETE", f"/api/v1/holds/entries/{2**63}", {}, "hold_id", id="hold-id-2^63"),
    pytest.param("POST", "/api/v1/holds/entries", {"plate": "51F\x0012", "reason": "r"}, "plate", id="hold-nul-plate"),
    pytest.param("POST", "/api/v1/holds/entries", {"plate": "51F12345", "reason": "r\x00"}, "reason",
                 id="hold-nul-reason"),
    pytest.param("POST", "/api/v1/holds/entries", {"plate": "51F12345", "reason": "r", "gate": "g\x00"}, "gate",
                 id="hold-nul-gate"),
    pytest.param("POST", "/api/v1/holds/entries", {"plate": "51F12345", "reason": "r",
                                                   "until": "9999-12-31T23:00:00-05:00"}, "until",
                 id="hold-until-9999"),
    pytest.param("POST", f"/api/v1/flags/{FLAG_ID}/review", {"action": "confirm", "note": "ok\x00"}, "note",
                 id="review-nul-note"),
]


@pytest.mark.parametrize(("method", "path", "params", "field"), BAD_QUERIES)
def test_bad_parameter_is_422_naming_it(client: TestClient, env: Env, method: str, path: str,
                                         params: dict[str, Any], field: str) -> None:
    if method == "POST":
        r = client.post(path, headers=env.bearer(), json=params)
    else:
        r = client.request(method, path, headers=env.bearer(), params=params)
    assert r.status_code == 422, r.text
    assert [e["loc"][-1] for e in r.json()["detail"]] == [field]


def test_edge_fits_ocr_text_to_the_contract() -> None:
    from gatewatch.events import PLATE_MAX, PLATE_RAW_MAX, PlateRead, fit_text

    raw = "51F-123.45\x00\x1b\ud800 " * 10
    plate = PlateRead(text=fit_text("51F12345" * 5, PLATE_MAX), text_raw=fit_text(raw, PLATE_RAW_MAX),
                      confidence=0.9)
    assert (len(plate.text), len(plate.text_raw)) == (32, 64)
    assert plate.text_raw == ("51F-123.45 " * 6)[:64]


BAD_ADMIN_BODIES = [
    ("/api/v1/users", {"username": "ol\x00ga", "password": "long-enough-1"}, "username"),
    ("/api/v1/users", {"username": "ol\x1bga", "password": "long-enough-1"}, "username"),
    ("/api/v1/users", {"username": "olga-2", "password": "long\x00enough"}, "password"),
    ("/api/v1/keys", {"gate": "g\x00", "camera": "cam-1"}, "gate"),
    ("/api/v1/keys", {"gate": "g1", "camera": "cam\x00"}, "camera"),
    ("/api/v1/keys", {"gate": "g1", "camera": "cam-1", "name": "edge\x00box"}, "name"),
]


@pytest.mark.parametrize(("path", "body", "field"), BAD_ADMIN_BODIES)
def test_control_characters_in_users_and_keys_are_422(client: TestClient, env: Env, path: str,
                                                      body: dict[str, Any], field: str) -> None:
    """NUL and other control characters in names, passwords and key labels: 422 naming the field (was 500 on PG)."""
    r = client.post(path, json=body, headers=env.bearer("admin"))
    assert r.status_code == 422, r.text
    assert field in {str(part) for err in r.json()["detail"] for part in err["loc"]}


@pytest.mark.parametrize("username", ["ol\x00ga", "olga\x1b[2J"])
def test_sign_in_with_a_control_character_is_refused_not_a_500(client: TestClient, env: Env, username: str) -> None:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": "operator-password"})
    assert r.status_code in (401, 422), r.text
