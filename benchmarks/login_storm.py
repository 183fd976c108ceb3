"""Ingest latency while wrong sign-ins pour in: does bcrypt hold up the edge boxes?

Starts the gate API in a real ``uvicorn`` subprocess on 127.0.0.1 (one worker, a fresh SQLite file
or PostgreSQL database), times single-event ingest batches one after another while idle, then again
while ``--storm`` client threads keep posting wrong passwords for a real user. The throttle is
lifted (limits of 10,000) so every sign-in runs bcrypt, the worst case. ``--api-src`` serves the
``gatewatch.api`` package from another checkout (e.g. an older commit unpacked with ``git archive``)
to compare before and after.

Run::

    python benchmarks/login_storm.py                         # this checkout, SQLite
    git archive 05e4666 api | tar -x -C /tmp/old && python benchmarks/login_storm.py --api-src /tmp/old/api
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from gatewatch.events import CrossingEvent

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import free_port, wait_healthy  # noqa: E402  (a sibling script, not a package)

LAUNCHER = r"""
import sys, uvicorn, gatewatch.api
if sys.argv[4]:
    gatewatch.api.__path__[:] = [sys.argv[4]]
from gatewatch.api.app import create_app
from gatewatch.api.auth import create_user, new_api_key
from gatewatch.api.settings import Settings
extra = {k: 10_000 for k in ("login_max_failures_per_user", "login_max_failures_per_user_address",
                             "login_max_failures_per_address")
         if k in Settings.model_fields}
settings = Settings(database_url=sys.argv[1], evidence_dir=sys.argv[2], jwt_secret="bench-" + "x" * 32, **extra)
app = create_app(settings)
with app.state.sessionmaker() as session:
    create_user(session, "olga", "operator-password")
    print(new_api_key(session, "g1", "*").key, flush=True)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning", access_log=False)
"""


def ingest_times(url: str, key: str, samples: int, first_track: int) -> tuple[list[float], list[int]]:
    """Seconds each of ``samples`` one-event batches took, sent one after another, and their status codes."""
    times, codes = [], []
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=300) as http:
        for i in range(samples):
            event = CrossingEvent(gate="g1", camera="cam-1", lane="lane-1", direction="entry", vehicle_class="truck",
                                  track_id=first_track + i, confidence=0.9, frame_time=datetime.now(timezone.utc),
                                  stream_ts=float(i), frame_index=i, box=(1, 2, 30, 40))
            start = time.perf_counter()
            r = http.post("/api/v1/events", json={"events": [event.model_dump(mode="json")]})
            times.append(time.perf_counter() - start)
            codes.append(r.status_code)
    return times, codes


def run(database_url: str, workdir: Path, args: argparse.Namespace) -> str:
    """One measurement; returns a line of figures."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, database_url, str(workdir / "evidence"), str(port),
                             args.api_src or ""], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        key = proc.stdout.readline().strip()
        wait_healthy(url, proc)
        idle, _ = ingest_times(url, key, args.samples, 0)
        stop = threading.Event()
        answered: list[int] = []

        def wrong_logins() -> None:
            with httpx.Client(base_url=url, timeout=300) as http:
                while not stop.is_set():
                    r = http.post("/api/v1/auth/token", data={"username": "olga", "password": secrets.token_hex(8)})
                    answered.append(r.status_code)

        storm = [threading.Thread(target=wrong_logins) for _ in range(args.storm)]
        for t in storm:
            t.start()
        time.sleep(1.0)  # let the storm build up
        during, during_codes = ingest_times(url, key, args.samples, 10_000)
        stop.set()
        for t in storm:
            t.join()
    finally:
        proc.terminate()
        proc.wait(30)
    failed = sum(code != 200 for code in during_codes)
    return (f"ingest p50 idle {statistics.median(idle) * 1000:.1f} ms, during the storm "
            f"{statistics.median(during) * 1000:.1f} ms (max {max(during) * 1000:.0f} ms, {failed} of "
            f"{len(during)} not 200); {len(answered)} sign-ins answered (status {sorted(set(answered))})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storm", type=int, default=32, help="parallel clients posting wrong passwords")
    parser.add_argument("--samples", type=int, default=30, help="ingest batches timed idle and during the storm")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--api-src", help="serve gatewatch.api from this folder (another checkout's api/)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/storm.db"
        print(f"{args.api_src or 'this checkout'} ({url.split(':')[0]}, storm {args.storm}): "
              f"{run(url, Path(tmp), args)}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
