"""Exports of crossings, counts and reviewed flags (CSV, JSON, NDJSON), streamed; counts labelled in the gate's zone."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from gatewatch.api.models import Crossing
from tests.api.helpers import T0, Env, crossing, flag_event, post_events

DAY = {"since": "2026-11-24T00:00:00", "until": "2026-11-25T00:00:00"}  # naive: the gate's zone (Asia/Ho_Chi_Minh)
ZONE = "Asia/Ho_Chi_Minh"


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _as_csv_cells(row: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in row.items()}


def test_crossings_export_csv_in_the_gates_zone_round_trips_to_json(client: TestClient, env: Env) -> None:
    events = [crossing(track_id=i, frame_time=T0 + timedelta(minutes=i), plate=f"29C1234{i}") for i in range(3)]
    events.append(crossing(gate="g1", track_id=9, frame_time=T0 - timedelta(hours=2)))  # 06:00 local: inside
    events.append(crossing(gate="g1", track_id=10, frame_time=T0 + timedelta(days=1)))  # next local day: outside
    assert post_events(client, env.key, events).status_code == 200

    r = client.get("/api/v1/crossings/export", params={**DAY, "gate": "g1"}, headers=env.bearer())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="crossings_g1_20261124T0000_20261125T0000.csv"'
    assert "content-length" not in r.headers  # streamed (chunked), not built whole
    assert r.headers["x-content-type-options"] == "nosniff" and "default-src 'none'" in r.headers[
        "content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert r.text.startswith("event_id,gate,camera,lane,direction,vehicle_class,time,timezone,")
    assert "\r\n" in r.text  # RFC 4180 line ends
    rows = _csv(r.text)
    assert [row["track_id"] for row in rows] == ["9", "0", "1", "2"]  # oldest first
    assert rows[1]["time"] == "2026-11-24T08:00:00+07:00" and rows[0]["time"] == "2026-11-24T06:00:00+07:00"
    assert {row["timezone"] for row in rows} == {ZONE}
    assert rows[1]["plate"] == "29C12340" and rows[0]["plate"] == ""

    as_json = client.get("/api/v1/crossings/export", params={**DAY, "gate": "g1", "format": "json"},
                         headers=env.bearer())
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    assert as_json.headers["content-disposition"].endswith('.json"')
    items = as_json.json()
    assert [_as_csv_cells(item) for item in items] == rows  # the CSV round-trips to the API's JSON
    assert items[1]["track_id"] == 0 and items[1]["confidence"] == 0.9

    # Accept: negotiation when there is no format parameter
    negotiated = client.get("/api/v1/crossings/export", params=DAY, headers={**env.bearer(), "Accept": "text/csv"})
    assert negotiated.headers["content-type"].startswith("text/csv") and _csv(negotiated.text)[0]["track_id"] == "9"
    negotiated = client.get("/api/v1/crossings/export", params=DAY,
                            headers={**env.bearer(), "Accept": "application/json"})
    assert negotiated.headers["content-type"] == "application/json" and len(negotiated.json()) == 4
    ndjson = client.get("/api/v1/crossings/export", params={**DAY, "format": "ndjson"}, headers=env.bearer())
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line) for line in ndjson.text.splitlines()] == items

    empty = client.get("/api/v1/crossings/export", params={**DAY, "gate": "nowhere", "format": "json"},
                       headers=env.bearer())
    assert empty.json() == []
    assert client.get("/api/v1/crossings/export", params={**DAY, "gate": "nowhere"},
                      headers=env.bearer()).text.count("\r\n") == 1  # the header row alone


def test_csv_cells_that_look_like_formulas_get_a_quote(client: TestClient, env: Env) -> None:
    events = [crossing(track_id=1, lane="=cmd|'/c calc'!A1", plate="+29C12345"),
              crossing(track_id=2, lane="@SUM(1)", plate="29C-678.90")]
    events[1]["plate"]["text_raw"] = "-29C67890"
    assert post_events(client, env.key, events).status_code == 200
    rows = _csv(client.get("/api/v1/crossings/export", params=DAY, headers=env.bearer()).text)
    by_track = {row["track_id"]: row for row in rows}
    assert by_track["1"]["lane"] == "'=cmd|'/c calc'!A1" and by_track["1"]["plate_raw"] == "'+29C12345"
    assert by_track["1"]["plate"] == "29C12345"  # a plain value is left alone
    assert by_track["2"]["lane"] == "'@SUM(1)" and by_track["2"]["plate_raw"] == "'-29C67890"
    items = client.get("/api/v1/crossings/export", params={**DAY, "format": "json"}, headers=env.bearer()).json()
    assert {i["lane"] for i in items} == {"=cmd|'/c calc'!A1", "@SUM(1)"}  # JSON is data, not a spreadsheet


def test_reviewed_flags_export_with_note_reviewer_and_local_times(client: TestClient, env: Env) -> None:
    reviewed, still_open = str(uuid.uuid4()), str(uuid.uuid4())
    events = [flag_event(reviewed, "start", plate="51F-123.45"), flag_event(reviewed, "end", at=T0 + timedelta(seconds=90)),
              flag_event(still_open, "start")]
    assert post_events(client, env.key, events).status_code == 200
    note = '=HYPERLINK("http://evil.example","seal ok")'
    review = client.post(f"/api/v1/flags/{reviewed}/review", headers=env.bearer(),
                         json={"action": "confirm", "note": note})
    assert review.status_code == 200, review.text

    r = client.get("/api/v1/flags/export", params=DAY, headers=env.bearer())
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="flags_all-gates_20261124T0000_20261125T0000.csv"'
    rows = _csv(r.text)
    assert [row["flag_id"] for row in rows] == [reviewed]
    row = rows[0]
    assert row["status"] == "confirmed" and row["reviewed_by"] == "olga" and row["review_note"] == "'" + note
    assert row["started_at"] == "2026-11-24T08:00:00+07:00" and row["ended_at"] == "2026-11-24T08:01:30+07:00"
    assert row["reviewed_at"].endswith("+07:00") and row["timezone"] == ZONE and row["duration_s"] == "90.0"
    items = client.get("/api/v1/flags/export", params={**DAY, "status": "all", "format": "json"},
                       headers=env.bearer()).json()
    assert {i["flag_id"] for i in items} == {reviewed, still_open}
    assert next(i for i in items if i["flag_id"] == reviewed)["review_note"] == note


def test_counts_label_hours_in_the_gates_zone(client: TestClient, env: Env) -> None:
    late = T0 + timedelta(hours=14)  # 15:00 UTC = 22:00 in Asia/Ho_Chi_Minh
    assert post_events(client, env.key, [crossing(frame_time=late)]).status_code == 200
    counts = client.get("/api/v1/counts", params=DAY, headers=env.bearer()).json()
    assert counts["timezone"] == ZONE and counts["utc_offset"] == "+07:00"
    assert len(counts["buckets"]) == 24
    busy = [b for b in counts["buckets"] if b["count"]]
    assert busy == [{"start": "2026-11-24T15:00:00Z", "count": 1, "local": "2026-11-24T22:00:00+07:00",
                     "label": "22"}]
    assert [b["label"] for b in counts["buckets"]] == [f"{h:02d}" for h in range(24)]
    days = client.get("/api/v1/counts", params={**DAY, "bucket": "day"}, headers=env.bearer()).json()
    assert [(b["label"], b["local"], b["count"]) for b in days["buckets"]] == [
        ("2026-11-24", "2026-11-24T00:00:00+07:00", 1)]

    r = client.get("/api/v1/counts/export", params={**DAY, "gate": "g1"}, headers=env.bearer())
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="counts-hour_g1_20261124T0000_20261125T0000.csv"'
    rows = _csv(r.text)
    assert len(rows) == 24 and sum(int(row["count"]) for row in rows) == 1
    assert rows[22] == {"start": "2026-11-24T22:00:00+07:00", "end": "2026-11-24T23:00:00+07:00", "label": "22",
                        "timezone": ZONE, "bucket": "hour", "count": "1"}
    day = client.get("/api/v1/counts/export", params={**DAY, "bucket": "day", "format": "json"},
                     headers=env.bearer()).json()
    assert day == [{"start": "2026-11-24T00:00:00+07:00", "end": "2026-11-25T00:00:00+07:00", "label": "2026-11-24",
                    "timezone": ZONE, "bucket": "day", "count": 1}]


def test_export_range_is_required_bounded_and_parameters_limited(client: TestClient, env: Env) -> None:
    op = env.bearer()
    for path in ("/api/v1/crossings/export", "/api/v1/counts/export", "/api/v1/flags/export"):
        assert client.get(path, params=DAY).status_code == 401
        assert client.get(path, params=DAY, headers={"X-API-Key": env.key}).status_code == 401
        assert client.get(path, headers=op).status_code == 422  # range required
        assert client.get(path, params={"since": DAY["since"]}, headers=op).status_code == 422
        assert client.get(path, params={"since": DAY["until"], "until": DAY["since"]}, headers=op).status_code == 422
        long = client.get(path, params={"since": "2026-01-01T00:00:00", "until": "2026-04-04T00:00:00"}, headers=op)
        assert long.status_code == 422 and "92 days" in long.text
        ok = client.get(path, params={"since": "2026-01-01T00:00:00", "until": "2026-04-03T00:00:00"}, headers=op)
        assert ok.status_code == 200, ok.text  # exactly 92 days
        assert client.get(path, params={**DAY, "format": "xlsx"}, headers=op).status_code == 422
        assert client.get(path, params={**DAY, "gate": "g" * 65}, headers=op).status_code == 422
        assert client.get(path, params={**DAY, "gate": "g\x00"}, headers=op).status_code == 422
        assert client.get(path, params={"since": "1900-01-01T00:00:00", "until": DAY["until"]},
                          headers=op).status_code == 422
    assert client.get("/api/v1/flags/export", params={**DAY, "status": "nope"}, headers=op).status_code == 422
    assert client.get("/api/v1/counts/export", params={**DAY, "bucket": "week"}, headers=op).status_code == 422
    odd = client.get("/api/v1/crossings/export", params={**DAY, "gate": 'a"b/../c'}, headers=op)
    assert odd.headers["content-disposition"] == 'attachment; filename="crossings_a-b-..-c_20261124T0000_20261125T0000.csv"'


def test_crossings_export_streams_in_batches(client: TestClient, env: Env) -> None:
    n = 20_000
    rows = [{"event_id": str(uuid.UUID(int=i + 1)), "gate": "g1", "camera": "cam-1", "lane": "lane-2",
             "direction": "entry" if i % 2 else "exit", "vehicle_class": "truck",
             "frame_time": T0 + timedelta(seconds=i), "hour": int((T0 + timedelta(seconds=i)).timestamp() // 3600),
             "track_id": i, "confidence": 0.5, "plate": f"29C{i:05d}"} for i in range(n)]
    with env.app.state.sessionmaker() as session:
        session.execute(insert(Crossing), rows)
        session.commit()
    for fmt, header_lines in (("csv", 1), ("ndjson", 0)):
        chunks = 0
        body = bytearray()
        with client.stream("GET", "/api/v1/crossings/export", params={**DAY, "format": fmt},
                           headers=env.bearer()) as r:
            assert r.status_code == 200
            assert "content-length" not in r.headers
            for chunk in r.iter_raw():
                chunks += 1
                body += chunk
        assert chunks >= n // 1000  # about one chunk per database batch of 1,000 rows
        lines = bytes(body).decode().splitlines()
        assert len(lines) == n + header_lines
    with client.stream("GET", "/api/v1/crossings/export", params={**DAY, "format": "json"}, headers=env.bearer()) as r:
        items = json.loads(b"".join(r.iter_raw()))
    assert len(items) == n and items[0]["track_id"] == 0 and items[-1]["track_id"] == n - 1
