"""Fault test: a real ``gatewatch run`` on a shared video delivers through the outbox to a real API
(uvicorn + SQLite) while the API is frozen, killed and restarted and the edge itself is killed and
restarted. At the end the API holds exactly the events the edge produced: none missing, none twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from gatewatch.assets import asset_dir
from gatewatch.events import parse_event
from gatewatch.sinks.outbox import Outbox, OutboxStats
from tests.sinks.helpers import ApiServer

SECOND_RUN_FRAMES = 300  # the restarted edge's run; about 40 s at 7-9 FPS on two cores


def edge_config(tmp: Path, api_url: str) -> Path:
    sample = Path(__file__).resolve().parents[2] / "samples" / "highway_cctv.yaml"
    config = yaml.safe_load(sample.read_text(encoding="utf-8"))
    config["output"] = {}
    config.update({
        "delivery": {
            "api_url": api_url,
            "api_key_env": "GW_FAULT_KEY",
            "outbox_path": str(tmp / "outbox.sqlite"),
            "batch_size": 5,
            "connect_timeout_s": 1.0,
            "read_timeout_s": 2.0,
            "retry": {"initial_s": 0.2, "max_s": 2.0, "jitter_s": 0.2},
            "close_grace_s": 20.0,
            "log_interval_s": 2.0,
        },
    })  # fmt: skip
    path = tmp / "camera.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def start_edge(tmp: Path, config: Path, key: str, run: int, max_frames: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GW_FAULT_KEY": key}
    args = [sys.executable, "-m", "gatewatch.cli", "run", "--config", str(config), "--events", "events.jsonl",
            "--crops", "crops", "--max-frames", str(max_frames), "--progress", "5"]  # fmt: skip
    log = open(tmp / f"edge{run}.log", "wb")  # noqa: SIM115 - owned by the process
    return subprocess.Popen(args, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)


class Watch:
    """Reads the outbox read-only while the edge writes it; remembers the largest backlog seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.max_backlog = 0

    def stats(self) -> OutboxStats | None:
        if not self.path.exists():
            return None
        try:
            outbox = Outbox(self.path, read_only=True)
        except Exception:  # being created right now
            return None
        try:
            stats = outbox.stats()
        finally:
            outbox.close()
        self.max_backlog = max(self.max_backlog, stats.pending_events)
        return stats

    def until(self, predicate, timeout_s: float) -> OutboxStats:  # noqa: ANN001
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            stats = self.stats()
            if stats is not None and predicate(stats):
                return stats
            time.sleep(0.2)
        raise AssertionError(f"timed out; last stats {self.stats()}")


@pytest.mark.slow
def test_edge_and_api_faults_lose_nothing(tmp_path: Path) -> None:
    root = asset_dir()
    if root is None or not (root / "videos" / "highway_cctv_trucks_320x240.avi").is_file():
        pytest.skip("shared video highway_cctv_trucks_320x240.avi not found")
    pytest.importorskip("gatewatch.api.app")
    api = ApiServer(tmp_path / "api")
    key = api.create_key(gate="demo-gate", camera="highway-cctv")
    api.start()
    config = edge_config(tmp_path, api.url)
    watch = Watch(tmp_path / "outbox.sqlite")
    edge: subprocess.Popen[bytes] | None = None
    started = time.monotonic()
    try:
        edge = start_edge(tmp_path, config, key, 1, max_frames=750)
        watch.until(lambda s: s.delivered_total >= 3, 90)
        # The API hangs (frozen: requests time out), then dies (SIGKILL) and stays down a while.
        api.signal(signal.SIGSTOP)
        time.sleep(4)
        watch.until(lambda s: s.pending_events >= 1, 40)
        api.kill()
        # While the API is down a backlog builds up; then the edge box loses power with it on disk.
        watch.until(lambda s: s.pending_events >= 3, 60)
        edge.kill()
        edge.wait(10)
        killed = watch.stats()
        assert killed is not None
        # The edge restarts first (its backlog resumes, the API is still away), then the API comes back.
        edge = start_edge(tmp_path, config, key, 2, max_frames=SECOND_RUN_FRAMES)
        watch.until(lambda s: s.pending_events > killed.pending_events, 60)
        api.start()
        # The second run exits after its frames and flushes the rest within close_grace_s.
        assert edge.wait(180) == 0, (tmp_path / "edge2.log").read_text()[-3000:]
    finally:
        if edge is not None and edge.poll() is None:
            edge.kill()
        api.close()

    final = Outbox(tmp_path / "outbox.sqlite", read_only=True)
    stats = final.stats()
    produced = final.event_ids()
    rejected = final.rejected()
    final.close()
    assert (stats.pending_events, stats.pending_evidence, rejected) == (0, 0, [])

    import sqlite3

    with sqlite3.connect(api.db_path) as conn:
        api_ids = [r[0] for r in conn.execute("SELECT event_id FROM events")]
        crossings = conn.execute("SELECT COUNT(*) FROM crossings").fetchone()[0]
    assert len(api_ids) == len(set(api_ids)) == crossings  # none twice
    assert sorted(api_ids) == sorted(produced)  # none missing, nothing extra
    # Every crop the edge saved went up after its event.
    lines = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    written = [parse_event(line) for line in lines]
    in_outbox = set(produced)
    missing_from_outbox = [e for e in written if str(e.event_id) not in in_outbox]
    # JSON lines are written before the outbox: at most the one event in hand when the edge was killed
    assert len(missing_from_outbox) <= 1
    with_crop = {str(e.event_id) for e in written if e.crop_path and str(e.event_id) in in_outbox}
    assert {(i, "crop") for i in with_crop} <= api.evidence()
    log2 = (tmp_path / "edge2.log").read_text()
    assert f"resuming a backlog of {killed.pending_events} events" in log2
    assert "outbox outbox.sqlite: backlog" in (tmp_path / "edge1.log").read_text() + log2  # periodic log line
    figures = {
        "produced": len(produced),
        "delivered": len(api_ids),
        "duplicates_refused": stats.duplicates_total,
        "max_backlog_seen": watch.max_backlog,
        "max_backlog_recorded": stats.max_backlog,
        "evidence_sent": stats.evidence_sent_total,
        "backlog_at_edge_kill": killed.pending_events,
        "jsonl_lines": len(lines),
        "jsonl_not_in_outbox": len(missing_from_outbox),
        "seconds": round(time.monotonic() - started, 1),
    }
    print("\nFAULT TEST FIGURES", json.dumps(figures))
