"""Frame sources on real video: timestamps, corrupt frames, bad inputs."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

from gatewatch.config import SourceConfig, load_config
from gatewatch.errors import SourceError
from gatewatch.sinks import MemorySink
from gatewatch.vision.pipeline import GatePipeline
from gatewatch.vision.sources import (
    Frame,
    FrameSource,
    ImageFolderSource,
    Prefetcher,
    VideoFileSource,
    open_source,
    plausible_fps,
)
from tests.conftest import asset

ROOT = Path(__file__).resolve().parents[2]

START = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def write_mjpeg(path, frames):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(frame)
    writer.release()


def real_frames(count=40):
    cap = cv2.VideoCapture(str(asset("videos/highway_cctv_trucks_320x240.avi")))
    frames = [cap.read()[1] for _ in range(count)]
    cap.release()
    return frames


def corrupt_jpeg_frames(path, which):
    """Overwrite half of the JPEG payload of the given frame numbers with noise."""
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    for k in which:
        begin, end = starts[k], starts[k + 1]
        half = (end - begin) // 2
        data[begin : begin + half] = np.random.default_rng(k).integers(0, 256, half, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def test_video_file_timestamps_follow_the_stream():
    source = VideoFileSource(SourceConfig(uri=str(asset("videos/street_parked_and_passing_vehicles_73s.mp4")),
                                          start_time=START))
    frames = []
    for frame in source:
        frames.append(frame)
        if len(frames) == 50:
            source.stop()
    source.close()
    ts = np.array([f.ts for f in frames])
    assert frames[0].index == 0 and frames[0].ts == 0.0 and frames[0].time == START
    assert np.all(np.diff(ts) > 0)
    # 10.04 fps clip: 49 frame intervals of ~0.0996 s.
    assert ts[49] == pytest.approx(49 / source.fps, abs=0.02)
    assert (frames[49].time - START).total_seconds() == pytest.approx(ts[49])


def test_corrupt_frames_are_skipped_and_counted(tmp_path):
    path = tmp_path / "clip.avi"
    write_mjpeg(path, real_frames(40))
    corrupt_jpeg_frames(path, [15, 16, 25])
    source = open_source(SourceConfig(uri=str(path)))
    indices = [frame.index for frame in Prefetcher(source)]
    assert source.stats.corrupt == 3
    assert source.stats.frames == len(indices) == 37
    assert indices[-1] == 39  # the stream went on to the end


def test_image_folder_skips_unreadable_images(tmp_path):
    for i, frame in enumerate(real_frames(6)):
        cv2.imwrite(str(tmp_path / f"{i:03d}.jpg"), frame)
    (tmp_path / "003.jpg").write_bytes(b"not a jpeg at all")
    source = ImageFolderSource(SourceConfig(uri=str(tmp_path), folder_fps=5))
    frames = list(source)
    assert [f.index for f in frames] == [0, 1, 2, 4, 5]
    assert [f.ts for f in frames] == [0.0, 0.2, 0.4, 0.8, 1.0]
    assert source.stats.corrupt == 1 and source.stats.corrupt_indices == [3]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "video not found"),
        (lambda d: (d / "notes.mp4").write_text("hello") and d / "notes.mp4", "cannot read video"),
        (lambda d: (d / "empty.avi").write_bytes(b"") or d / "empty.avi", "cannot read video"),
        (lambda d: d / "no-such-folder" / "", "not found"),
    ],
    ids=["missing", "text-file", "empty-file", "missing-folder"],
)
def test_bad_sources_fail_with_one_line(tmp_path, make, message):
    with pytest.raises(SourceError) as err:
        open_source(SourceConfig(uri=str(make(tmp_path))))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_folder_without_images(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(SourceError, match="no images"):
        open_source(SourceConfig(uri=str(tmp_path)))


def test_unreachable_stream_fails_at_open():
    with pytest.raises(SourceError, match="cannot open stream"):
        open_source(SourceConfig(uri="rtsp://127.0.0.1:9/none", reconnect={"max_attempts": 1, "initial_s": 0.1}))


class SlowDecoder(FrameSource):
    """A source whose every frame takes 50 ms to decode; records a ``close()`` that lands mid-decode.

    Releasing a real capture while the reader thread is inside FFmpeg aborted or hung the test run.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fps, self.size, self.total_frames = 10.0, (64, 48), None
        self.decoding = False
        self.closed_mid_decode: bool | None = None

    def __iter__(self):
        for i in range(200):
            if self._stop.is_set():
                break
            self.decoding = True
            time.sleep(0.05)
            self.decoding = False
            yield Frame(np.zeros((48, 64, 3), np.uint8), i, i / 10, datetime(2026, 1, 1, tzinfo=timezone.utc))

    def close(self) -> None:
        self.closed_mid_decode = self.decoding


class NoVehicles:
    def predict(self, image: np.ndarray) -> sv.Detections:
        return sv.Detections.empty()


@pytest.mark.parametrize("stop_after", [1, 3])
def test_closing_after_an_early_stop_waits_for_the_reader_thread(stop_after: int) -> None:
    source = SlowDecoder()
    reader = Prefetcher(source)
    for n, _ in enumerate(reader, 1):
        if n >= stop_after:
            break
    reader.close()
    source.close()
    assert source.closed_mid_decode is False
    assert not reader._thread.is_alive()


def test_a_consumer_still_iterating_ends_when_the_reader_is_closed_under_it() -> None:
    """``close`` (from another thread, e.g. the run's ``finally``) may take the end marker while a consumer
    (the detect-ahead thread) is still iterating: the consumer must end, not wait on the queue forever."""
    import threading

    source = SlowDecoder()
    reader = Prefetcher(source)
    frames = iter(reader)
    assert next(frames) is not None
    reader.close()
    while not reader.queue.empty():  # what close took, or left: nothing comes after it
        reader.queue.get_nowait()
    rest: list[Frame] = []
    consumer = threading.Thread(target=lambda: rest.extend(frames), daemon=True)
    consumer.start()
    consumer.join(timeout=5)
    assert not consumer.is_alive(), "the consumer waits forever on a closed reader"
    source.close()


def test_a_run_cut_short_by_max_frames_leaves_the_source_safe_to_close() -> None:
    config = load_config(ROOT / "samples" / "highway_cctv.yaml")
    for _ in range(3):
        source = SlowDecoder()
        summary = GatePipeline(config, NoVehicles(), MemorySink(), fps=source.fps).run(source, max_frames=2)
        source.close()
        assert summary.frames == 2
        assert source.closed_mid_decode is False


def test_a_video_source_closed_while_its_reader_decodes_is_safe() -> None:
    """Real capture: close() waits for the frame being decoded (the lock), then nothing more is read."""
    source = VideoFileSource(SourceConfig(uri=str(asset("videos/highway_720p_cars.mp4"))))
    reader = Prefetcher(source)
    frames = iter(reader)
    next(frames)
    source.close()  # the reader thread is decoding ahead right now
    reader.close()
    assert not reader._thread.is_alive()


@pytest.mark.parametrize(
    ("reported", "expected"),
    [(25.0, 25.0), (29.97, 29.97), (1.0, 1.0), (240.0, 240.0), (0.0, 25.0), (90000.0, 25.0), (180000.0, 25.0),
     (-1.0, 25.0), (float("nan"), 25.0), (float("inf"), 25.0), (0.5, 25.0)],
)
def test_a_reported_frame_rate_is_used_only_when_plausible(reported, expected):
    """RTSP sources often report their 90 kHz time base as FPS: it would size the tracker's memory in frames."""
    assert plausible_fps(reported, "rtsp://cam") == pytest.approx(expected)
