"""A live MJPEG-over-HTTP camera on loopback that drops out: the source reconnects with backoff."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np

from gatewatch.config import SourceConfig
from gatewatch.vision.sources import StreamSource, open_source
from tests.conftest import asset
from tests.vision.camera import MjpegCamera, free_port


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
