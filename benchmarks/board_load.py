"""Latency of the console's read routes on a year of one gate: GET /today, /trends (7 days; 92 days per day and
per week) and /vehicles?q= (fuzzy plate search), SQLite and (when a server answers) PostgreSQL.

The year is ``api_load.bulk_load``'s: ``--rows`` crossings (default 400,000) of one gate straight into the
table, each with one of 50,000 plates, random lane, direction and class. Routes are called in process
(``TestClient``: the route, its queries and JSON, no socket) ``--repeats`` times after one warm-up call.

Run::

    python benchmarks/board_load.py                          # both backends
    python benchmarks/board_load.py --backends sqlite --rows 100000
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import GATE, YEAR_END, bulk_load, pct, scratch_database  # noqa: E402  (a sibling script, not a package)


def timed(call: Callable[[], object], repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls after one warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, list[float]] | str:
    """Every route's call times on one backend; a string says why it was skipped."""
    from fastapi.testclient import TestClient

    from gatewatch.api.app import create_app
    from gatewatch.api.auth import create_token, create_user
    from gatewatch.api.settings import Settings

    scratch = scratch_database(backend, workdir, args.pg_user, "board")
    if isinstance(scratch, str):
        return scratch
    url, drop = scratch

    try:
        app = create_app(Settings(database_url=url, evidence_dir=workdir / "evidence", jwt_secret="b" * 40))
        with app.state.sessionmaker() as session:
            user = create_user(session, "bench", "bench-password", "operator")
            token = create_token(app.state.jwt_secret, user, timedelta(hours=1))
        load_s, loaded = bulk_load(url, args.rows)
        print(f"{backend}: {args.rows:,} crossings loaded in {load_s:.1f} s", file=sys.stderr)
        last = (YEAR_END - timedelta(days=1)).date()
        plates = random.Random(7).sample(loaded, min(len(loaded), args.repeats + 1))
        headers = {"Authorization": f"Bearer {token}"}
        out: dict[str, list[float]] = {}
        with TestClient(app) as client:
            def get(path: str, **params: str) -> None:
                r = client.get(path, headers=headers, params=params)
                assert r.status_code == 200, r.text

            out["today (one gate, one day)"] = timed(lambda: get("/api/v1/today", gate=GATE, day=last.isoformat()),
                                                    args.repeats)
            out["trends, 7 days (the view's default)"] = timed(lambda: get(
                "/api/v1/trends", gate=GATE, to=last.isoformat(), **{"from": (last - timedelta(days=6)).isoformat()}),
                args.repeats)
            for by in ("day", "week"):
                out[f"trends, 92 days, by={by}"] = timed(lambda by=by: get(  # type: ignore[misc]
                    "/api/v1/trends", gate=GATE, by=by, to=last.isoformat(),
                    **{"from": (last - timedelta(days=91)).isoformat()}), args.repeats)
            queries = iter(plates)
            out["plate search, fuzzy"] = timed(lambda: get("/api/v1/vehicles", q=next(queries)), args.repeats)
        app.state.engine.dispose()
        return out
    finally:
        if drop:
            drop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--rows", type=int, default=400_000, help="crossings bulk-loaded (one gate, one year)")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per route")
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    results: dict[str, dict[str, list[float]] | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            results[backend] = run_backend(backend, args, Path(tmp))
    print(f"{args.rows:,} crossings, {args.repeats} calls per route; 1-minute load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    print("| route | " + " | ".join(f"{b} p50 / p95 ms" for b in results) + " |")
    print("|---|" + "---:|" * len(results))
    routes = next((list(r) for r in results.values() if isinstance(r, dict)), [])
    for route in routes:
        cells = []
        for r in results.values():
            if isinstance(r, str):
                cells.append(r)
            else:
                cells.append(f"{statistics.median(r[route]) * 1000:.0f} / {pct(r[route], 0.95) * 1000:.0f}")
        print(f"| {route} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
