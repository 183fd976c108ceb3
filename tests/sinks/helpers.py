"""Helpers for the sink tests: the real gate API under uvicorn, a faulty proxy, a small disk, events with real images."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from gatewatch.assets import asset_dir
from gatewatch.events import CrossingEvent, FlagEvent, PlateRead

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]  # the repository root: child processes put it on sys.path to import tests.sinks.helpers
GATE, CAMERA = "test-gate", "cam-1"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def real_jpegs(n: int) -> list[Path]:
    """``n`` real JPEG photos from the shared assets (skips when they are absent)."""
    root = asset_dir()
    folder = root / "plates" / "vn_plate_crops_label_plate_number" / "images" if root else None
    if folder is None or not folder.is_dir():
        pytest.skip("shared assets not found: set GATEWATCH_ASSET_DIR or place them at ../shared/assets")
    files = sorted(folder.glob("*.jpg"))[:n]
    assert len(files) == n
    return files


def big_jpegs(n: int) -> list[Path]:
    """``n`` larger real JPEGs (car photos, ~100 kB each)."""
    root = asset_dir()
    folder = root / "plates" / "openalpr_benchmarks_endtoend" / "us" if root else None
    if folder is None or not folder.is_dir():
        pytest.skip("shared assets not found")
    return sorted(folder.glob("*.jpg"), key=lambda p: (-p.stat().st_size, p.name))[:n]


def make_crossing(
    i: int, crop: Path | None = None, plate_crop: Path | None = None, camera: str = CAMERA
) -> CrossingEvent:
    """A realistic crossing event; ``i`` sets its track id and frame."""
    plate = PlateRead(text="51F12345", text_raw="51F-123.45", country="VN", confidence=0.9,
                      crop_path=str(plate_crop) if plate_crop else None) if plate_crop else None  # fmt: skip
    return CrossingEvent(
        gate=GATE, camera=camera, lane="import-1", direction="entry", vehicle_class="truck", track_id=i,
        confidence=0.8, frame_time=datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc), stream_ts=i * 0.04,
        frame_index=i, box=(10, 20, 200, 180), crop_path=str(crop) if crop else None, plate=plate,
    )  # fmt: skip


def make_flag(i: int, snapshot: Path | None = None) -> FlagEvent:
    """A 'held vehicle' flag start event."""
    t = datetime(2026, 11, 24, 1, 5, tzinfo=timezone.utc)
    return FlagEvent(
        flag_id=uuid.uuid4(), flag_kind="held", phase="start", gate=GATE, camera=CAMERA, lane="import-1",
        track_id=i, vehicle_class="truck", started_at=t, frame_time=t, stream_ts=1.0, duration_s=120.0,
        snapshot_path=str(snapshot) if snapshot else None,
    )  # fmt: skip


class ApiServer:
    """The gate API (``create_app``) in its own uvicorn process with a SQLite file, restartable."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        from gatewatch.api.settings import Settings

        root.mkdir(parents=True, exist_ok=True)
        self.db_path = root / "api.db"
        self.settings = Settings(database_url=f"sqlite:///{self.db_path}", evidence_dir=root / "evidence")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = open(root / "api.log", "ab")  # noqa: SIM115 - closed in close()

    def create_key(self, gate: str = GATE, camera: str = "*") -> str:
        from gatewatch.api.auth import create_api_key

        return create_api_key(self.settings, gate=gate, camera=camera)

    def start(self, timeout_s: float = 30.0) -> None:
        args = [sys.executable, str(HERE / "serve_api.py"), self.settings.database_url,
                str(self.settings.evidence_dir), str(self.port)]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"API exited with {self.proc.returncode}; see {self.log.name}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError("API did not start")

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL, as a power cut would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()

    def event_ids(self) -> list[str]:
        """Every event id the API stored (read from its database)."""
        import sqlite3

        with sqlite3.connect(self.db_path) as conn:
            return [r[0] for r in conn.execute("SELECT event_id FROM events")]

    def evidence(self) -> set[tuple[str, str]]:
        """``(event_id, role)`` of every image the API stored."""
        import sqlite3

        with sqlite3.connect(self.db_path) as conn:
            return {(r[0], r[1]) for r in conn.execute("SELECT event_id, role FROM evidence")}


def wait_for(predicate, timeout_s: float, interval_s: float = 0.05) -> bool:  # noqa: ANN001
    """Poll ``predicate`` until true or the timeout passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())


class LoopbackProxy:
    """A reverse proxy on 127.0.0.1 in front of the real API; ``intercept`` may answer a request itself.

    Subclasses override ``intercept(command, body)`` to return ``(status, body, headers)`` for a
    request they answer, or ``None`` to forward it (API key and content type passed on).
    """

    def __init__(self, upstream: str) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.answers: list[int] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                proxy.answers.append(status)
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = proxy.intercept(self.command, body)
                if answer is None:
                    headers = {k: v for k, v in self.headers.items() if k.lower() in ("x-api-key", "content-type")}
                    forwarded = httpx.request(self.command, upstream + self.path, headers=headers, content=body,
                                              timeout=10)
                    answer = (forwarded.status_code, forwarded.content,
                              {"Content-Type": forwarded.headers.get("content-type", "application/json")})
                self._answer(*answer)

            do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def intercept(self, command: str, body: bytes) -> tuple[int, bytes, dict[str, str]] | None:
        """Answer a request here (status, body, headers), or ``None`` to forward it."""
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FaultProxy(LoopbackProxy):
    """A reverse proxy in front of the real API that fails on chosen events, as a buggy or stricter API would.

    A batch holding an id in ``poisoned`` gets a 500 (the API "crashes" on it); one holding an id in
    ``conflicting`` gets a 409 naming it (as the API answers an id re-sent with other content);
    ``outage`` set to a status answers every request with it. Everything else is forwarded.
    """

    def __init__(self, upstream: str) -> None:
        self.poisoned: set[str] = set()
        self.conflicting: set[str] = set()
        self.outage: int | None = None
        super().__init__(upstream)

    def intercept(self, command: str, body: bytes) -> tuple[int, bytes, dict[str, str]] | None:
        import json

        if self.outage is not None:
            return self.outage, b'{"detail": "outage"}', {}
        if command == "POST":
            ids = [e.get("event_id") for e in json.loads(body).get("events", [])]
            if self.poisoned & set(ids):
                return 500, b"Internal Server Error", {}
            for index, event_id in enumerate(ids):
                if event_id in self.conflicting:
                    detail = {"index": index, "event_id": event_id,
                              "error": "event_id already stored with different content"}  # fmt: skip
                    return 409, json.dumps({"detail": detail}).encode(), {}
        return None


class SmallDisk:
    """A mounted 2 MB tmpfs that can be filled up and freed again."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.filler = root / "filler"

    def fill(self) -> None:
        """Write until the file system answers ENOSPC, in ever smaller pieces, so not one byte is left."""
        with open(self.filler, "ab", buffering=0) as fh:
            for piece in (65536, 4096, 512, 1):
                try:
                    while True:
                        fh.write(b"\0" * piece)
                except OSError:
                    continue
        with pytest.raises(OSError):
            (self.root / "probe").write_bytes(b"x" * 4096)

    def free(self) -> None:
        self.filler.unlink()
