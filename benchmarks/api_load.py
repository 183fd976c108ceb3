"""Load benchmark of the gate API: ingest throughput and an hourly-counts query, SQLite vs PostgreSQL.

For each backend it starts a real ``uvicorn`` subprocess on 127.0.0.1 (one worker), posts
batches of crossing events with a real HTTP client from a few threads (bounded in count and
time), then bulk-loads a year of one gate's crossings (~400,000 rows, straight into the table)
and times ``GET /api/v1/counts`` for one day, bucketed by hour.

Run::

    python benchmarks/api_load.py                      # both backends, results/api.md
    python benchmarks/api_load.py --backends sqlite --events 5000

PostgreSQL uses a fresh database on 127.0.0.1:5432 (dropped afterwards); it is skipped with a
note when no server answers.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from gatewatch.events import CrossingEvent, PlateRead

RESULTS = Path(__file__).resolve().parent / "results" / "api.md"
GATE = "huu-nghi"
YEAR_END = datetime(2026, 11, 24, tzinfo=timezone.utc)


@dataclass
class Result:
    """Figures for one backend."""

    backend: str
    events: int
    seconds: float
    batch_p95_ms: float
    batch_p50_ms: float
    rows_loaded: int
    load_seconds: float
    query_p50_ms: float
    query_p95_ms: float
    day_total: int
    plate_p50_ms: float = 0.0
    plate_p95_ms: float = 0.0
    fuzzy_p50_ms: float = 0.0
    fuzzy_p95_ms: float = 0.0
    fuzzy_matched: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[Any], timeout_s: float = 60.0, what: str = "the API") -> None:
    """Wait until ``url/healthz`` answers 200; RuntimeError when ``proc`` exits or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.2)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def make_batch(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """``n`` realistic crossing events for the benchmark gate (JSON-ready)."""
    now = datetime.now(timezone.utc)
    out = []
    for _ in range(n):
        plate = f"{rng.randint(11, 99)}C{rng.randint(10000, 99999)}"
        out.append(CrossingEvent(
            gate=GATE, camera=f"cam-{rng.randint(1, 4)}", lane=f"lane-{rng.randint(1, 4)}",
            direction=rng.choice(["entry", "exit"]), vehicle_class=rng.choice(["truck", "car", "bus"]),
            track_id=rng.randint(1, 10**6), confidence=0.9, frame_time=now - timedelta(seconds=rng.random() * 3600),
            stream_ts=12.5, frame_index=300, box=(10, 20, 200, 180),
            plate=PlateRead(text=plate, text_raw=plate, country="VN", confidence=0.9),
        ).model_dump(mode="json"))
    return out


class Server:
    """``uvicorn gatewatch.api.app:create_app --factory`` on 127.0.0.1 with the given settings."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "uvicorn", "gatewatch.api.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env})
        try:
            wait_healthy(self.url, self.proc, what="uvicorn")
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def ingest(url: str, key: str, events: int, batch: int, threads: int, max_s: float) -> tuple[int, float, list[float]]:
    """Post ``events`` in batches from ``threads`` clients; stops early after ``max_s``."""
    rng = random.Random(7)
    batches = [make_batch(batch, rng) for _ in range(max(1, events // batch))]
    latencies: list[float] = []
    stored = [0]
    start = time.perf_counter()

    def worker(chunk: list[list[dict[str, Any]]]) -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
            for body in chunk:
                if time.perf_counter() - start > max_s:
                    return
                t = time.perf_counter()
                r = client.post("/api/v1/events", json={"events": body})
                latencies.append(time.perf_counter() - t)
                r.raise_for_status()
                stored[0] += r.json()["accepted"]

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, [batches[i::threads] for i in range(threads)]))
    return stored[0], time.perf_counter() - start, latencies


VEHICLES = 50_000  # distinct plates in the bulk-loaded year (each vehicle comes back ~8 times)


def fleet(n: int = VEHICLES) -> list[str]:
    """``n`` distinct Vietnamese-format plates (seeded), e.g. ``51C12345``."""
    rng = random.Random(5)
    plates: set[str] = set()
    while len(plates) < n:
        plates.add(f"{rng.randint(11, 99)}{rng.choice('ABCDEFGHKLMNPSTUVXYZ')}{rng.randint(10000, 99999)}")
    return sorted(plates)


def bulk_load(database_url: str, rows: int) -> tuple[float, list[str]]:
    """Insert ``rows`` crossings of one gate spread over the year before YEAR_END; returns the seconds it took
    and the plates loaded (sorted).

    Every row carries a plate of ``fleet()`` (its plate key, as ingest stores it); with few rows not every
    plate of the fleet is loaded, so queries pick from the plates returned.
    """
    from sqlalchemy import insert

    from gatewatch.api.db import make_engine
    from gatewatch.api.models import Crossing
    from gatewatch.api.settings import Settings

    engine = make_engine(Settings(database_url=database_url, migrate_on_start=False))
    rng = random.Random(11)
    plates = fleet()
    loaded: set[str] = set()
    span = 365 * 24 * 3600
    start = time.perf_counter()
    with engine.begin() as conn:
        for offset in range(0, rows, 20_000):
            chunk = []
            for _ in range(min(20_000, rows - offset)):
                t = YEAR_END - timedelta(seconds=rng.random() * span)
                chunk.append({
                    "event_id": str(uuid.uuid4()), "gate": GATE, "camera": f"cam-{rng.randint(1, 4)}",
                    "lane": f"lane-{rng.randint(1, 4)}", "direction": rng.choice(("entry", "exit")),
                    "vehicle_class": rng.choice(("truck", "car", "bus")), "frame_time": t,
                    "hour": int(t.timestamp() // 3600), "track_id": 1, "confidence": 0.9,
                    "plate": (plate := rng.choice(plates)), "plate_raw": plate,
                    "plate_confidence": 0.9, "plate_country": "VN",
                })
            conn.execute(insert(Crossing), chunk)
            loaded.update(row["plate"] for row in chunk)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE crossings")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return time.perf_counter() - start, sorted(loaded)


def query_counts(url: str, token: str, repeats: int) -> tuple[list[float], int]:
    """Time one day's hourly counts for the gate (trucks entering lane 2, and all), ``repeats`` times."""
    times, total = [], 0
    day = (YEAR_END - timedelta(days=30)).date().isoformat()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for i in range(repeats):
            params = {"gate": GATE, "since": f"{day}T00:00:00", "bucket": "hour"}
            if i % 2:
                params |= {"lane": "lane-2", "direction": "entry", "vehicle_class": "truck"}
            t = time.perf_counter()
            r = client.get("/api/v1/counts", params=params)
            times.append(time.perf_counter() - t)
            r.raise_for_status()
            if not i % 2:
                total = r.json()["total"]
    return times, total


def query_plates(url: str, token: str, loaded: list[str], repeats: int, fuzzy: bool) -> tuple[list[float], float]:
    """Time ``GET /api/v1/vehicles/{plate}`` for ``repeats`` of the ``loaded`` plates, each read with one look-alike
    swapped in (``8`` for ``B``, ``0`` for ``D``...) when ``fuzzy``; returns times and mean plates matched."""
    rng = random.Random(3)
    plates = rng.sample(loaded, min(repeats, len(loaded)))
    swap = {"B": "8", "D": "0", "S": "5", "Z": "2", "G": "6", "8": "B", "0": "D", "5": "S", "2": "Z", "6": "G"}
    times, matched = [], []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for plate in plates:
            query = plate
            if fuzzy:
                spots = [i for i, c in enumerate(plate) if c in swap]
                i = rng.choice(spots)
                query = plate[:i] + swap[plate[i]] + plate[i + 1:]
            t = time.perf_counter()
            r = client.get(f"/api/v1/vehicles/{query}", params={"fuzzy": str(fuzzy).lower()})
            times.append(time.perf_counter() - t)
            r.raise_for_status()
            found = r.json()["plates_matched"]
            assert plate in found, (query, found)
            matched.append(len(found))
    return times, statistics.mean(matched)


def scratch_database(backend: str, workdir: Path, pg_user: str, name: str) -> tuple[str, Callable[[], None] | None] | str:
    """A new empty database for one benchmark run: ``(url, drop)``; a string says why it cannot be had.

    SQLite: a file in ``workdir`` (``drop`` is None). PostgreSQL: a database with a random name on
    127.0.0.1:5432, dropped by ``drop()``.
    """
    if backend == "sqlite":
        return f"sqlite:///{workdir}/{name}.db", None
    try:
        import psycopg

        admin = psycopg.connect(host="127.0.0.1", port=5432, user=pg_user, dbname="postgres",
                                autocommit=True, connect_timeout=3)
    except Exception as exc:  # no server: skip with the reason
        return f"skipped: no PostgreSQL on 127.0.0.1:5432 ({exc})"
    database = f"gatewatch_{name}_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{database}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()

    return f"postgresql+psycopg://{pg_user}@127.0.0.1:5432/{database}", drop


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> Result | str:
    """Benchmark one backend; a string explains why it was skipped."""
    scratch = scratch_database(backend, workdir, args.pg_user, "bench")
    if isinstance(scratch, str):
        return scratch
    url, drop = scratch

    from gatewatch.api.app import create_app
    from gatewatch.api.auth import create_api_key, create_user
    from gatewatch.api.settings import Settings

    settings = Settings(database_url=url, evidence_dir=workdir / f"evidence-{backend}", jwt_secret="setup-only")
    app = create_app(settings)  # migrates
    with app.state.sessionmaker() as session:
        create_user(session, "bench", "bench-password", "operator")
    app.state.engine.dispose()
    key = create_api_key(settings, GATE, "*")
    env = {"GATEWATCH_DATABASE_URL": url, "GATEWATCH_EVIDENCE_DIR": str(settings.evidence_dir),
           "GATEWATCH_JWT_SECRET": secrets.token_urlsafe(32), "GATEWATCH_MAX_BATCH_EVENTS": str(args.batch)}
    server = Server(env)
    try:
        stored, seconds, latencies = ingest(server.url, key, args.events, args.batch, args.threads, args.max_seconds)
        load_s, loaded = bulk_load(url, args.rows)
        token = httpx.post(f"{server.url}/api/v1/auth/token",
                           data={"username": "bench", "password": "bench-password"}).json()["access_token"]
        query_counts(server.url, token, 2)  # warm caches
        qtimes, total = query_counts(server.url, token, args.query_repeats)
        query_plates(server.url, token, loaded, 2, fuzzy=True)  # warm caches
        ptimes, _ = query_plates(server.url, token, loaded, args.query_repeats, fuzzy=False)
        ftimes, fmatched = query_plates(server.url, token, loaded, args.query_repeats, fuzzy=True)
    finally:
        server.stop()
        if drop:
            drop()
    return Result(backend, stored, seconds, pct(latencies, 0.95) * 1000, statistics.median(latencies) * 1000,
                  args.rows, load_s, statistics.median(qtimes) * 1000, pct(qtimes, 0.95) * 1000, total,
                  statistics.median(ptimes) * 1000, pct(ptimes, 0.95) * 1000,
                  statistics.median(ftimes) * 1000, pct(ftimes, 0.95) * 1000, fmatched)


def table(results: dict[str, Result | str], args: argparse.Namespace) -> str:
    names = list(results)
    def row(label: str, fmt: Any) -> str:
        cells = [fmt(r) if isinstance(r, Result) else "—" for r in results.values()]
        return f"| {label} | " + " | ".join(cells) + " |"
    lines = [
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        row(f"events ingested ({args.batch}-event batches, {args.threads} clients)", lambda r: f"{r.events:,}"),
        row("ingest rate, events/s", lambda r: f"{r.events_per_s:,.0f}"),
        row("batch latency p50, ms", lambda r: f"{r.batch_p50_ms:.0f}"),
        row("batch latency p95, ms", lambda r: f"{r.batch_p95_ms:.0f}"),
        row("crossings bulk-loaded (1 gate, 1 year)", lambda r: f"{r.rows_loaded:,} in {r.load_seconds:.1f} s"),
        row("day's hourly counts, p50 ms", lambda r: f"{r.query_p50_ms:.1f}"),
        row("day's hourly counts, p95 ms", lambda r: f"{r.query_p95_ms:.1f}"),
        row("crossings in that day", lambda r: f"{r.day_total:,}"),
        row(f"a plate's history (exact, {VEHICLES:,} plates), p50 / p95 ms",
            lambda r: f"{r.plate_p50_ms:.1f} / {r.plate_p95_ms:.1f}"),
        row("a plate's history (fuzzy, one look-alike wrong), p50 / p95 ms",
            lambda r: f"{r.fuzzy_p50_ms:.1f} / {r.fuzzy_p95_ms:.1f}"),
        row("plates matched per fuzzy query (mean)", lambda r: f"{r.fuzzy_matched:.2f}"),
    ]
    notes = [f"- {name}: {r}" for name, r in results.items() if isinstance(r, str)]
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--events", type=int, default=20_000, help="events to ingest per backend (bounded)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="stop ingesting after this long")
    parser.add_argument("--rows", type=int, default=400_000, help="crossings bulk-loaded for the query test")
    parser.add_argument("--query-repeats", type=int, default=40)
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--no-write", action="store_true", help="print only, do not write results/api.md")
    args = parser.parse_args(argv)
    results: dict[str, Result | str] = {}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        for backend in args.backends:
            print(f"benchmarking {backend} ...", file=sys.stderr, flush=True)
            results[backend] = run_backend(backend, args, Path(tmp))
    md = table(results, args)
    print(md)
    if not args.no_write:
        command = "python benchmarks/api_load.py " + " ".join(argv if argv is not None else sys.argv[1:])
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            "# Gate API load benchmark\n\n"
            f"Made by `{command.strip()}` on {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
            f"Python {sys.version.split()[0]}, {os.cpu_count()} CPU cores, 1-minute load average {load_start:.2f} "
            f"before the run (client, uvicorn server and database on the same machine; figures are indicative).\n\n"
            "uvicorn with one worker on 127.0.0.1; ingest = `POST /api/v1/events` from several HTTP clients; "
            "query = `GET /api/v1/counts` for one day bucketed by hour over a year of one gate's crossings "
            "(rows bulk-loaded straight into the table, each with one of 50,000 plates), timed end to end over "
            "HTTP; plate history = `GET /api/v1/vehicles/{plate}` for 40 plates of that fleet, exact, and fuzzy "
            "with one look-alike character swapped (B/8, D/0, S/5, Z/2, G/6).\n\n" + md + "\n"
        )
        print(f"written to {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
