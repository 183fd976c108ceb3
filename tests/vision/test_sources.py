"""Frame sources on real video: timestamps, corrupt frames, bad inputs."""

from __future__ import annotations

from datetime import datetime, timezone

import cv2
import numpy as np
import pytest

from gatewatch.config import SourceConfig
from gatewatch.errors import SourceError
from gatewatch.vision.sources import ImageFolderSource, Prefetcher, VideoFileSource, open_source
from tests.conftest import asset

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
