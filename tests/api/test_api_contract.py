"""The API keeps the wire contract: plates stored and searched by the edge's key, the hold list in the
edge's own model, and no edge-local paths stored (both backends)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gatewatch.api.models import Crossing, Event, Flag
from gatewatch.contract import EDGE_LOCAL_FIELDS, HoldsForEdge, plate_key
from gatewatch.vision.flags.holds import HoldList, normalize_plate
from tests.api.helpers import T0, Env, crossing, flag_event, post_events

PLATE_TEXTS = ["77L12345", "77l-123.45", "51F-123.45", "29A 12345", "桂A12345", "桂a·123 45", "７７Ｌ１２３４５",
               "7711234", "77L1234"]


def _plates_found(client: TestClient, env: Env, plate: str, fuzzy: bool) -> set[str]:
    r = client.get("/api/v1/crossings", headers=env.bearer(), params={"plate": plate, "fuzzy": fuzzy, "limit": 500})
    assert r.status_code == 200, r.text
    return {item["plate"] for item in r.json()["items"]}


def test_api_stores_and_searches_the_edge_key(client: TestClient, env: Env) -> None:
    events = [crossing(plate=text, track_id=i) for i, text in enumerate(PLATE_TEXTS)]
    assert post_events(client, env.key, events).status_code == 200
    with env.app.state.sessionmaker() as session:
        stored = dict(session.execute(select(Crossing.track_id, Crossing.plate)).all())
    for i, text in enumerate(PLATE_TEXTS):
        assert stored[i] == normalize_plate(text) == plate_key(text), text  # the edge's hold-list key
        assert stored[i] in _plates_found(client, env, text, fuzzy=False)
    assert _plates_found(client, env, "77L-123.45", fuzzy=False) == {"77L12345"}
    # fuzzy search folds look-alikes at query time but never L: 7711234 is two edits from 77L12345
    assert _plates_found(client, env, "77L12345", fuzzy=True) == {"77L12345", "77L1234"}
    assert _plates_found(client, env, "77L-I23.45", fuzzy=True) == {"77L12345", "77L1234"}
    assert "77L12345" not in _plates_found(client, env, "7711234", fuzzy=True)


def test_hold_list_is_the_edge_model_and_matches_on_the_edge(client: TestClient, env: Env) -> None:
    r = client.post("/api/v1/holds/entries", headers=env.bearer(), json={"plate": "77l-123.45", "reason": "fees"})
    assert r.status_code == 201, r.text
    assert r.json()["plate"] == "77L12345"
    answer = client.get("/api/v1/holds", headers={"X-API-Key": env.key})
    holds = HoldsForEdge.model_validate_json(answer.content).holds
    assert [(h.plate, h.reason) for h in holds] == [("77L12345", "fees")]
    match = HoldList(holds).find("77L 123.45", T0)
    assert match is not None and match.match == "exact" and match.read == "77L12345"


def test_hold_plate_too_long_once_keyed_is_refused(client: TestClient, env: Env) -> None:
    r = client.post("/api/v1/holds/entries", headers=env.bearer(), json={"plate": "㍿" * 9, "reason": "r"})
    assert r.status_code == 422 and "32" in r.text  # 36 characters once NFKC-normalised: would not fit


@pytest.mark.parametrize("kind", ["crossing", "flag"])
def test_edge_local_paths_are_not_stored(client: TestClient, env: Env, kind: str) -> None:
    flag_id = str(uuid.uuid4())
    if kind == "crossing":
        event = crossing(plate="51F12345")
        event["crop_path"], event["plate"]["crop_path"] = "/edge/crops/a.jpg", "/edge/plates/a.jpg"
    else:
        event = flag_event(flag_id, "start", plate="51F12345")
        event["snapshot_path"], event["crop_path"] = "/edge/s.jpg", "/edge/c.jpg"
    assert post_events(client, env.key, [event]).json() == {"accepted": 1, "duplicates": 0}
    with env.app.state.sessionmaker() as session:
        payload = session.scalars(select(Event.payload)).one()
        if kind == "flag":
            assert session.get(Flag, flag_id).plate == "51F12345"  # type: ignore[union-attr]
    assert not set(payload) & set(EDGE_LOCAL_FIELDS) and not set(payload["plate"]) & set(EDGE_LOCAL_FIELDS)
    assert payload["event_id"] == event["event_id"] and payload["plate"]["text"] == "51F12345"
    if kind == "flag":
        detail = client.get(f"/api/v1/flags/{flag_id}", headers=env.bearer()).json()
        assert not any(set(e) & set(EDGE_LOCAL_FIELDS) for e in detail["events"])
    # the same event again, with other paths or none, is a duplicate
    moved = {**event, "crop_path": "/elsewhere/a.jpg"}
    assert post_events(client, env.key, [moved]).json() == {"accepted": 0, "duplicates": 1}


def test_fuzzy_search_finds_exactly_what_the_one_edit_rule_allows(client: TestClient, env: Env) -> None:
    """The database prefilter (LIKE, then look-alike classes) loses nothing and adds nothing, on both backends."""
    from gatewatch.api.plates import fuzzy_match
    from gatewatch.api.queries import matching_plates

    stored = ["29C12345", "Z9CI2345", "29C1234", "29C123456", "29C12399", "77L12345", "77112345", "7711234",
              "77L1234", "51F67890", "5IF67B9O", "51F6789", "D1F67890", "30A99988", "桂A12345", "桂A1234S",
              "0O0O0O0O0O0O0O0O0O0D", "0O0O0O0O0O0O0O0O0O0"]  # many spellings: the regular-expression path
    queries = ["29C12345", "2OC12345", "Z9C1234", "77L12345", "77I12345", "7712345", "5IF67890", "51F6789O",
               "30A9998", "桂A12345", "桂AI2345", "51F-678.90", "X9C12345", "00000000000000000000", "QQQQQQQQQQQQQQQQQQQQQ"]
    events = [crossing(plate=p, track_id=i) for i, p in enumerate(stored)]
    assert post_events(client, env.key, events).status_code == 200
    with env.app.state.sessionmaker() as session:
        for query in queries:
            expected = {p for p in stored if fuzzy_match(query, p)}
            assert set(matching_plates(session, query, fuzzy=True)) == expected, query
