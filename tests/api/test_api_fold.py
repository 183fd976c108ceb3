"""Ingest refuses forgery and folds flags atomically: scope of a flag's row, conflicting event ids,
parallel batches of one flag (real uvicorn, real threads, both backends)."""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import T0, Env, UvicornApi, crossing, flag_event, post_events

CONFLICT = "conflict: nothing of the batch was stored"


def _flag(client: TestClient, env: Env, flag_id: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/flags/{flag_id}", headers=env.bearer())
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(("key_name", "overrides"), [
    pytest.param("other_key", {"gate": "g2"}, id="key-of-another-gate"),
    pytest.param("gate_key", {"camera": "cam-2"}, id="same-gate-other-camera"),
    pytest.param("key", {"flag_kind": "held"}, id="same-camera-other-kind"),
])
def test_flag_of_another_gate_cannot_be_folded(client: TestClient, env: Env, key_name: str,
                                               overrides: dict[str, str]) -> None:
    flag_id = str(uuid.uuid4())
    assert post_events(client, env.key, [flag_event(flag_id, "start")]).json() == {"accepted": 1, "duplicates": 0}
    before = _flag(client, env, flag_id)
    forged = flag_event(flag_id, "end", T0 + timedelta(seconds=500), plate="99X-999.99",
                        details={"forged": True}, **overrides)
    other = crossing(track_id=44, **{k: v for k, v in overrides.items() if k != "flag_kind"})
    r = post_events(client, getattr(env, key_name), [other, forged])
    assert r.status_code == 409, r.text
    assert r.json() == {"detail": {"index": 1, "event_id": forged["event_id"], "error": CONFLICT}}
    after = _flag(client, env, flag_id)
    assert after == before
    assert (after["plate"], after["phase"], after["events_count"], after["details"]) == (None, "start", 1, {})
    assert [e["event_id"] for e in after["events"]] == [before["events"][0]["event_id"]]
    # nothing of the refused batch was kept, and its event has no row evidence could hang on
    assert client.get("/api/v1/crossings", headers=env.bearer(), params={"since": "2026-11-24T00:00:00Z"}
                      ).json()["total"] == 0


def test_event_id_of_another_gate_answers_only_conflict(client: TestClient, env: Env) -> None:
    mine = crossing(plate="51F-123.45")
    assert post_events(client, env.key, [mine]).json() == {"accepted": 1, "duplicates": 0}
    theirs = crossing(gate="g2", lane="lane-7", event_id=mine["event_id"])
    r = post_events(client, env.other_key, [theirs])
    assert r.status_code == 409, r.text
    assert r.json() == {"detail": {"index": 0, "event_id": mine["event_id"], "error": CONFLICT}}
    assert "g1" not in r.text and "51F" not in r.text and "lane-2" not in r.text
    page = client.get("/api/v1/crossings", headers=env.bearer(), params={"since": "2026-11-24T00:00:00Z"}).json()
    assert [(c["gate"], c["lane"], c["plate"]) for c in page["items"]] == [("g1", "lane-2", "51F12345")]


def test_same_event_id_with_other_content_is_409_and_logged(client: TestClient, env: Env,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    first = crossing(track_id=5)
    assert post_events(client, env.key, [first]).json() == {"accepted": 1, "duplicates": 0}
    changed = {**first, "lane": "lane-9"}
    fresh = crossing(track_id=6)
    with caplog.at_level(logging.WARNING, logger="gatewatch.api.ingest"):
        r = post_events(client, env.key, [fresh, changed])
    assert r.status_code == 409, r.text
    assert r.json() == {"detail": {"index": 1, "event_id": first["event_id"], "error": CONFLICT}}
    logged = [rec.getMessage() for rec in caplog.records if rec.name == "gatewatch.api.ingest"]
    assert len(logged) == 1
    assert first["event_id"] in logged[0] and "lane: 'lane-2' -> 'lane-9'" in logged[0]
    # the batch was refused whole: the fresh crossing is still new, the stored one unchanged
    assert post_events(client, env.key, [fresh, first]).json() == {"accepted": 1, "duplicates": 1}
    page = client.get("/api/v1/crossings", headers=env.bearer(), params={"since": "2026-11-24T00:00:00Z"}).json()
    assert sorted(c["lane"] for c in page["items"]) == ["lane-2", "lane-2"]


def test_edge_local_paths_do_not_make_a_conflict(client: TestClient, env: Env) -> None:
    """A replay writing its crops elsewhere sends the same crossing with other local paths: a duplicate."""
    first = crossing(track_id=5)
    first["crop_path"] = "/var/gatewatch/run1/crops/a.jpg"
    assert post_events(client, env.key, [first]).json() == {"accepted": 1, "duplicates": 0}
    replay = {**first, "crop_path": "/tmp/run2/a.jpg"}
    assert post_events(client, env.key, [replay]).json() == {"accepted": 0, "duplicates": 1}
    assert post_events(client, env.key, [{**first, "crop_path": None}]).json() == {"accepted": 0, "duplicates": 1}
    r = post_events(client, env.key, [{**replay, "confidence": 0.11}])
    assert r.status_code == 409, r.text


def test_same_event_id_twice_in_one_batch_with_other_content_is_409(client: TestClient, env: Env) -> None:
    first = crossing(track_id=5)
    r = post_events(client, env.key, [first, {**first, "track_id": 6}])
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == {"index": 1, "event_id": first["event_id"], "error": CONFLICT}
    assert post_events(client, env.key, [first]).json() == {"accepted": 1, "duplicates": 0}


def test_identical_flag_events_stay_duplicates(client: TestClient, env: Env) -> None:
    flag_id = str(uuid.uuid4())
    events = [flag_event(flag_id, "start"), flag_event(flag_id, "end", T0 + timedelta(seconds=20),
                                                        details={"reason": "left\nlane"})]
    assert post_events(client, env.key, events).json() == {"accepted": 2, "duplicates": 0}
    assert post_events(client, env.key, events).json() == {"accepted": 0, "duplicates": 2}
    assert _flag(client, env, flag_id)["events_count"] == 2


@pytest.fixture(scope="module")
def server(env: Env) -> Any:
    """The env's database behind its own uvicorn process."""
    with UvicornApi(env.settings) as api:
        yield api


@pytest.mark.parametrize("round_", range(3))
def test_parallel_batches_of_one_flag_all_count(client: TestClient, env: Env, server: UvicornApi,
                                                round_: int) -> None:
    flag_id = str(uuid.uuid4())
    batches = [[flag_event(flag_id, "start")]]
    batches += [[flag_event(flag_id, "update", T0 + timedelta(seconds=i), details={"n": i})] for i in range(1, 31)]
    batches.append([flag_event(flag_id, "end", T0 + timedelta(seconds=99), details={"n": 99})])

    def send(batch: list[dict[str, Any]]) -> int:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": env.key}, timeout=60) as http:
            r = http.post("/api/v1/events", json={"events": batch})
            assert r.status_code == 200, r.text
            return int(r.json()["accepted"])

    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        accepted = list(pool.map(send, batches))
    assert accepted == [1] * 32
    flag = _flag(client, env, flag_id)
    assert (flag["events_count"], flag["duration_s"], flag["phase"], flag["details"]) == (32, 99.0, "end", {"n": 99})
    assert flag["ended_at"].startswith("2026-11-24T01:01:39") and flag["last_event_at"] == flag["ended_at"]
    assert flag["started_at"].startswith("2026-11-24T01:00:00")
    assert len(flag["events"]) == 32
