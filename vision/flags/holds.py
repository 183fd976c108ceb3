"""Hold list: plates the gate must stop, matched against plate reads with OCR tolerance.

Matching (``match_plate``) compares plate keys (``gatewatch.contract.plate_key``: upper case,
letters, digits and CJK characters only, the same key the API stores and searches on) and says
how it matched:

- ``exact``: the same text;
- ``confusable``: same length, differing only where OCR confuses O/0, D/0, Q/0, I/1, B/8, S/5,
  Z/2 or G/6 (``gatewatch.contract.LOOKALIKES``; never L/1: L is a Vietnamese series letter);
- ``missing_char``: the read lacks one character of the listed plate (up to confusions).

The list comes from the gate API (``GET /api/v1/holds`` through the edge's one API client,
``gatewatch.sinks.http.ApiClient``, answering ``gatewatch.contract.HoldsForEdge``:
``{"holds": [{"plate", "reason", "until"}]}``) or from a local YAML / JSON / CSV file with the
same fields; an edge box with no link falls back to the file.

Example::

    >>> match_plate("51F12345", "51F1234S")
    'confusable'
    >>> HoldList([Hold(plate="51F12345", reason="unpaid fees")]).find("51F1245").match
    'missing_char'
"""

from __future__ import annotations

import csv
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import supervision as sv
import yaml

from gatewatch.contract import HoldEntry, fold_lookalikes, plate_key
from gatewatch.errors import ConfigError
from gatewatch.events import FlagKind, FlagPhase, PlateRead
from gatewatch.vision.flags.common import FlagChange, OpenFlag
from gatewatch.vision.flags.config import HoldListConfig
from gatewatch.vision.sources import Frame
from gatewatch.vision.stages import as_box, track_ids, track_plates

if TYPE_CHECKING:
    from gatewatch.sinks.http import ApiClient

log = logging.getLogger(__name__)
MatchKind = Literal["exact", "confusable", "missing_char"]
Hold = HoldEntry  # one hold-list entry: the contract's wire shape, from the API or a local file
normalize_plate = plate_key  # the contract's plate key (kept under its old name here)


def match_plate(listed: str, read: str, *, confusable: bool = True, missing_char: bool = True,
                min_length: int = 5) -> MatchKind | None:
    """How ``read`` matches ``listed`` (both raw or normalised), or None."""
    a, b = plate_key(listed), plate_key(read)
    if not a or not b:
        return None
    if a == b:
        return "exact"
    if len(b) < min_length:
        return None
    ca, cb = fold_lookalikes(a), fold_lookalikes(b)
    if confusable and len(a) == len(b) and ca == cb:
        return "confusable"
    if missing_char and len(b) == len(a) - 1:
        target = ca if confusable else a
        probe = cb if confusable else b
        if any(target[:k] + target[k + 1 :] == probe for k in range(len(target))):
            return "missing_char"
    return None


def plates_similar(a: str, b: str) -> bool:
    """True when two reads could be the same plate (exact, confusable or one character missing either way)."""
    return match_plate(a, b, min_length=4) is not None or match_plate(b, a, min_length=4) is not None


@dataclass(frozen=True)
class HoldMatch:
    """A read that matched the hold list, and how."""

    hold: Hold
    match: MatchKind
    read: str

    def details(self) -> dict[str, Any]:
        return {"match": self.match, "listed": self.hold.plate, "read": self.read, "reason": self.hold.reason,
                "until": self.hold.until.isoformat() if self.hold.until else None}


_RANK = {"exact": 0, "confusable": 1, "missing_char": 2}


