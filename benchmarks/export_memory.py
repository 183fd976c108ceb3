"""Server memory while exporting a gate's crossings: streamed export vs paging the list route vs one unstreamed answer.

Bulk-loads ``--rows`` crossings of one gate (spread over 90 days) into a fresh database, starts the gate API in
a real ``uvicorn`` process (one worker) and measures that process's peak resident memory (``VmHWM``, reset
with ``/proc/<pid>/clear_refs`` before each step) while a client:

* pages through the same rows with ``GET /api/v1/crossings`` (500 per page, the list route's maximum);
* downloads ``GET /api/v1/crossings/export`` as CSV, then as JSON (the whole range in one streamed answer).

For scale, a separate Python process loads the same rows with ``.all()`` and builds the CSV in one string
(what an unstreamed export would hold), and its peak is reported the same way.

Run::

    python benchmarks/export_memory.py                           # SQLite and PostgreSQL (if one answers), 200,000 rows
    python benchmarks/export_memory.py --rows 400000 --backends sqlite
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import free_port, wait_healthy  # noqa: E402  (a sibling script, not a package)

HERE = Path(__file__).resolve().parent
START = datetime(2026, 8, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=90)
RANGE = {"since": "2026-07-31T00:00:00", "until": "2026-10-31T00:00:00"}  # 92 days, the gate's zone

UNSTREAMED = r"""
import csv, io, sys
from sqlalchemy import select
from gatewatch.api.db import make_engine
from gatewatch.api.models import Crossing
from gatewatch.api.settings import Settings

def hwm():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

engine = make_engine(Settings(database_url=sys.argv[1], evidence_dir=sys.argv[2]))
with engine.connect() as conn:
    conn.execute(select(Crossing.event_id).limit(1)).all()
    before = hwm()
    rows = conn.execute(select(Crossing.__table__)).all()
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    text = buffer.getvalue()
print(before, hwm(), len(rows), len(text))
"""


def status_kib(pid: int, field: str) -> int:
    """A memory field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) in KiB."""
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


def reset_peak(pid: int) -> None:
    """Reset the process's ``VmHWM`` to its current RSS."""
    with open(f"/proc/{pid}/clear_refs", "w") as fh:
        fh.write("5")


