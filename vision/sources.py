"""Frame sources: video files, image folders, RTSP/HTTP streams and webcams.

Each yields ``Frame`` records that carry the frame's own timestamp: the container's
presentation time for files, the folder's nominal rate for image folders, and the moment of
capture for live streams. Unreadable frames are skipped and counted (``stats.corrupt``);
a dropped stream reconnects with exponential backoff (tenacity).

Example::

    >>> source = open_source(SourceConfig(uri="clip.mp4"))
    >>> for frame in source:
    ...     frame.index, frame.ts, frame.image.shape
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, cast

import cv2
import numpy as np
from tenacity import (
    RetryError,
    Retrying,
    retry_if_result,
    stop_after_attempt,
    stop_never,
    wait_exponential,
    wait_random,
)

from gatewatch.config import SourceConfig
from gatewatch.errors import SourceError

if TYPE_CHECKING:
    from typing_extensions import TypeIs  # typing.TypeIs from Python 3.13

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class Frame:
    """One frame and when it was seen.

    Attributes:
        image: BGR uint8 ``(H, W, 3)``.
        index: position in the source (skipped corrupt frames keep their index).
        ts: seconds since the start of the stream (from the stream's timestamps).
        time: wall-clock time of the frame (UTC).
        source_id: identity of a replayable source (a file's size and content hash), ``None``
            for live streams.
    """

    image: np.ndarray
    index: int
    ts: float
    time: datetime
    source_id: str | None = None

    @property
    def key(self) -> str:
        """What names this frame across runs: file identity and index, or the live frame's UTC time."""
        if self.source_id is not None:
            return f"{self.source_id}#{self.index}"
        return self.time.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class SourceStats:
    """What a source has delivered so far."""

    frames: int = 0
    corrupt: int = 0
    reconnects: int = 0
    open_attempts: int = 0
    corrupt_indices: list[int] = field(default_factory=list)
    ended_early: bool = False
    expected_frames: int | None = None

    def mark_corrupt(self, index: int) -> None:
        self.corrupt += 1
        if len(self.corrupt_indices) < 1000:
            self.corrupt_indices.append(index)


#: frame rates outside this range are a container's time base, not a camera's rate (RTSP often says 90000)
PLAUSIBLE_FPS = (1.0, 240.0)


def plausible_fps(reported: float, uri: str = "") -> float:
    """The frame rate a source reports, or 25 when it is missing or implausible (the tracker's memory and
    the scheduler's speeds are sized by it); an implausible one is logged."""
    low, high = PLAUSIBLE_FPS
    if low <= reported <= high:
        return float(reported)
    if reported:
        log.warning("%s reports %.6g FPS, not a frame rate; 25 FPS assumed", uri or "source", reported)
    return 25.0


def _valid(image: np.ndarray | None) -> TypeIs[np.ndarray]:
    return image is not None and image.ndim == 3 and image.shape[0] > 0 and image.shape[1] > 0 and image.shape[2] == 3


def file_identity(path: Path, chunk: int = 1 << 20) -> str:
    """Content identity of a file: its size and a SHA-256 of its first and last MiB.

    The same recording gives the same identity wherever it lies; a different or changed
    recording gives another (the path alone would do neither).
    """
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        digest.update(f.read(chunk))
        if size > chunk:
            f.seek(max(chunk, size - chunk))
            digest.update(f.read(chunk))
    return f"{size}-{digest.hexdigest()[:32]}"


def folder_identity(files: list[Path]) -> str:
    """Content identity of an image folder: names, sizes and the first KiB of every image."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.name}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as f:
            digest.update(f.read(1024))
    return f"{len(files)}-{digest.hexdigest()[:32]}"


def jpeg_complete(data: bytes) -> bool:
    """Whether JPEG bytes end with their end-of-image marker (``FF D9``; trailing padding allowed).

    A JPEG cut short still decodes (libjpeg fills the rest grey and only warns "Premature
    end of JPEG file"), so truncation has to be checked on the bytes.
    """
    return data.rstrip(b"\x00\r\n\t ").endswith(b"\xff\xd9")


def _start_time(config: SourceConfig, recorded: Path) -> datetime:
    """Wall-clock time of a file's first frame: the configured one (UTC if naive), else the file's mtime.

    Not the time of the run: a replay of the same file must build the same events (same
    deterministic ids, same times), so the API stores each crossing once instead of refusing
    the replay's events as conflicts.
    """
    start = config.start_time or datetime.fromtimestamp(recorded.stat().st_mtime, timezone.utc)
    return start if start.tzinfo else start.replace(tzinfo=timezone.utc)


class FrameSource:
    """Base class: iterate to get frames; ``fps`` and ``size`` are known after opening."""

    fps: float = 0.0
    size: tuple[int, int] = (0, 0)  # (width, height)
    total_frames: int | None = None
    live: bool = False
    identity: str | None = None  # content identity of a replayable source (see ``Frame.key``)

    def __init__(self) -> None:
        self.stats = SourceStats()
        self._stop = threading.Event()
        # Held while a capture decodes and while it is released: FFmpeg must never see both at once
        # (a capture released under a reading thread crashes or hangs the process).
        self._capture_lock = threading.Lock()
        self._released = False

    def stop(self) -> None:
        """Ask the source to end after the current frame (thread-safe)."""
        self._stop.set()


    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class VideoFileSource(FrameSource):
    """A video file; frame times from the container's timestamps."""

    def __init__(self, config: SourceConfig) -> None:
        super().__init__()
        self.path = Path(config.uri)
        if not self.path.is_file():
            raise SourceError(f"video not found: {self.path}")
        self.config = config
        probe = cv2.VideoCapture(str(self.path))
        try:
            ok, first = probe.read() if probe.isOpened() else (False, None)
            if not ok or not _valid(first):
                raise SourceError(f"cannot read video: {self.path} (not a video, or an unsupported codec)")
            self.fps = plausible_fps(float(probe.get(cv2.CAP_PROP_FPS)), str(self.path))
            count = int(probe.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            probe.release()
        # Never seek back to the start: on some files (variable frame rate mp4) a seek to frame 0
        # lands seconds later. A second capture starts at the true first frame.
        self.cap = cv2.VideoCapture(str(self.path))
        self.size = (first.shape[1], first.shape[0])
        self.total_frames = count if count > 0 else None
        self.stats.expected_frames = self.total_frames
        self.start_time = _start_time(config, self.path)
        self.identity = f"file:{file_identity(self.path)}"

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        misses = 0  # frames in a row that could not be read
        pending: list[int] = []  # failed reads, corrupt only if a good frame follows them
        last_ts = -1.0
        last_pts: float | None = None
        first_pts: float | None = None  # containers may start at a non-zero presentation time
        started = time.monotonic()
        while not self._stop.is_set():
            with self._capture_lock:
                if self._stop.is_set() or self._released:
                    break
                ok = self.cap.grab()
                if ok:
                    ok_image, image = self.cap.retrieve()
                    pts = self.cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if not ok:
                # A failed read before the container's end may be one damaged frame: try on.
                if self.total_frames is not None and index < self.total_frames and misses < self.config.max_corrupt_in_row:
                    pending.append(index)
                    misses += 1
                    index += 1
                    continue
                break
            ok = ok_image
            if first_pts is None:
                first_pts = pts - index / self.fps
            ts = pts - first_pts
            if ts <= last_ts or ts < 0:  # no usable timestamps: fall back to the nominal rate
                ts = index / self.fps
            for skipped in pending:
                self.stats.mark_corrupt(skipped)
            pending.clear()
            if not ok or not _valid(image) or image.shape[:2] != (self.size[1], self.size[0]):
                self.stats.mark_corrupt(index)
                misses += 1
                index += 1
                if misses >= self.config.max_corrupt_in_row:
                    break
                continue
            misses = 0
            last_ts = ts
            last_pts = pts  # the container's own time, which the stated length counts in
            if self.config.realtime:
                delay = ts - (time.monotonic() - started)
                if delay > 0:
                    time.sleep(delay)
            self.stats.frames += 1
            yield Frame(image, index, ts, self.start_time + timedelta(seconds=ts), self.identity)
            index += 1
        if not self._stop.is_set():
            self._check_end(last_pts)

    def _check_end(self, last_pts: float | None) -> None:
        """Warn when the stream stopped well before the container's stated length (a cut file)."""
        if self.total_frames is None:
            return
        duration = self.total_frames / self.fps
        reached = (last_pts if last_pts is not None else -1 / self.fps) + 1 / self.fps
        # Frame counts of variable-rate files are estimates (duration x fps): judge by time.
        if duration - reached > max(1.0, 2 / self.fps):
            self.stats.ended_early = True
            log.warning(
                "%s ended early: %d of %d frames (%.1f of %.1f s); the file is cut short or damaged",
                self.path.name, self.stats.frames, self.total_frames, max(reached, 0.0), duration,
            )

    def close(self) -> None:
        self.stop()
        with self._capture_lock:
            self._released = True
            self.cap.release()


class ImageFolderSource(FrameSource):
    """Images in a folder, in name order, at a nominal rate; unreadable images are skipped."""

    def __init__(self, config: SourceConfig) -> None:
        super().__init__()
        self.path = Path(config.uri)
        if not self.path.is_dir():
            raise SourceError(f"image folder not found: {self.path}")
        self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self.path}")
        self.fps = config.folder_fps
        self.total_frames = len(self.files)
        self.start_time = _start_time(config, self.files[0])
        self.identity = f"folder:{folder_identity(self.files)}"
        for file in self.files:
            image = self._read(file)
            if _valid(image):
                self.size = (image.shape[1], image.shape[0])
                break
        else:
            raise SourceError(f"none of the {len(self.files)} images in {self.path} can be read")

    @staticmethod
    def _read(file: Path) -> np.ndarray | None:
        """Decode one image; ``None`` when unreadable or a JPEG cut short."""
        try:
            data = file.read_bytes()
        except OSError:
            return None
        if data[:2] == b"\xff\xd8" and not jpeg_complete(data):
            return None
        return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)

    def __iter__(self) -> Iterator[Frame]:
        for index, file in enumerate(self.files):
            if self._stop.is_set():
                break
            image = self._read(file)
            if not _valid(image) or image.shape[:2] != (self.size[1], self.size[0]):
                log.warning("skipping unreadable or truncated image %s", file.name)
                self.stats.mark_corrupt(index)
                continue
            ts = index / self.fps
            self.stats.frames += 1
            yield Frame(image, index, ts, self.start_time + timedelta(seconds=ts), self.identity)


class StreamSource(FrameSource):
    """RTSP/HTTP stream or webcam; frame times are capture times; reconnects with backoff."""

    live = True

    def __init__(self, config: SourceConfig) -> None:
        super().__init__()
        self.config = config
        self.target: str | int = int(config.uri) if config.uri.isdigit() else config.uri
        # A camera that is down when the edge box starts is the same case as one that drops:
        # the reconnect policy applies to the first open too.
        cap = self._reconnect()
        if cap is None:
            raise SourceError(f"cannot open stream: {config.uri} ({self.stats.open_attempts} attempt(s) failed)")
        self.cap = cap
        self.fps = plausible_fps(float(self.cap.get(cv2.CAP_PROP_FPS)), config.uri)
        self.size = (int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    def _open_once(self) -> cv2.VideoCapture | None:
        self.stats.open_attempts += 1
        cap = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG) if isinstance(self.target, str) else cv2.VideoCapture(self.target)
        if cap.isOpened():
            return cap
        cap.release()
        return None

    def _reconnect(self) -> cv2.VideoCapture | None:
        rc = self.config.reconnect
        retrying = Retrying(
            wait=wait_exponential(multiplier=rc.initial_s, max=rc.max_s) + wait_random(0, rc.initial_s),
            stop=stop_after_attempt(rc.max_attempts) if rc.max_attempts else stop_never,
            retry=retry_if_result(lambda cap: cap is None and not self._stop.is_set()),
            before_sleep=lambda state: log.warning(
                "stream %s down, attempt %d to open it failed", self.config.uri, state.attempt_number
            ),
        )
        try:
            return retrying(self._open_once)
        except RetryError:
            return None

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        t0_mono = time.monotonic()
        t0_wall = datetime.now(timezone.utc)
        misses = 0
        while not self._stop.is_set():
            with self._capture_lock:
                if self._stop.is_set() or self._released:
                    break
                ok, image = self.cap.read()
            if ok and _valid(image):
                misses = 0
                ts = time.monotonic() - t0_mono
                self.stats.frames += 1
                yield Frame(image, index, ts, t0_wall + timedelta(seconds=ts))
                index += 1
                continue
            misses += 1
            if ok:  # decoded but damaged
                self.stats.mark_corrupt(index)
                index += 1
                continue
            if misses < 5:
                continue
            log.warning("stream %s dropped after %d frames; reconnecting", self.config.uri, index)
            with self._capture_lock:
                self.cap.release()
            cap = self._reconnect()
            if cap is None:
                if not self._stop.is_set():
                    raise SourceError(f"stream {self.config.uri} could not be reopened")
                break
            with self._capture_lock:
                if self._released:
                    cap.release()
                    break
                self.cap = cap
            self.stats.reconnects += 1
            misses = 0

    def close(self) -> None:
        self.stop()
        with self._capture_lock:
            self._released = True
            self.cap.release()


def open_source(config: SourceConfig) -> FrameSource:
    """Open the source a config names; raises ``SourceError`` with a one-line reason."""
    kind = config.kind
    if kind == "auto":
        uri = config.uri
        if uri.isdigit():
            kind = "webcam"
        elif "://" in uri:
            kind = "stream"
        elif Path(uri).is_dir():
            kind = "folder"
        else:
            kind = "file"
    if kind == "file":
        return VideoFileSource(config)
    if kind == "folder":
        return ImageFolderSource(config)
    return StreamSource(config)


class Prefetcher:
    """Reads frames on a background thread so decoding overlaps inference.

    For files the queue blocks (no frame is lost); for live streams the oldest queued frame
    is dropped when the pipeline falls behind (``dropped`` counts them), so the edge box
    stays current.
    """

    _END = object()

    def __init__(self, source: FrameSource, depth: int = 4, notify: threading.Event | None = None) -> None:
        self.source = source
        self.queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self.dropped = 0
        self.error: BaseException | None = None
        self.ended = False  # the end marker was taken (``poll``)
        self._notify = notify  # set whenever a frame or the end is queued (a site runner waits on it)
        self._thread = threading.Thread(target=self._run, name="frame-reader", daemon=True)

    def _run(self) -> None:
        try:
            for frame in self.source:
                if self.source.live:
                    while True:
                        try:
                            self.queue.put_nowait(frame)
                            self._signal()
                            break
                        except queue.Full:
                            try:
                                self.queue.get_nowait()
                                self.dropped += 1
                            except queue.Empty:
                                pass
                else:
                    while not self.source._stop.is_set():
                        try:
                            self.queue.put(frame, timeout=0.2)
                            self._signal()
                            break
                        except queue.Full:
                            continue
        except BaseException as exc:  # handed to the consumer thread
            self.error = exc
        finally:
            while True:
                try:
                    self.queue.put(self._END, timeout=0.2)
                    self._signal()
                    break
                except queue.Full:
                    if self.source._stop.is_set():
                        with contextlib.suppress(queue.Empty):
                            self.queue.get_nowait()

    def _signal(self) -> None:
        if self._notify is not None:
            self._notify.set()

    def start(self) -> None:
        """Start the reader thread (``poll`` then takes frames without blocking)."""
        self._thread.start()

    @property
    def reading(self) -> bool:
        """The reader thread is still inside the source."""
        return self._thread.is_alive()

    def poll(self) -> Frame | None:
        """The next frame if one is queued, else ``None``; at the end sets ``ended`` (the reader's error re-raised)."""
        if self.ended:
            return None
        try:
            item = self.queue.get_nowait()
        except queue.Empty:
            return None
        if item is self._END:
            self.ended = True
            if self.error is not None:
                raise self.error
            return None
        return cast(Frame, item)

    def __iter__(self) -> Iterator[Frame]:
        self._thread.start()
        while True:
            try:
                item = self.queue.get(timeout=0.2)
            except queue.Empty:
                if self.source._stop.is_set() and not self._thread.is_alive():
                    break  # closed under this consumer (``close`` may have taken the end marker)
                continue
            if item is self._END:
                break
            yield cast(Frame, item)  # the queue holds frames and one end marker
        self._thread.join(timeout=5)
        if self.error is not None:
            raise self.error

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop the source and wait for the reader thread to leave it (frames read ahead are dropped).

        A consumer that stops early (``max_frames``, an error) must call this before the source is
        closed: releasing a capture while the reader thread is inside its decoder crashes or hangs
        FFmpeg.
        """
        self.source.stop()
        if not self._thread.is_alive():
            return
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):  # make room, so the thread never waits on a full queue
                self.queue.get(timeout=0.05)
        if self._thread.is_alive():
            log.warning("frame reader still decoding after %.1f s; the source is closed under its lock", timeout_s)