class HoldList:
    """The plates on hold; ``find(read, at)`` returns the best match (exact before fuzzy)."""

    def __init__(self, holds: Iterable[Hold] = (), confusable: bool = True, missing_char: bool = True,
                 min_length: int = 5) -> None:
        self.holds = list(holds)
        self.confusable, self.missing_char, self.min_length = confusable, missing_char, min_length

    def __len__(self) -> int:
        return len(self.holds)

    def find(self, read: str, at: datetime | None = None) -> HoldMatch | None:
        best: HoldMatch | None = None
        for hold in self.holds:
            if not hold.active(at):
                continue
            kind = match_plate(hold.plate, read, confusable=self.confusable, missing_char=self.missing_char,
                               min_length=self.min_length)
            if kind is not None and (best is None or _RANK[kind] < _RANK[best.match]):
                best = HoldMatch(hold, kind, plate_key(read))
        return best


def parse_holds(data: Any) -> list[Hold]:
    """Holds from ``{"holds": [...]}`` or a bare list of entries."""
    if isinstance(data, dict):
        data = data.get("holds", [])
    if not isinstance(data, list):
        raise ValueError("expected a list of holds or {'holds': [...]}")
    return [Hold.model_validate(item) for item in data]


def load_hold_file(path: str | Path) -> list[Hold]:
    """Read a YAML, JSON or CSV hold list (CSV header: plate,reason,until)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"hold_list.file: not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".csv":
            rows = [{k: (v or None) if k == "until" else (v or "") for k, v in r.items()} for r in csv.DictReader(text.splitlines())]
            return parse_holds(rows)
        if path.suffix.lower() == ".json":
            return parse_holds(json.loads(text))
        return parse_holds(yaml.safe_load(text) or [])
    except Exception as exc:
        raise ConfigError(f"hold_list.file: {path}: {exc}") from None


def hold_list_client(url: str, api_key: str | None, timeout_s: float = 5.0) -> ApiClient:
    """The edge's API client (``gatewatch.sinks.http.ApiClient``) for a holds ``url``, ``timeout_s`` to connect and to read."""
    from gatewatch.sinks.http import ApiClient  # httpx loads only where a hold-list url is set

    return ApiClient(url, api_key, connect_timeout_s=timeout_s, read_timeout_s=timeout_s)


def fetch_holds(url: str, api_key: str | None, timeout_s: float = 5.0) -> list[Hold]:
    """``GET url`` with ``X-API-Key``; raises on any failure (``gatewatch.sinks.http.DeliveryError``)."""
    with hold_list_client(url, api_key, timeout_s) as client:
        return client.holds(url)


class HoldListSource:
    """Loads the list from the API (file as fallback) and refreshes it on a background thread."""

    def __init__(self, config: HoldListConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.loaded_from = ""
        self.failures = 0
        self._client = hold_list_client(config.url, os.environ.get(config.api_key_env), config.timeout_s) if config.url else None
        self._list = HoldList(self._load(first=True), config.confusable, config.missing_char, config.min_length)
        self._thread: threading.Thread | None = None
        if config.url and config.refresh_s > 0:
            self._thread = threading.Thread(target=self._refresh_loop, name="hold-list", daemon=True)
            self._thread.start()

    @property
    def holds(self) -> HoldList:
        with self._lock:
            return self._list

    def _load(self, first: bool = False) -> list[Hold]:
        cfg = self.config
        if cfg.url and self._client is not None:
            try:
                holds = self._client.holds(cfg.url)
                self.loaded_from = cfg.url
                return holds
            except Exception as exc:  # no link: fall back to the file
                self.failures += 1
                log.warning("hold list: fetching %s failed (%s)%s", cfg.url, exc, "; using the file" if cfg.file else "")
                if not cfg.file and not first:
                    raise
        if cfg.file:
            self.loaded_from = cfg.file
            return load_hold_file(cfg.file)
        return []

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.config.refresh_s):
            try:
                holds = self._load()
            except Exception:  # keep the last good list
                continue
            with self._lock:
                self._list = HoldList(holds, self.config.confusable, self.config.missing_char, self.config.min_length)

    def close(self) -> None:
        self._stop.set()
        if self._client is not None:
            self._client.close()  # a fetch in flight fails; the refresh thread keeps the last list and stops


@dataclass
class _Watched:
    flag: OpenFlag
    match: HoldMatch
    plate: PlateRead
    track_id: int
    vehicle_class: str | None
    box: tuple[float, float, float, float]
    last_seen_ts: float