def load(database_url: str, workdir: Path, rows: int) -> str:
    """Migrate, add an operator, bulk-load ``rows`` crossings of gate g1; returns the operator's token."""
    from sqlalchemy import insert

    from gatewatch.api.app import create_app
    from gatewatch.api.auth import create_token, create_user
    from gatewatch.api.models import Crossing
    from gatewatch.api.settings import Settings

    app = create_app(Settings(database_url=database_url, evidence_dir=workdir / "evidence",
                              jwt_secret="bench-" + "x" * 32))
    step = SPAN / rows
    with app.state.sessionmaker() as session:
        user = create_user(session, "olga", "operator-password")
        for first in range(0, rows, 10_000):
            batch = []
            for i in range(first, min(rows, first + 10_000)):
                at = START + step * i
                batch.append({"event_id": str(uuid.UUID(int=i + 1)), "gate": "g1", "camera": "cam-1",
                              "lane": f"lane-{i % 4 + 1}", "direction": "entry" if i % 2 else "exit",
                              "vehicle_class": "truck" if i % 3 else "car", "frame_time": at,
                              "hour": int(at.timestamp() // 3600), "track_id": i % 100_000, "confidence": 0.87,
                              "plate": f"29C{i % 50_000:05d}", "plate_raw": f"29C-{i % 50_000:05d}",
                              "plate_confidence": 0.9, "plate_country": "VN"})
            session.execute(insert(Crossing), batch)
            session.commit()
        token = create_token(app.state.jwt_secret, user, timedelta(hours=2))
    app.state.engine.dispose()
    return token


def measure(database_url: str, workdir: Path, rows: int) -> dict[str, str]:
    """One backend's figures (strings for the table)."""
    t0 = time.perf_counter()
    token = load(database_url, workdir, rows)
    figures = {"crossings bulk-loaded": f"{rows:,} in {time.perf_counter() - t0:.1f} s"}
    port = free_port()
    env = {**os.environ, "GATEWATCH_DATABASE_URL": database_url, "GATEWATCH_EVIDENCE_DIR": str(workdir / "evidence"),
           "GATEWATCH_JWT_SECRET": "bench-" + "x" * 32}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "gatewatch.api.app:create_app",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
                            env=env)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        wait_healthy(url, proc)
        with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
            http.get("/api/v1/crossings", params={**RANGE, "limit": 500}).raise_for_status()  # warm up
            http.get("/api/v1/crossings/export", params={**RANGE, "gate": "nowhere"}).raise_for_status()
            figures["server RSS after start and one request of each, MB"] = f"{status_kib(proc.pid, 'VmRSS') / 1024:.0f}"

            reset_peak(proc.pid)
            t0, seen, offset = time.perf_counter(), 0, 0
            while True:
                page = http.get("/api/v1/crossings", params={**RANGE, "limit": 500, "offset": offset}).json()
                seen += len(page["items"])
                offset += 500
                if offset >= page["total"]:
                    break
            figures["list route, 500 per page: rows, s"] = f"{seen:,} in {time.perf_counter() - t0:.1f} s"
            figures["list route: server peak RSS, MB"] = f"{status_kib(proc.pid, 'VmHWM') / 1024:.0f}"

            for fmt in ("csv", "json"):
                reset_peak(proc.pid)
                t0, size, chunks, lines = time.perf_counter(), 0, 0, 0
                with http.stream("GET", "/api/v1/crossings/export", params={**RANGE, "format": fmt}) as r:
                    r.raise_for_status()
                    for chunk in r.iter_bytes():
                        size += len(chunk)
                        chunks += 1
                        lines += chunk.count(b"\n")
                took = time.perf_counter() - t0
                rows_out = lines - 1 if fmt == "csv" else lines  # CSV: a header line; JSON: one row a line
                figures[f"export {fmt}: rows, MB, s"] = f"{rows_out:,}, {size / 1e6:.1f} MB, {took:.1f} s"
                figures[f"export {fmt}: server peak RSS, MB"] = f"{status_kib(proc.pid, 'VmHWM') / 1024:.0f}"
    finally:
        proc.terminate()
        proc.wait(30)
    out = subprocess.run([sys.executable, "-c", UNSTREAMED, database_url, str(workdir / "evidence")],
                         capture_output=True, text=True, check=True, env=env).stdout.split()
    before, peak, n, size = (int(x) for x in out)
    figures["unstreamed reference (.all() + one CSV string): rows, growth MB"] = (
        f"{n:,}, +{(peak - before) / 1024:.0f} MB (peak {peak / 1024:.0f} MB, {size / 1e6:.1f} MB of CSV)")
    return figures


def postgres_database() -> tuple[str, object, str] | None:
    """A fresh PostgreSQL database on 127.0.0.1:5432, or None when no server answers."""
    try:
        import psycopg
    except ImportError:
        return None
    for user in ("postgres", "root", os.environ.get("USER", "postgres")):
        try:
            admin = psycopg.connect(host="127.0.0.1", port=5432, user=user, dbname="postgres", autocommit=True,
                                    connect_timeout=3)
        except psycopg.OperationalError:
            continue
        name = f"gatewatch_export_bench_{secrets.token_hex(4)}"
        admin.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{user}@127.0.0.1:5432/{name}", admin, name
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "export.md")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, str]] = {}
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                results[backend] = measure(f"sqlite:///{tmp}/export.db", Path(tmp), args.rows)
                continue
            made = postgres_database()
            if made is None:
                print("no PostgreSQL server answers on 127.0.0.1:5432; skipped")
                continue
            database_url, admin, name = made
            try:
                results[backend] = measure(database_url, Path(tmp), args.rows)
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
                admin.close()  # type: ignore[attr-defined]
        print(backend, results[backend], flush=True)
    names = list(results)
    lines = [
        "# Export memory",
        f"Made by `python benchmarks/export_memory.py --rows {args.rows} --backends {args.backends}` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, {os.cpu_count()} CPU "
        f"cores, 1-minute load average {load_before:.1f} before the run and {os.getloadavg()[0]:.1f} after (client, "
        "uvicorn server and database on the same machine, shared with other jobs: times are indicative, memory is not "
        "affected).",
        "",
        "uvicorn with one worker; peak RSS is the server process's `VmHWM`, reset before each step. The export is the "
        "whole 92-day range in one answer; the list route pages through the same rows 500 at a time.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for key in next(iter(results.values()), {}):
        lines.append(f"| {key} | " + " | ".join(results[n][key] for n in names) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
