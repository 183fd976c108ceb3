"""Helpers for the API tests: the app-on-a-backend record, the PostgreSQL admin connection, real events, a uvicorn API."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from gatewatch.api.settings import Settings
from gatewatch.events import CrossingEvent, FlagEvent, PlateRead

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)  # 08:00 in Asia/Ho_Chi_Minh
PG_HOST = os.environ.get("GATEWATCH_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("GATEWATCH_TEST_PG_PORT", "5432"))


def pg_admin() -> tuple[Any, str]:
    """An autocommit connection to the local server's maintenance DB, and the user that worked."""
    import psycopg

    last: Exception | None = None
    for user in ("postgres", "root", os.environ.get("USER", "postgres")):
        try:
            return psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres",
                                   autocommit=True, connect_timeout=3), user
        except psycopg.OperationalError as exc:
            last = exc
    raise ConnectionError(str(last))


@dataclass
class Env:
    """A running app on one backend with ready-made credentials."""

    backend: str
    app: FastAPI
    settings: Settings
    admin: str
    operator: str
    key: str  # gate g1, camera cam-1
    gate_key: str  # gate g1, every camera
    other_key: str  # gate g2, camera cam-1
    revoked_key: str

    def bearer(self, role: str = "operator") -> dict[str, str]:
        """Authorization header for the seeded operator or admin."""
        return {"Authorization": f"Bearer {self.admin if role == 'admin' else self.operator}"}


def crossing(**overrides: Any) -> dict[str, Any]:
    """A valid crossing event as JSON-ready dict (gate g1, camera cam-1, lane-2, entry, truck, at T0)."""
    plate = overrides.pop("plate", None)
    fields: dict[str, Any] = dict(
        gate="g1", camera="cam-1", lane="lane-2", direction="entry", vehicle_class="truck", track_id=7,
        confidence=0.9, frame_time=T0, stream_ts=1.0, frame_index=25, box=(10, 20, 200, 180),
    )
    fields.update(overrides)
    if plate:
        fields["plate"] = PlateRead(text=plate, text_raw=plate, country="VN", confidence=0.88)
    return CrossingEvent(**fields).model_dump(mode="json")


def flag_event(flag_id: str, phase: str, at: datetime = T0, **overrides: Any) -> dict[str, Any]:
    """A valid flag event (empty truck at g1/cam-1 unless overridden)."""
    plate = overrides.pop("plate", None)
    fields: dict[str, Any] = dict(
        flag_id=flag_id, flag_kind="empty_truck", phase=phase, gate="g1", camera="cam-1", lane="lane-2",
        track_id=3, vehicle_class="truck", started_at=T0, frame_time=at, stream_ts=5.0,
        duration_s=(at - T0).total_seconds(), box=(1, 2, 30, 40),
    )
    fields.update(overrides)
    if plate:
        fields["plate"] = PlateRead(text=plate, text_raw=plate, country="VN", confidence=0.8)
    return FlagEvent(**fields).model_dump(mode="json")


def post_events(client: TestClient, key: str, events: list[dict[str, Any]]) -> Any:
    """POST a batch with an API key."""
    return client.post("/api/v1/events", headers={"X-API-Key": key}, json={"events": events})


class UvicornApi:
    """The gate API on a settings' database in its own ``uvicorn`` process (real sockets, its own RSS).

    Used as a context manager: started on enter, terminated on exit. ``settings`` must point at an
    already migrated database (the ``env`` fixture's).
    """

    def __init__(self, settings: Any, **overrides: str) -> None:
        import os
        import socket
        import sys

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.environ = {
            **os.environ, "GATEWATCH_DATABASE_URL": settings.database_url,
            "GATEWATCH_EVIDENCE_DIR": str(settings.evidence_dir),
            "GATEWATCH_JWT_SECRET": settings.jwt_secret.get_secret_value(),
            "GATEWATCH_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
            "GATEWATCH_MAX_BATCH_EVENTS": str(settings.max_batch_events), **overrides,
        }
        self.args = [sys.executable, "-m", "uvicorn", "--factory", "gatewatch.api.app:create_app", "--host",
                     "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        self.proc: Any = None

    def __enter__(self) -> UvicornApi:
        import subprocess
        import time

        import httpx

        self.proc = subprocess.Popen(self.args, env=self.environ)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"uvicorn exited with {self.proc.returncode}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError("uvicorn did not start")

    def rss_kib(self) -> int:
        """Resident memory of the uvicorn process (``VmRSS`` of /proc/<pid>/status), in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))

    def __exit__(self, *_exc: object) -> None:
        import subprocess

        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def reset_peak_rss(self) -> None:
        """Reset the process's peak resident memory (``VmHWM``) to its current RSS (``clear_refs`` 5)."""
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as fh:
            fh.write("5")

    def peak_rss_kib(self) -> int:
        """Peak resident memory since start or the last ``reset_peak_rss`` (``VmHWM``), in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))


CHROMIUM = Path("/usr/bin/chromium")  # Debian's Chromium (.ci/run installs it); browser tests skip without it
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


@contextmanager
def serve_live(app: FastAPI) -> Iterator[str]:
    """``app`` behind a real uvicorn server on 127.0.0.1 (in a thread); yields its base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


RAW_KEY = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")  # an untranslated console key, e.g. "trucks_title"
# what the user can read in a console view: its text and its aria-label, placeholder, title and alt attributes
VIEW_TEXTS_JS = """(viewId) => {
  const root = document.getElementById(viewId), out = [root.innerText];
  for (const e of root.querySelectorAll("[aria-label], [placeholder], [title], [alt]")) {
    for (const a of ["aria-label", "placeholder", "title", "alt"]) if (e.getAttribute(a)) out.push(e.getAttribute(a));
  }
  for (const e of root.querySelectorAll("svg title, svg text")) out.push(e.textContent);
  return out.join("\\n");
}"""

VIEW_HEADINGS = {  # each console view's heading, per language (what a user sees first)
    "queue": {"en": "Open flags", "vi": "Cảnh báo chờ xử lý", "zh": "待处理告警"},
    "today": {"en": "Today at the gate", "vi": "Hôm nay tại cửa khẩu", "zh": "口岸今日概况"},
    "trends": {"en": "Trends", "vi": "Xu hướng", "zh": "趋势"},
    "plates": {"en": "Plate search", "vi": "Tra cứu biển số", "zh": "车牌查询"},
    "counts": {"en": "Crossings per hour", "vi": "Lượt xe qua theo giờ", "zh": "每小时通行量"},
    "export": {"en": "Export", "vi": "Xuất dữ liệu", "zh": "数据导出"},
    "holds": {"en": "Hold list", "vi": "Danh sách xe cần kiểm soát", "zh": "布控名单"},
    "users": {"en": "Users", "vi": "Quản lý người dùng", "zh": "用户管理"},
}