class HoldListStage:
    """Flag stage: checks each track's plate once it appears and raises ``hold_list`` at once (``FlagChange``).

    Plates come with the tracks (their ``plate`` column, set from the plate stage); without
    one the stage never flags. A flag follows its plate, not its track id: the same plate under a
    new id within ``grace_s`` keeps the flag; the flag ends once the plate's vehicle is out of
    sight that long.

    Args:
        holds: a ``HoldList`` or a callable returning the current one (refreshing source).
    """

    def __init__(self, holds: HoldList | Callable[[], HoldList], grace_s: float = 5.0,
                 update_interval_s: float = 30.0) -> None:
        self._holds = holds if callable(holds) else (lambda: holds)
        self.grace_s, self.update_interval_s = grace_s, update_interval_s
        self._checked: dict[int, str] = {}  # track id -> plate text already checked
        self._open: dict[str, _Watched] = {}  # listed plate -> open flag
        self._last_frame: Frame | None = None
        self.checks = 0

    def update(self, frame: Frame, tracks: sv.Detections) -> list[FlagChange]:
        self._last_frame = frame
        events: list[FlagChange] = []
        ids = track_ids(tracks)
        names = tracks.data.get("class_name")
        plates = track_plates(tracks)
        seen: set[str] = set()
        for i, tid in enumerate(ids):
            tid = int(tid)
            box = as_box(tracks.xyxy[i])
            for listed, watched in self._open.items():
                if watched.track_id == tid:
                    watched.last_seen_ts, watched.box = frame.ts, box
                    seen.add(listed)
            plate = plates[i] if plates is not None else None
            if plate is None or self._checked.get(tid) == plate.text:
                continue
            self._checked[tid] = plate.text
            self.checks += 1
            match = self._holds().find(plate.text, frame.time)
            if match is None:
                continue
            cls = str(names[i]) if names is not None else None
            listed = match.hold.plate
            if listed in self._open:  # same vehicle under a new id
                watched = self._open[listed]
                watched.track_id, watched.last_seen_ts, watched.box = tid, frame.ts, box
                seen.add(listed)
                continue
            flag = OpenFlag.raise_on(FlagKind.HOLD_LIST, frame, f"{listed}/{tid}")
            watched = _Watched(flag, match, plate, tid, cls, box, frame.ts)
            self._open[listed] = watched
            seen.add(listed)
            events.append(self._event(watched, FlagPhase.START, frame, frame.ts))
        for listed, watched in list(self._open.items()):
            if frame.ts - watched.last_seen_ts > self.grace_s:
                events.append(self._event(watched, FlagPhase.END, frame, watched.last_seen_ts, "left"))
                del self._open[listed]
            elif listed in seen and frame.ts - watched.flag.last_emit_ts >= self.update_interval_s:
                events.append(self._event(watched, FlagPhase.UPDATE, frame, frame.ts))
        return events

    def forget(self, frame: Frame, track_ids: list[int]) -> list[FlagChange]:
        """Tracks that ended: drop their checked plate; an open flag follows its plate and ends by ``grace_s``."""
        for tid in track_ids:
            self._checked.pop(tid, None)
        return []

    @property
    def tracks(self) -> int:
        """Tracks whose plate was checked and that have not ended."""
        return len(self._checked)

    def finish(self, frame: Frame | None) -> list[FlagChange]:
        frame = frame or self._last_frame
        out = [self._event(w, FlagPhase.END, frame, w.last_seen_ts, "stream_end") for w in self._open.values()] if frame else []
        self._open.clear()
        return out

    def _event(self, w: _Watched, phase: FlagPhase, frame: Frame, ts: float, reason: str = "") -> FlagChange:
        details = w.match.details() | ({"reason_end": reason} if reason else {})
        return w.flag.change(phase, frame, ts, track_id=w.track_id, vehicle_class=w.vehicle_class, box=w.box,
                             plate=w.plate, details=details)
