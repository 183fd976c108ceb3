"""Recovery keeps what it can: one case per kind of damage, with exact counts of events and images kept.

The damage is done to real outbox files (one written by a process killed with SIGKILL); the
expected events are those whose JSON text is still whole somewhere in the damaged file or its WAL,
so nothing readable may be dropped and nothing may be invented. No image copy is ever deleted.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gatewatch.sinks.outbox import Outbox
from tests.sinks.helpers import ROOT, make_crossing, real_jpegs

N_WITH_IMAGES = 12

CHILD = """
import json, os, sys, time
sys.path.insert(0, {root!r})
from tests.sinks.helpers import make_crossing
from pathlib import Path
from gatewatch.sinks.outbox import Outbox
crops = sorted(Path({crops!r}).glob("*.jpg"))[:{n}]
outbox = Outbox({path!r})
bodies = {{}}
for i in range({count}):
    event = make_crossing(i, crops[i] if i < len(crops) else None)
    outbox.add(event)
    bodies[str(event.event_id)] = event.model_dump_json()
Path({out!r}).write_text(json.dumps(bodies))
print("stored", flush=True)
time.sleep(60)
"""


def fill_in_killed_process(path: Path, count: int) -> dict[str, str]:
    """Write ``count`` events (the first 12 with images) from a child process, then SIGKILL it."""
    out = path.with_name("bodies.json")
    crops = real_jpegs(N_WITH_IMAGES)[0].parent
    code = CHILD.format(root=str(ROOT), crops=str(crops), n=N_WITH_IMAGES, path=str(path), count=count,
                        out=str(out))  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"stored"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return json.loads(out.read_text())


def fill_and_close(path: Path, count: int) -> dict[str, str]:
    crops = real_jpegs(N_WITH_IMAGES)
    outbox = Outbox(path)
    bodies = {}
    for i in range(count):
        event = make_crossing(i, crops[i] if i < N_WITH_IMAGES else None)
        outbox.add(event)
        bodies[str(event.event_id)] = event.model_dump_json()
    outbox.close()
    return bodies


def damage(path: Path, kind: str) -> dict[str, str]:
    """Make an outbox, damage it as ``kind`` says; the bodies of the events that were stored."""
    if kind == "wal_cut":
        bodies = fill_in_killed_process(path, 10)
        wal = Path(f"{path}-wal")
        data = wal.read_bytes()
        assert len(data) > 4096  # the last commits' frames are still in the WAL
        wal.write_bytes(data[: len(data) // 2])
        return bodies
    bodies = fill_and_close(path, 200 if kind == "torn_pages" else N_WITH_IMAGES)
    raw = bytearray(path.read_bytes())
    if kind == "empty":
        raw = bytearray()
    elif kind == "header":
        raw[:100] = os.urandom(100)
    elif kind == "torn_pages":
        pages = len(raw) // 4096
        for page in range(3, pages, 4):  # every fourth page torn, as a half-written flush would leave it
            raw[page * 4096 : page * 4096 + 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(raw))
    return bodies


def still_whole(bodies: dict[str, str], path: Path, aside: Path) -> set[str]:
    """Ids of the events whose JSON text is whole in the damaged file or its WAL (as kept aside)."""
    blob = b"".join(p.read_bytes() for p in (aside, Path(f"{aside}-wal")) if p.is_file())
    return {event_id for event_id, body in bodies.items() if body.encode() in blob}


@pytest.mark.parametrize("kind", ["empty", "header", "torn_pages", "wal_cut"])
def test_recovery_keeps_every_readable_event_and_every_image(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "o.sqlite"
    bodies = damage(path, kind)
    evidence = path.with_name("o.sqlite.evidence")
    images_before = {p.name: p.read_bytes() for p in evidence.iterdir()}
    assert len(images_before) == min(N_WITH_IMAGES, len(bodies))
    damaged = {suffix: Path(f"{path}{suffix}").read_bytes() for suffix in ("", "-wal") if Path(f"{path}{suffix}").is_file()}
    with caplog.at_level(logging.ERROR, logger="gatewatch.sinks.outbox"):
        outbox = Outbox(path)
    [aside] = [p for p in tmp_path.glob("o.sqlite.corrupt-*") if p.suffix != ".evidence" and not p.name.endswith(("-wal", "-shm"))]
    # The damaged files are kept aside exactly as found.
    assert {s: Path(f"{aside}{s}").read_bytes() for s in damaged} == damaged
    expected = still_whole(bodies, path, aside)
    kept = set(outbox.event_ids(delivered=False))
    assert kept == expected
    with_images = {name.split(".")[0] for name in images_before}
    stats = outbox.stats()
    assert stats.pending_evidence == len(expected & with_images)
    # No image deleted: those of kept events are queued, the others moved beside the damaged file.
    moved = {p.name: p.read_bytes() for p in Path(f"{aside}.evidence").glob("*")}
    queued = {p.name: p.read_bytes() for p in evidence.iterdir()}
    assert {**queued, **moved} == images_before and not set(queued) & set(moved)
    assert {name.split(".")[0] for name in queued} == expected & with_images
    [report] = [r.message for r in caplog.records if r.message.startswith("outbox salvage from")]
    assert f"kept {len(expected)} events" in report
    assert f"and {len(expected & with_images)} images" in report
    assert f"{len(images_before) - len(expected & with_images)} images naming no recovered event" in report
    assert any("is corrupt" in r.message for r in caplog.records)
    if kind == "header":
        assert len(expected) == N_WITH_IMAGES  # every body survives a wiped header
    if kind == "wal_cut":
        assert len(expected) == len(bodies)  # each commit was checkpointed into the main file
    if kind == "torn_pages":
        assert 0 < len(expected) < len(bodies)
    # The fresh outbox works.
    extra = make_crossing(1000)
    assert outbox.add(extra) and str(extra.event_id) in outbox.event_ids(delivered=False)
    outbox.close()
    print(f"\nSALVAGE {kind}: stored {len(bodies)}, kept {len(kept)}, images kept {stats.pending_evidence}, "
          f"images moved aside {len(moved)}")  # fmt: skip
