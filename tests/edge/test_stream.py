"""A live MJPEG-over-HTTP camera on loopback that drops out: the source reconnects with backoff."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from gatewatch.config import SourceConfig
from gatewatch.vision.sources import StreamSource, open_source
from tests.conftest import asset


class MjpegCamera:
    """Serves real video frames as ``multipart/x-mixed-replace`` JPEGs, like an IP camera."""

    def __init__(self, frames: list[np.ndarray], port: int) -> None:
        self.jpegs = [cv2.imencode(".jpg", f)[1].tobytes() for f in frames]
        self.port = port
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        jpegs = self.jpegs
        stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while not stopping.is_set():
                        jpeg = jpegs[i % len(jpegs)]
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                        i += 1
                        time.sleep(0.04)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.stopping = stopping
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stream_drop_and_reconnect():
    cap = cv2.VideoCapture(str(asset("videos/highway_cctv_trucks_320x240.avi")))
    frames = [cap.read()[1] for _ in range(25)]
    cap.release()
    camera = MjpegCamera(frames, free_port())
    camera.start()
    source = open_source(SourceConfig(uri=f"http://127.0.0.1:{camera.port}/stream.mjpg",
                                      reconnect={"initial_s": 0.2, "max_s": 0.5}))
    assert isinstance(source, StreamSource) and source.size == (320, 240)
    seen: list[float] = []
    reconnected_at = None
    deadline = time.monotonic() + 60
    for frame in source:
        seen.append(frame.ts)
        assert frame.image.shape == (240, 320, 3)
        if len(seen) == 20:
            camera.stop()  # the camera drops off the network ...
            threading.Timer(2.0, camera.start).start()  # ... and comes back two seconds later
        if source.stats.reconnects and reconnected_at is None:
            reconnected_at = len(seen)
        if (reconnected_at and len(seen) >= reconnected_at + 20) or time.monotonic() > deadline:
            source.stop()
    source.close()
    camera.stop()
    assert source.stats.reconnects == 1
    assert reconnected_at is not None and len(seen) >= reconnected_at + 20
    assert np.all(np.diff(seen) > 0)
    gap = max(np.diff(seen))
    assert 1.5 < gap < 20  # the outage shows as a gap in capture time, not as lost ordering
