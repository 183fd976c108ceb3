"""GET /api/v1/today (a local day at a glance), /api/v1/trends (per day/week, clearance, held now) and
/api/v1/vehicles?q= (plate search), with a vehicle's history carrying its evidence and flags."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gatewatch.api.board import clearance_histogram, percentile
from gatewatch.api.settings import Settings
from gatewatch.errors import ConfigError
from tests.api.helpers import T0, Env, crossing, flag_event, post_events

DAY = "2026-11-24"  # T0 is 08:00 of this day in Asia/Ho_Chi_Minh


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def put_crop(client: TestClient, key: str, event_id: str, image: bytes, role: str = "crop") -> None:
    r = client.put(f"/api/v1/events/{event_id}/evidence/{role}", content=image,
                   headers={"X-API-Key": key, "Content-Type": "image/jpeg"})
    assert r.status_code == 201, r.text


@pytest.fixture
def day_posted(client: TestClient, env: Env, frame_jpeg: bytes) -> dict[str, Any]:
    """One local day at two gates: 6 trucks, a car and a bus, crossings the day before and after, four open flags
    (and one reviewed), a crop on the last crossing of g1."""
    g1 = [
        crossing(frame_time=m(0)), crossing(frame_time=m(5)),
        crossing(frame_time=m(10), plate="29C-123.45"),
        crossing(frame_time=m(15), vehicle_class="car"),
        crossing(frame_time=m(60), lane="lane-1", direction="exit"),
        crossing(frame_time=m(15 * 60 + 30), lane="lane-1", direction="exit", plate="51F-678.90"),  # 23:30 local
        crossing(frame_time=m(-24 * 60)),  # the day before
        crossing(frame_time=m(16 * 60 + 30)),  # 00:30 local of the next day
    ]
    flags = [flag_event(str(uuid.uuid4()), "start"), flag_event(str(uuid.uuid4()), "start"),
             flag_event(str(uuid.uuid4()), "start", flag_kind="held", zone="apron")]
    reviewed = flag_event(str(uuid.uuid4()), "start")
    assert post_events(client, env.key, g1 + flags + [reviewed]).status_code == 200
    assert client.post(f"/api/v1/flags/{reviewed['flag_id']}/review", headers=env.bearer(),
                       json={"action": "dismiss"}).status_code == 200
    g2 = [crossing(gate="g2", frame_time=m(30), vehicle_class="bus", lane="lane-1"),
          crossing(gate="g2", frame_time=m(31)),
          flag_event(str(uuid.uuid4()), "start", gate="g2", flag_kind="hold_list", plate="30A-999.88")]
    assert post_events(client, env.other_key, g2).status_code == 200
    put_crop(client, env.key, g1[5]["event_id"], frame_jpeg)
    return {"g1": g1, "g2": g2}


def test_today_board_counts_a_local_day_per_gate_and_lane(day_posted: dict[str, Any], client: TestClient,
                                                          env: Env) -> None:
    r = client.get("/api/v1/today", headers=env.bearer(), params={"day": DAY})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["day"] == DAY and body["timezone"] == "Asia/Ho_Chi_Minh" and body["utc_offset"] == "+07:00"
    assert body["since"].startswith("2026-11-23T17:00:00") and body["until"].startswith("2026-11-24T17:00:00")
    lanes = {(x["gate"], x["lane"]): (x["entries"], x["exits"], x["total"]) for x in body["lanes"]}
    assert lanes == {
        ("g1", "lane-1"): ({}, {"truck": 2}, 2),
        ("g1", "lane-2"): ({"truck": 3, "car": 1}, {}, 4),
        ("g2", "lane-1"): ({"bus": 1}, {}, 1),
        ("g2", "lane-2"): ({"truck": 1}, {}, 1),
    }
    assert body["trucks"] == [{"gate": "g1", "trucks": 5, "capacity": 1000, "share": 0.005},
                              {"gate": "g2", "trucks": 1, "capacity": 1000, "share": 0.001}]
    assert body["open_flags"] == {"held": 1, "hold_list": 1, "empty_truck": 2}
    recent = body["recent"]
    assert len(recent) == 8
    assert [c["frame_time"] for c in recent] == sorted((c["frame_time"] for c in recent), reverse=True)
    newest = recent[0]
    assert newest["event_id"] == day_posted["g1"][5]["event_id"] and newest["plate"] == "51F67890"
    assert newest["crop_url"] == newest["evidence"][0]["url"] and newest["evidence"][0]["role"] == "crop"
    image = client.get(newest["crop_url"], headers=env.bearer())
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert all(c["crop_url"] is None for c in recent[1:])


def test_today_board_for_one_gate_and_the_last_n(day_posted: dict[str, Any], client: TestClient, env: Env) -> None:
    body = client.get("/api/v1/today", headers=env.bearer(), params={"day": DAY, "gate": "g2", "last": 1}).json()
    assert {(x["gate"], x["lane"]) for x in body["lanes"]} == {("g2", "lane-1"), ("g2", "lane-2")}
    assert body["trucks"] == [{"gate": "g2", "trucks": 1, "capacity": 1000, "share": 0.001}]
    assert body["open_flags"] == {"held": 0, "hold_list": 1, "empty_truck": 0}
    assert [c["event_id"] for c in body["recent"]] == [day_posted["g2"][1]["event_id"]]
    quiet = client.get("/api/v1/today", headers=env.bearer(), params={"day": DAY, "gate": "g9"}).json()
    assert quiet["lanes"] == [] and quiet["recent"] == [] and quiet["trucks"][0]["trucks"] == 0


def test_today_defaults_to_today_in_the_gate_zone(client: TestClient, env: Env) -> None:
    now = datetime.now(timezone.utc)
    assert post_events(client, env.key, [crossing(frame_time=now)]).status_code == 200
    body = client.get("/api/v1/today", headers=env.bearer()).json()
    assert body["day"] == now.astimezone(env.settings.tz).date().isoformat()
    assert body["trucks"] == [{"gate": "g1", "trucks": 1, "capacity": 1000, "share": 0.001}]


def test_today_uses_the_configured_capacity(day_posted: dict[str, Any], client: TestClient, env: Env) -> None:
    env.app.state.settings = env.settings.model_copy(update={"daily_truck_capacity": 4})
    try:
        body = client.get("/api/v1/today", headers=env.bearer(), params={"day": DAY, "gate": "g1"}).json()
    finally:
        env.app.state.settings = env.settings
    assert body["trucks"] == [{"gate": "g1", "trucks": 5, "capacity": 4, "share": 1.25}]


@pytest.mark.parametrize("value", ["0", "-5", "1000001", "lots"])
def test_daily_truck_capacity_is_validated(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from gatewatch.api.settings import load_settings

    monkeypatch.setenv("GATEWATCH_DAILY_TRUCK_CAPACITY", value)
    with pytest.raises(ConfigError, match="GATEWATCH_DAILY_TRUCK_CAPACITY"):
        load_settings()
    assert Settings(daily_truck_capacity=500).daily_truck_capacity == 500


@pytest.fixture
def visits_posted(client: TestClient, env: Env) -> None:
    """Crossings on 20 and 24 Nov, visits of five plates, and held flags (one still standing, one ended)."""
    day20 = T0 - timedelta(days=4)
    events = [
        crossing(frame_time=day20), crossing(frame_time=day20, vehicle_class="car", direction="exit", lane="lane-1"),
        # 29C12345: 30 min at the gate on the 24th
        crossing(frame_time=m(0), plate="29C12345"), crossing(frame_time=m(30), plate="29C12345", direction="exit"),
        # 51F67890: from the 23rd 08:00 to the 24th 09:00 local (25 h)
        crossing(frame_time=m(-24 * 60), plate="51F67890"), crossing(frame_time=m(60), plate="51F67890",
                                                                      direction="exit"),
        # 30A99988: 10 min
        crossing(frame_time=m(10), plate="30A99988"), crossing(frame_time=m(20), plate="30A99988", direction="exit"),
        # 43C11111: arrived, not gone
        crossing(frame_time=m(5), plate="43C11111"),
        # 15C22222: entered 8 days before leaving: beyond the lookback, no visit
        crossing(frame_time=m(-8 * 24 * 60), plate="15C22222"), crossing(frame_time=m(40), plate="15C22222",
                                                                          direction="exit"),
        # 88H33333: 2 h on the 20th (in the range, not on its last day)
        crossing(frame_time=day20, plate="88H33333"), crossing(frame_time=day20 + timedelta(hours=2),
                                                               plate="88H33333", direction="exit"),
    ]
    standing = flag_event(str(uuid.uuid4()), "start", at=m(50), flag_kind="held", zone="apron", plate="29C-999.99",
                          started_at=m(50))
    held_id = str(uuid.uuid4())
    gone = [flag_event(held_id, "start", at=m(0), flag_kind="held", zone="apron"),
            flag_event(held_id, "end", at=m(5), flag_kind="held", zone="apron")]
    assert post_events(client, env.key, events + [standing, *gone, flag_event(str(uuid.uuid4()), "start")]).status_code == 200


def test_trends_per_day_by_lane_direction_and_class(visits_posted: None, client: TestClient, env: Env) -> None:
    r = client.get("/api/v1/trends", headers=env.bearer(), params={"from": "2026-11-20", "to": DAY})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["by"] == "day" and body["buckets"] == [f"2026-11-{d}" for d in range(20, 25)]
    assert body["since"].startswith("2026-11-19T17:00") and body["until"].startswith("2026-11-24T17:00")
    rows = {(x["start"], x["lane"], x["direction"], x["vehicle_class"]): x["count"] for x in body["rows"]}
    assert rows == {
        ("2026-11-20", "lane-2", "entry", "truck"): 2, ("2026-11-20", "lane-1", "exit", "car"): 1,
        ("2026-11-20", "lane-2", "exit", "truck"): 1,
        ("2026-11-23", "lane-2", "entry", "truck"): 1,
        ("2026-11-24", "lane-2", "entry", "truck"): 3, ("2026-11-24", "lane-2", "exit", "truck"): 4,
    }


def test_trends_per_week_from_monday(visits_posted: None, client: TestClient, env: Env) -> None:
    body = client.get("/api/v1/trends", headers=env.bearer(),
                      params={"from": "2026-11-16", "to": DAY, "by": "week"}).json()
    assert body["buckets"] == ["2026-11-16", "2026-11-23"]
    per_week: dict[str, int] = {}
    for row in body["rows"]:
        per_week[row["start"]] = per_week.get(row["start"], 0) + row["count"]
    assert per_week == {"2026-11-16": 5, "2026-11-23": 8}  # 15C22222's entry on the 16th is in its week


def test_trends_clearance_histogram_slowest_and_held_now(visits_posted: None, client: TestClient, env: Env) -> None:
    before = datetime.now(timezone.utc)
    body = client.get("/api/v1/trends", headers=env.bearer(), params={"from": "2026-11-20", "to": DAY}).json()
    clearance = body["clearance"]
    assert clearance["visits"] == 4  # 10 min, 30 min, 2 h, 25 h; the 8-day one and the one still inside are not
    assert clearance["median_s"] == 1800 and clearance["p90_s"] == 25 * 3600
    bins = {(b["lo_s"], b["hi_s"]): b["count"] for b in clearance["histogram"]}
    assert bins[(0, 900)] == 1 and bins[(1800, 3600)] == 1 and bins[(7200, 14400)] == 1 and bins[(86400, None)] == 1
    assert sum(bins.values()) == 4
    assert clearance["slowest_day"] == DAY
    assert [(v["plate"], v["clearance_s"]) for v in clearance["slowest"]] == [
        ("51F67890", 25 * 3600), ("29C12345", 1800), ("30A99988", 600)]
    assert clearance["slowest"][0]["arrived_at"].startswith("2026-11-23T01:00")
    held = body["held_now"]
    assert [(h["plate"], h["zone"], h["status"]) for h in held] == [("29C99999", "apron", "open")]
    assert held[0]["started_at"].startswith("2026-11-24T01:50")
    assert held[0]["held_s"] >= (before - m(50)).total_seconds()  # counted to the server's now, after `before`


def test_trends_for_one_gate(visits_posted: None, client: TestClient, env: Env) -> None:
    body = client.get("/api/v1/trends", headers=env.bearer(), params={"from": "2026-11-20", "to": DAY,
                                                                      "gate": "g2"}).json()
    assert body["rows"] == [] and body["clearance"]["visits"] == 0 and body["held_now"] == []
    assert body["clearance"]["median_s"] is None


def test_trends_default_to_the_last_seven_days(client: TestClient, env: Env) -> None:
    body = client.get("/api/v1/trends", headers=env.bearer()).json()
    assert len(body["buckets"]) == 7 and body["buckets"][-1] == body["to_day"]
    weeks = client.get("/api/v1/trends", headers=env.bearer(), params={"by": "week"}).json()
    assert (datetime.fromisoformat(weeks["to_day"]) - datetime.fromisoformat(weeks["from_day"])).days == 55


def test_histogram_and_percentile_units() -> None:
    assert [n for _, _, n in clearance_histogram([0, 899, 900, 3600, 10 * 86400])] == [2, 1, 0, 1, 0, 0, 0, 1]
    assert percentile([], 0.5) is None and percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.9) == 4.0


@pytest.fixture
def plates_posted(client: TestClient, env: Env, frame_jpeg: bytes) -> dict[str, Any]:
    """29C12345 three times (last at g2, one crop), a look-alike Z9C12345, a one-edit 29C12346, an unrelated plate,
    a flag of 29C12345 with a snapshot, and 29C12345 on the hold list."""
    g1 = [crossing(frame_time=m(0), plate="29C-123.45"), crossing(frame_time=m(30), plate="29C12345", direction="exit"),
          crossing(frame_time=m(5), plate="Z9C12345"), crossing(frame_time=m(6), plate="29C12346"),
          crossing(frame_time=m(7), plate="51F67890")]
    flag = flag_event(str(uuid.uuid4()), "start", flag_kind="hold_list", plate="29C-123.45")
    assert post_events(client, env.key, g1 + [flag]).status_code == 200
    last = crossing(gate="g2", frame_time=m(24 * 60), plate="29C12345", lane="lane-9")
    assert post_events(client, env.other_key, [last]).status_code == 200
    put_crop(client, env.key, g1[0]["event_id"], frame_jpeg)
    put_crop(client, env.key, flag["event_id"], frame_jpeg, role="snapshot")
    hold = client.post("/api/v1/holds/entries", headers=env.bearer(), json={"plate": "29C-123.45", "reason": "check"})
    assert hold.status_code == 201
    return {"g1": g1, "flag": flag, "last": last}


def test_plate_search_exact_lookalike_and_one_edit(plates_posted: dict[str, Any], client: TestClient,
                                                   env: Env) -> None:
    r = client.get("/api/v1/vehicles", headers=env.bearer(), params={"q": "29c-123.45"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == "29C12345" and body["fuzzy"] is True and body["total"] == 3
    assert [(x["plate"], x["match"], x["crossings"], x["on_hold_list"]) for x in body["items"]] == [
        ("29C12345", "exact", 3, True), ("Z9C12345", "lookalike", 1, False), ("29C12346", "one_edit", 1, False)]
    best = body["items"][0]
    assert (best["last_gate"], best["last_lane"], best["last_direction"]) == ("g2", "lane-9", "entry")
    assert best["first_seen"].startswith("2026-11-24T01:00") and best["last_seen"].startswith("2026-11-25T01:00")


def test_plate_search_exact_only_and_limit(plates_posted: dict[str, Any], client: TestClient, env: Env) -> None:
    exact = client.get("/api/v1/vehicles", headers=env.bearer(), params={"q": "29C12345", "fuzzy": False}).json()
    assert [x["plate"] for x in exact["items"]] == ["29C12345"]
    first = client.get("/api/v1/vehicles", headers=env.bearer(), params={"q": "29C12345", "limit": 1}).json()
    assert first["total"] == 3 and [x["plate"] for x in first["items"]] == ["29C12345"]
    none = client.get("/api/v1/vehicles", headers=env.bearer(), params={"q": "99Z99999"}).json()
    assert none == {"query": "99Z99999", "fuzzy": True, "total": 0, "items": []}


def test_vehicle_history_carries_evidence_and_flags(plates_posted: dict[str, Any], client: TestClient,
                                                    env: Env) -> None:
    body = client.get("/api/v1/vehicles/29C12345", headers=env.bearer()).json()
    crops = {c["event_id"]: c["crop_url"] for c in body["crossings"]}
    assert crops[plates_posted["g1"][0]["event_id"]] is not None
    assert sum(url is not None for url in crops.values()) == 1
    assert [(f["flag_kind"], f["plate"]) for f in body["flags"]] == [("hold_list", "29C12345")]
    snapshot = body["flags"][0]["evidence"][0]
    assert snapshot["role"] == "snapshot"
    assert client.get(snapshot["url"], headers=env.bearer()).content == client.get(
        crops[plates_posted["g1"][0]["event_id"]], headers=env.bearer()).content
    assert body["visits"][0]["clearance_s"] == 1800


BAD_INPUTS = [
    pytest.param("/api/v1/today", {"day": "2026-13-01"}, "day", id="today-bad-day"),
    pytest.param("/api/v1/today", {"day": "1900-01-01"}, "day", id="today-day-before-1970"),
    pytest.param("/api/v1/today", {"day": "2100-01-01"}, "day", id="today-day-after-2099"),
    pytest.param("/api/v1/today", {"last": 0}, "last", id="today-last-zero"),
    pytest.param("/api/v1/today", {"last": 51}, "last", id="today-last-over-50"),
    pytest.param("/api/v1/today", {"gate": ""}, "gate", id="today-empty-gate"),
    pytest.param("/api/v1/today", {"gate": "g" * 65}, "gate", id="today-long-gate"),
    pytest.param("/api/v1/today", {"gate": "g1\x01"}, "gate", id="today-control-char-gate"),
    pytest.param("/api/v1/trends", {"from": "2026-11-25", "to": "2026-11-24"}, "before", id="trends-reversed"),
    pytest.param("/api/v1/trends", {"from": "2026-01-01", "to": "2026-04-03"}, "92 days", id="trends-93-days"),
    pytest.param("/api/v1/trends", {"by": "month"}, "by", id="trends-bad-bucket"),
    pytest.param("/api/v1/trends", {"from": "yesterday"}, "from", id="trends-bad-from"),
    pytest.param("/api/v1/trends", {"to": "9999-12-31"}, "to", id="trends-to-after-2099"),
    pytest.param("/api/v1/trends", {"gate": "g" * 65}, "gate", id="trends-long-gate"),
    pytest.param("/api/v1/vehicles", {}, "q", id="search-no-query"),
    pytest.param("/api/v1/vehicles", {"q": "2"}, "q", id="search-one-char"),
    pytest.param("/api/v1/vehicles", {"q": "2" * 33}, "q", id="search-33-chars"),
    pytest.param("/api/v1/vehicles", {"q": "2-.-"}, "2 letters or digits", id="search-one-alnum"),
    pytest.param("/api/v1/vehicles", {"q": "29C12345", "limit": 0}, "limit", id="search-limit-zero"),
    pytest.param("/api/v1/vehicles", {"q": "29C12345", "limit": 51}, "limit", id="search-limit-over-50"),
    pytest.param("/api/v1/vehicles", {"q": "29C12345", "fuzzy": "perhaps"}, "fuzzy", id="search-bad-fuzzy"),
]


@pytest.mark.parametrize(("path", "params", "mentions"), BAD_INPUTS)
def test_bad_inputs_answer_422(client: TestClient, env: Env, path: str, params: dict[str, Any], mentions: str) -> None:
    r = client.get(path, headers=env.bearer(), params=params)
    assert r.status_code == 422, r.text
    assert mentions in str(r.json()["detail"])


@pytest.mark.parametrize("path", ["/api/v1/today", "/api/v1/trends", "/api/v1/vehicles?q=29C12345"])
@pytest.mark.parametrize("auth", [None, "key", "garbage"])
def test_board_routes_need_an_operator(client: TestClient, env: Env, path: str, auth: str | None) -> None:
    headers = {"X-API-Key": env.key} if auth == "key" else {"Authorization": "Bearer abc.def.ghi"} if auth else {}
    assert client.get(path, headers=headers).status_code == 401
    assert client.get(path, headers=env.bearer()).status_code == 200


def test_hold_until_without_offset_is_the_gate_zone(client: TestClient, env: Env) -> None:
    """The hold editor sends a local time (a datetime-local field); it used to answer 500 (naive vs aware)."""
    r = client.post("/api/v1/holds/entries", headers=env.bearer(),
                    json={"plate": "29C-123.45", "reason": "seal check", "until": "2099-01-01T08:00:00"})
    assert r.status_code == 201, r.text
    assert r.json()["until"].startswith("2099-01-01T01:00:00")  # 08:00 in Asia/Ho_Chi_Minh
    past = client.post("/api/v1/holds/entries", headers=env.bearer(),
                       json={"plate": "29C-123.45", "reason": "x", "until": "2020-01-01T08:00:00"})
    assert past.status_code == 422 and "past" in past.json()["detail"]


def test_clearance_pairing_in_the_database_matches_the_vehicle_history(client: TestClient, env: Env) -> None:
    """Entries replaced by a later entry, exits without an entry, two gates: the window-function pairing of
    ``clearances`` gives the visits ``/vehicles/{plate}`` pairs in Python."""
    from gatewatch.api.board import clearances

    g1 = [crossing(frame_time=m(0), plate="29C12345"), crossing(frame_time=m(10), plate="29C12345"),
          crossing(frame_time=m(20), plate="29C12345", direction="exit"),
          crossing(frame_time=m(30), plate="29C12345", direction="exit"),
          crossing(frame_time=m(40), plate="29C12345")]
    g2 = [crossing(gate="g2", frame_time=m(5), plate="29C12345"),
          crossing(gate="g2", frame_time=m(50), plate="29C12345", direction="exit")]
    assert post_events(client, env.key, g1).status_code == 200
    assert post_events(client, env.other_key, g2).status_code == 200
    history = client.get("/api/v1/vehicles/29C12345", headers=env.bearer()).json()["visits"]
    expected = sorted((v["gate"], v["entry_event_id"], v["exit_event_id"], v["clearance_s"]) for v in history
                      if v["clearance_s"] is not None)
    with env.app.state.sessionmaker() as session:
        found = sorted((c.gate, c.entry_event_id, c.exit_event_id, c.clearance_s)
                       for c in clearances(session, None, m(-60), m(24 * 60)))
    assert found == expected == sorted([("g1", g1[1]["event_id"], g1[2]["event_id"], 600.0),
                                        ("g2", g2[0]["event_id"], g2[1]["event_id"], 2700.0)])


def test_trends_days_across_a_daylight_saving_change(client: TestClient, env: Env) -> None:
    """A zone whose offset changes inside the range (Europe/Berlin, 25 Oct 2026) is summed per hour here."""
    def utc(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)

    events = [crossing(frame_time=utc("2026-10-24T21:30:00")),  # 23:30 CEST on the 24th
              crossing(frame_time=utc("2026-10-24T22:30:00")),  # 00:30 CEST on the 25th
              crossing(frame_time=utc("2026-10-25T22:30:00")),  # 23:30 CET on the 25th
              crossing(frame_time=utc("2026-10-25T23:30:00"))]  # 00:30 CET on the 26th
    assert post_events(client, env.key, events).status_code == 200
    env.app.state.settings = env.settings.model_copy(update={"timezone": "Europe/Berlin"})
    try:
        body = client.get("/api/v1/trends", headers=env.bearer(),
                          params={"from": "2026-10-24", "to": "2026-10-26"}).json()
    finally:
        env.app.state.settings = env.settings
    assert [(r["start"], r["count"]) for r in body["rows"]] == [("2026-10-24", 1), ("2026-10-25", 2),
                                                                 ("2026-10-26", 1)]
    assert body["since"].startswith("2026-10-23T22:00") and body["until"].startswith("2026-10-26T23:00")


def test_trends_days_split_at_local_midnight(client: TestClient, env: Env) -> None:
    """With the gate's fixed offset (+07:00) the database sums per local day: 23:30 and 00:30 local fall apart."""
    events = [crossing(frame_time=m(15 * 60 + 30 - 24 * 60)), crossing(frame_time=m(16 * 60 + 30 - 24 * 60))]
    assert post_events(client, env.key, events).status_code == 200
    body = client.get("/api/v1/trends", headers=env.bearer(), params={"from": "2026-11-23", "to": DAY}).json()
    assert [(r["start"], r["count"]) for r in body["rows"]] == [("2026-11-23", 1), ("2026-11-24", 1)]
