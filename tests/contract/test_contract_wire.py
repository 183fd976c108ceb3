"""The wire: events reach the API without edge-local paths; the hold list comes through the same client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gatewatch.contract import (
    EDGE_LOCAL_FIELDS,
    CrossingEvent,
    FlagEvent,
    HoldEntry,
    PlateRead,
    event_adapter,
    parse_event,
    wire_body,
    wire_dict,
)
from gatewatch.sinks.http import ApiClient, ApiConfigError
from gatewatch.vision.flags.holds import Hold, fetch_holds

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def _crossing() -> CrossingEvent:
    plate = PlateRead(text="77L12345", text_raw="77L-123.45", country="VN", confidence=0.9, crop_path="/edge/p.jpg")
    return CrossingEvent(gate="g1", camera="cam-1", lane="lane-2", direction="entry", vehicle_class="truck",
                         track_id=7, confidence=0.9, frame_time=T0, stream_ts=1.0, frame_index=25,
                         box=(10, 20, 200, 180), crop_path="/edge/crops/a.jpg", plate=plate)


def _flag() -> FlagEvent:
    return FlagEvent(flag_id="5b0c7f6e-7d43-4a4e-9d36-1d8f0a1b2c3d", flag_kind="held", phase="start", gate="g1",
                     camera="cam-1", started_at=T0, frame_time=T0, stream_ts=1.0, duration_s=0.0,
                     snapshot_path="/edge/s.jpg", crop_path="/edge/c.jpg", details={"zone": "桂"})


def _no_paths(data: dict[str, Any]) -> bool:
    plate = data.get("plate") or {}
    return not any(name in data or name in plate for name in EDGE_LOCAL_FIELDS)


@pytest.mark.parametrize("event", [_crossing(), _flag()], ids=["crossing", "flag"])
def test_wire_form_leaves_out_edge_local_paths_and_nothing_else(event: CrossingEvent | FlagEvent) -> None:
    full = event.model_dump(mode="json")
    wire = wire_dict(event)
    assert _no_paths(wire) and not _no_paths(full)
    assert parse_event(wire) == event.model_copy(update={name: None for name in EDGE_LOCAL_FIELDS if name in full}
                                                 | ({"plate": event.plate.model_copy(update={"crop_path": None})}
                                                    if event.plate else {}))
    assert json.loads(wire_body(event.model_dump_json())) == wire
    assert event_adapter.validate_python(full) == event  # an older edge's event (paths and all) still parses


def test_wire_body_keeps_what_is_not_an_event_object() -> None:
    assert wire_body("[1, 2]") == "[1, 2]" and wire_body("not json") == "not json"


class _FakeApi(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, dict[str, str], bytes]] = []
    holds: Any = {"holds": [{"plate": "77L12345", "reason": "unpaid fees", "until": None}]}

    def _answer(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(("POST", self.path, dict(self.headers), body))
        self._answer(200, {"accepted": 2, "duplicates": 0})

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append(("GET", self.path, dict(self.headers), b""))
        self._answer(200, self.holds)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_api() -> Iterator[str]:
    _FakeApi.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_one_client_sends_events_without_paths_and_fetches_the_hold_list(fake_api: str) -> None:
    with ApiClient(fake_api, "gwk_test") as client:
        ack = client.post_events([_crossing().model_dump_json(), _flag().model_dump_json()])
        holds = client.holds()
    assert ack.accepted == 2
    assert holds == [HoldEntry(plate="77L12345", reason="unpaid fees")]
    (_, path, post_headers, body), (_, get_path, get_headers, _) = _FakeApi.seen
    sent = json.loads(body)["events"]
    assert path == "/api/v1/events" and get_path == "/api/v1/holds"
    assert [e["kind"] for e in sent] == ["crossing", "flag"] and all(_no_paths(e) for e in sent)
    assert sent[0]["plate"]["text"] == "77L12345" and sent[1]["details"] == {"zone": "桂"}
    for headers in (post_headers, get_headers):  # same key header and client on both routes
        assert headers["X-API-Key"] == "gwk_test" and headers["User-Agent"].startswith("gatewatch-edge/")


def test_edge_hold_fetch_goes_through_the_api_client(fake_api: str) -> None:
    holds = fetch_holds(f"{fake_api}/api/v1/holds", "gwk_test", timeout_s=2.0)
    assert holds == [Hold(plate="77L12345", reason="unpaid fees")] and Hold is HoldEntry
    (method, path, headers, _), = _FakeApi.seen
    assert (method, path, headers["X-API-Key"]) == ("GET", "/api/v1/holds", "gwk_test")
    assert headers["User-Agent"].startswith("gatewatch-edge/")
    fetch_holds(f"{fake_api}/api/v1/holds", None)
    assert "X-API-Key" not in _FakeApi.seen[-1][2]


def test_hold_fetch_refuses_what_is_not_a_hold_list(fake_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_FakeApi, "holds", {"holds": [{"reason": "no plate"}]})
    with pytest.raises(ApiConfigError, match="holds.0.plate"):
        fetch_holds(f"{fake_api}/api/v1/holds", "k")
    monkeypatch.setattr(_FakeApi, "holds", [{"plate": "51F12345"}])  # a bare list still reads
    assert [h.plate for h in fetch_holds(f"{fake_api}/api/v1/holds", "k")] == ["51F12345"]
