"""Outbox against the real gate API: delivery with images, a bad event, auth errors, the disk bound, corruption."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import httpx
import pytest

from gatewatch.events import CrossingEvent
from gatewatch.sinks.http import ApiClient
from gatewatch.sinks.outbox import Outbox, OutboxSink, RetryPolicy
from tests.sinks.helpers import (
    ApiServer,
    big_jpegs,
    free_port,
    make_crossing,
    make_flag,
    real_jpegs,
    wait_for,
)

FAST_RETRY = RetryPolicy(initial_s=0.1, max_s=0.5, jitter_s=0.1)


def sink_for(path: Path, url: str, key: str, **kwargs: object) -> OutboxSink:
    client = ApiClient(url, key, connect_timeout_s=1.0, read_timeout_s=3.0)
    options: dict[str, object] = {"retry": FAST_RETRY, "close_grace_s": 5.0, "batch_size": 7, **kwargs}
    return OutboxSink(Outbox(path), client, **options)  # type: ignore[arg-type]


def bad_event(i: int) -> CrossingEvent:
    """An event the API refuses (confidence 1.7), as a newer or buggy edge build could produce."""
    good = make_crossing(i)
    return CrossingEvent.model_construct(**{**dict(good), "event_id": uuid.uuid4(), "confidence": 1.7})


def test_events_and_images_delivered_once(tmp_path: Path, api: ApiServer, api_key: str) -> None:
    crops = real_jpegs(12)
    events = [make_crossing(i, crops[i], plate_crop=crops[i + 6] if i < 6 else None) for i in range(12)]
    events += [make_flag(i, snapshot=crops[i]) for i in range(3)]
    sink = sink_for(tmp_path / "o.sqlite", api.url, api_key)
    for event in events:
        sink.emit(event)
    assert sink.wait_idle(30)
    sink.close()
    ids = {str(e.event_id) for e in events}
    assert ids <= set(api.event_ids())
    want = {(str(e.event_id), "crop") for e in events[:12]} | {(str(e.event_id), "plate") for e in events[:6]}
    want |= {(str(e.event_id), "snapshot") for e in events[12:]}
    assert want <= api.evidence()
    stats = Outbox(tmp_path / "o.sqlite").stats()
    assert (stats.pending_events, stats.pending_evidence, stats.delivered_total) == (0, 0, 15)
    assert stats.evidence_sent_total == 21
    assert list((tmp_path / "o.sqlite.evidence").iterdir()) == []  # copies deleted once acknowledged


def test_bad_event_set_aside_rest_delivered(tmp_path: Path, api: ApiServer, api_key: str) -> None:
    bad = bad_event(99)
    events = [make_crossing(i) for i in range(10)] + [bad] + [make_crossing(i) for i in range(10, 20)]
    path = tmp_path / "o.sqlite"
    sink = sink_for(path, api.url, api_key, batch_size=50)
    for event in events:
        sink.emit(event)
    assert sink.wait_idle(30)
    sink.close()
    stored = set(api.event_ids())
    assert {str(e.event_id) for e in events if e is not bad} <= stored
    assert str(bad.event_id) not in stored
    outbox = Outbox(path)
    [(event_id, reason, status)] = outbox.rejected()
    assert (event_id, status) == (str(bad.event_id), 422)
    assert "confidence" in reason
    assert outbox.stats().delivered_total == 20


def test_auth_error_keeps_events_then_resumes(tmp_path: Path, api: ApiServer, api_key: str,
                                               caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    path = tmp_path / "o.sqlite"
    events = [make_crossing(i) for i in range(5)]
    sink = sink_for(path, api.url, "gwk_wrong", close_grace_s=0.5)
    with caplog.at_level(logging.ERROR, logger="gatewatch.sinks.outbox"):
        for event in events:
            sink.emit(event)
        assert wait_for(lambda: any("refuses our key" in r.message for r in caplog.records), 10)
        sink.close()
    stats = Outbox(path).stats()
    assert stats.pending_events == 5 and "401" in (stats.last_error or "")
    assert not {str(e.event_id) for e in events} & set(api.event_ids())
    # Next start with the right key resumes the backlog.
    sink = sink_for(path, api.url, api_key)
    assert sink.wait_idle(20)
    sink.close()
    assert {str(e.event_id) for e in events} <= set(api.event_ids())


def test_close_without_api_is_bounded_and_loses_nothing(tmp_path: Path) -> None:
    import time

    path = tmp_path / "o.sqlite"
    sink = sink_for(path, f"http://127.0.0.1:{free_port()}", "gwk_x", close_grace_s=1.0)
    events = [make_crossing(i, real_jpegs(1)[0]) for i in range(10)]
    for event in events:
        sink.emit(event)
    start = time.monotonic()
    sink.close()
    assert time.monotonic() - start < 1.0 + 3.0 + 1.0  # grace + one request's timeouts + slack
    outbox = Outbox(path)
    assert outbox.event_ids(delivered=False) == [str(e.event_id) for e in events]
    assert outbox.stats().pending_evidence == 10


def test_disk_bound_prunes_delivered_images_first(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    photos = big_jpegs(12)
    sizes = [p.stat().st_size for p in photos]
    budget_mb = (sum(sizes[:8]) + 200_000) / 1e6  # room for ~8 images plus the database
    outbox = Outbox(tmp_path / "o.sqlite", max_disk_mb=budget_mb)
    first = [make_crossing(i, photos[i]) for i in range(6)]
    for event in first:
        outbox.add(event)
    outbox.mark_delivered([str(e.event_id) for e in first[:3]], accepted=3, duplicates=0)  # the API's ack
    later = [make_crossing(6 + i, photos[6 + i]) for i in range(6)]
    with caplog.at_level(logging.ERROR):
        for event in later:
            outbox.add(event)
    stats = outbox.stats()
    assert stats.disk_bytes <= outbox.max_disk_bytes
    assert stats.pending_events == 9 and stats.delivered_total == 3  # no event dropped
    assert stats.kept_delivered_events < 3  # delivered rows with images done were purged first
    with outbox._lock:
        states = dict(outbox._conn.execute("SELECT event_id, state FROM evidence").fetchall())
    pruned = [i for i, e in enumerate(first + later) if states.get(str(e.event_id), "pruned") == "pruned"]
    # delivered events' images (0, 1, 2) go first, then the oldest undelivered ones, in order
    assert pruned[:3] == [0, 1, 2] and pruned == list(range(len(pruned)))
    assert states[str(later[-1].event_id)] == "pending"
    assert stats.evidence_pruned_total == len(pruned)
    on_disk = sum(f.stat().st_size for f in outbox.evidence_dir.iterdir())
    assert on_disk == stats.pending_evidence_bytes


def test_events_never_dropped_over_bound(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", max_disk_mb=0.05)  # smaller than the events themselves
    with caplog.at_level(logging.ERROR):
        for i in range(300):
            outbox.add(make_crossing(i))
    assert outbox.stats().pending_events == 300
    assert any("keeping them all" in r.message for r in caplog.records)


@pytest.mark.parametrize("damage", ["garbage", "torn_pages"])
def test_corrupt_outbox_set_aside(tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "o.sqlite"
    outbox = Outbox(path)
    events = [make_crossing(i) for i in range(200)]
    for event in events:
        outbox.add(event)
    outbox.close()
    raw = bytearray(path.read_bytes())
    if damage == "garbage":
        raw[:100] = b"\x17" * 100  # the header: not a database any more
    else:
        pages = len(raw) // 4096
        for page in range(pages // 2, pages, 3):  # tear some later pages, as a half-written flush would
            raw[page * 4096 : page * 4096 + 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(raw))
    with caplog.at_level(logging.ERROR, logger="gatewatch.sinks.outbox"):
        fresh = Outbox(path)
    aside = [p for p in tmp_path.glob("o.sqlite.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(raw)
    assert any("is corrupt" in r.message and str(aside[0]) in r.message for r in caplog.records)
    salvaged = fresh.event_ids()
    assert set(salvaged) <= {str(e.event_id) for e in events}
    if damage == "torn_pages":
        assert 0 < len(salvaged) < 200  # what could be read was kept
    extra = make_crossing(1000)
    assert fresh.add(extra) and str(extra.event_id) in fresh.event_ids(delivered=False)


def test_status_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gatewatch.cli import main

    path = tmp_path / "o.sqlite"
    outbox = Outbox(path)
    for i in range(4):
        outbox.add(make_crossing(i, real_jpegs(1)[0]))
    outbox.mark_delivered([outbox.event_ids()[0]], accepted=1, duplicates=0)
    assert main(["outbox", "status", "--path", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["pending_events"], data["pending_evidence"], data["delivered_total"]) == (3, 4, 1)
    assert data["oldest_pending_age_s"] >= 0
    assert main(["outbox", "status", "--path", str(path)]) == 0
    assert "pending events  3" in capsys.readouterr().out
    assert main(["outbox", "status", "--path", str(tmp_path / "missing.sqlite")]) == 1


def test_lost_acknowledgement_is_a_duplicate_not_a_double(
    tmp_path: Path, api: ApiServer, api_key: str
) -> None:
    """The API stored a batch but the edge died before marking it: the resend is counted, not stored twice."""
    events = [make_crossing(i) for i in range(4)]
    client = ApiClient(api.url, api_key)
    client.post_events([e.model_dump_json() for e in events[:2]])  # stored; the "ack" is lost with the edge
    client.close()
    path = tmp_path / "o.sqlite"
    sink = sink_for(path, api.url, api_key)
    for event in events:
        sink.emit(event)
    assert sink.wait_idle(20)
    sink.close()
    stats = Outbox(path).stats()
    assert (stats.delivered_total, stats.accepted_total, stats.duplicates_total) == (4, 2, 2)
    stored = api.event_ids()
    assert all(stored.count(str(e.event_id)) == 1 for e in events)


def test_image_the_api_holds_other_bytes_for_is_set_aside(tmp_path: Path, api: ApiServer, api_key: str) -> None:
    """409 for an image (the API keeps the bytes it has for that role): set aside, the queue goes on."""
    first, other = real_jpegs(2)
    conflicting, fine = make_crossing(40, other), make_crossing(41, first)
    headers = {"X-API-Key": api_key}
    body = {"events": [json.loads(conflicting.model_dump_json())]}
    assert httpx.post(f"{api.url}/api/v1/events", json=body, headers=headers).status_code == 200
    put = httpx.put(f"{api.url}/api/v1/events/{conflicting.event_id}/evidence/crop", content=first.read_bytes(),
                    headers={**headers, "Content-Type": "image/jpeg"})
    assert put.status_code == 201
    sink = sink_for(tmp_path / "o.sqlite", api.url, api_key)
    sink.emit(conflicting)  # the same event (a duplicate), but its crop differs from the stored one
    sink.emit(fine)
    assert sink.wait_idle(30)  # before: the 409 was "unexpected" and retried forever
    sink.close()
    stats = Outbox(tmp_path / "o.sqlite").stats()
    assert (stats.pending_events, stats.pending_evidence) == (0, 0)
    assert (stats.evidence_rejected_total, stats.evidence_sent_total) == (1, 1)
    assert {(str(conflicting.event_id), "crop"), (str(fine.event_id), "crop")} <= api.evidence()
