"""The console on the data of a real run: the edge pipeline on the shared clips, delivered through the outbox.

A module fixture starts the gate API (uvicorn on 127.0.0.1, temporary SQLite, an operator and an edge key), runs
the real edge pipeline (``gatewatch.vision.runner.run_camera``, as ``gatewatch run`` does) on the first frames of
two shared clips with the outbox delivering to that API, and waits until every event the run produced is stored.
The clips' stream times start today in the gate's zone, so the views show the run as today's traffic.

- ``highway_cctv_trucks_320x240.avi`` (``samples/highway_cctv.yaml``): crossings on two lanes, each with its crop;
- ``street_parked_and_passing_vehicles_73s.mp4`` (``samples/street_parked_held.yaml``): held-vehicle flags with
  snapshot and crop, plates read on its vehicles.

Then every view, in en, vi and zh, in a real headless Chromium (one browser for the module): the numbers on screen
equal what the run produced, images load, no untranslated key; screenshots in
``test-artifacts/screenshots/real-<view>-<lang>.png``.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatewatch.vision.pipeline import RunSummary
from tests.api.helpers import CHROMIUM, CHROMIUM_ARGS, RAW_KEY, VIEW_HEADINGS, VIEW_TEXTS_JS, serve_live

ROOT = Path(__file__).resolve().parents[2]
VIDEOS = ROOT.parent / "shared" / "assets" / "videos"
SHOTS = ROOT / "test-artifacts" / "screenshots"
LANGS = ("en", "vi", "zh")
GATE = "demo-gate"
# (sample config, frames to run, read plates): short pieces so the fixture stays near a minute on a loaded 2-core box
CLIPS = (("highway_cctv", 100, False), ("street_parked_held", 45, True))
HEADINGS = {view: VIEW_HEADINGS[view] for view in ('queue', 'today', 'trends', 'plates', 'counts', 'export', 'holds')}
DOCS_SHOTS = {("queue", "vi"), ("today", "vi")}  # copied by hand to api/docs/console-real-<view>-<lang>.png
HOLDS_EMPTY = {"en": "The hold list is empty.", "vi": "Danh sách trống.", "zh": "布控名单为空。"}

ERRORS: dict[Any, list[str]] = {}  # script errors per open page

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)")


@dataclass
class RealRun:
    """What the run produced and where the API that received it listens."""

    url: str
    operator: str  # bearer token of an operator
    day: date  # the gate's day the run's stream times fall on
    events: list[dict[str, Any]] = field(default_factory=list)  # every event the pipeline produced (JSON lines)
    summaries: dict[str, RunSummary] = field(default_factory=dict)  # per sample config

    @property
    def crossings(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == "crossing"]

    @property
    def flag_ids(self) -> set[str]:
        return {e["flag_id"] for e in self.events if e["kind"] == "flag"}

    def lane_totals(self) -> Counter[tuple[str, str]]:
        """Crossings per (lane, direction), summed over the run summaries."""
        totals: Counter[tuple[str, str]] = Counter()
        for summary in self.summaries.values():
            totals.update(summary.lane_totals())
        return totals

    def names(self) -> set[str]:
        """Gate, camera, lane and zone ids the run's events carry (shown as they are, in every language)."""
        return {e[k] for e in self.events for k in ("gate", "camera", "lane", "zone") if e.get(k)}

    def plates(self) -> set[str]:
        return {e["plate"]["text"] for e in self.events if e.get("plate")}


def start_time_today(tz: Any) -> datetime:
    """A start for the clips' stream times: today in the gate's zone, long enough before now for the clips to end."""
    now = datetime.now(tz).replace(microsecond=0)
    midnight = now.replace(hour=0, minute=0, second=0)
    return midnight + (now - midnight - timedelta(seconds=30)) / 2 if now - midnight > timedelta(seconds=60) else midnight


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRun]:
    """The gate API on 127.0.0.1 fed by real runs of the shared clips through the outbox (see the module doc)."""
    from gatewatch.api.app import create_app
    from gatewatch.api.auth import create_token, create_user, new_api_key
    from gatewatch.api.settings import Settings
    from gatewatch.config import parse_config
    from gatewatch.errors import ModelError
    from gatewatch.models import resolve_model
    from gatewatch.vision.plates.detector import plate_model_path
    from gatewatch.vision.runner import run_camera

    configs = {name: yaml.safe_load((ROOT / "samples" / f"{name}.yaml").read_text()) for name, _, _ in CLIPS}
    for raw in configs.values():
        clip = VIDEOS / raw["source"]["uri"].removeprefix("asset://videos/")
        if not clip.is_file():
            pytest.skip(f"asset video missing: {clip}")
    try:
        for model in {raw.get("model", {}).get("name", "yolov8n") for raw in configs.values()}:
            resolve_model(model, download=False)
        plate_model_path(export_if_missing=True)  # a fresh cache (CI) exports it from the shared checkpoint once
    except ModelError as exc:
        pytest.skip(f"model missing: {exc}")
    root = tmp_path_factory.mktemp("real-run")
    settings = Settings(database_url=f"sqlite:///{root}/gate-api.sqlite", evidence_dir=root / "api-evidence",
                        jwt_secret="real-run-secret-" + "x" * 32)
    app = create_app(settings)
    with app.state.sessionmaker() as session:
        operator = create_user(session, "olga", "operator-password", "operator")
        key = new_api_key(session, GATE, "*").key
        session.commit()
        token = create_token(app.state.jwt_secret, operator, timedelta(hours=2))
    start = start_time_today(settings.tz)
    with serve_live(app) as url:
        run = RealRun(url=url, operator=token, day=start.date())
        for name, frames, plates in CLIPS:
            raw = configs[name]
            raw["source"]["start_time"] = start.isoformat()
            raw["output"] = {"events": str(root / f"{name}.jsonl"), "crops_dir": str(root / f"{name}-crops")}
            if "flags" in raw:
                raw["flags"]["evidence_dir"] = str(root / f"{name}-evidence")
            if plates:
                raw["plates"] = {}
            raw["delivery"] = {"api_url": url, "api_key": key, "outbox_path": str(root / f"{name}-outbox.sqlite"),
                               "close_grace_s": 120, "retry": {"initial_s": 0.2, "max_s": 2, "jitter_s": 0.1}}
            run.summaries[name] = run_camera(parse_config(raw, base=ROOT), max_frames=frames, progress_every_s=1e9)
            run.events += [json.loads(line) for line in (root / f"{name}.jsonl").read_text().splitlines()]
        # closing the sinks waited for the outbox to drain; check that it did: every produced event stored, once
        expected = {e["event_id"] for e in run.events}
        images = {(e["event_id"], role) for e in run.events for role in ("crop", "snapshot") if e.get(f"{role}_path")}
        with sqlite3.connect(f"file:{root}/gate-api.sqlite?mode=ro", uri=True) as db:
            stored = [r[0] for r in db.execute("SELECT event_id FROM events")]
            evidence = {(r[0], r[1]) for r in db.execute("SELECT event_id, role FROM evidence")}
        assert sorted(stored) == sorted(expected), "the outbox did not deliver every event the run produced"
        assert images <= evidence, f"evidence not delivered: {sorted(images - evidence)[:5]}"
        assert run.crossings and run.flag_ids, "the pieces of the clips held no crossing or no held vehicle"
        yield run


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_view(browser: Any, run: RealRun, lang: str, view: str) -> Any:
    """A page signed in as the operator, in ``lang``, on ``view``, in a browser whose own zone is not the gate's."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1366, "height": 768}, timezone_id="America/New_York",
                                  accept_downloads=True)
    context.add_init_script(f"sessionStorage.setItem('gw_token', {run.operator!r}); "
                            f"localStorage.setItem('gw_lang', {lang!r});")
    page = context.new_page()
    errors = ERRORS[page] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{run.url}/ui/#{view}")
    expect(page.locator(f"#{view}-view h2").first).to_contain_text(HEADINGS[view][lang])
    return page


def docs_shot(page: Any, name: str) -> Path:
    """A viewport screenshot reduced to a 128-colour PNG for api/docs (test-artifacts/screenshots/docs/<name>.png)."""
    from PIL import Image

    folder = SHOTS / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    # fast octree: the real frames' 128-colour palette compresses to ~130 KB where median cut gives ~150 KB
    image.quantize(colors=128, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)
    assert path.stat().st_size < 150_000, f"{path} is {path.stat().st_size} bytes"
    return path


def finish(page: Any, view: str, lang: str, run: RealRun, data: tuple[str, ...] = ()) -> None:
    """Screenshot (and a small one for api/docs of the views shown there); every key translated and every
    placeholder filled; no script error."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"real-{view}-{lang}.png"), full_page=True)
    if (view, lang) in DOCS_SHOTS:
        docs_shot(page, f"console-real-{view}-{lang}")
    text = page.evaluate(VIEW_TEXTS_JS, f"{view}-view")
    for name in sorted(run.names() | set(data), key=len, reverse=True):  # ids and file names are data, not keys
        text = text.replace(name, "")
    assert not RAW_KEY.search(text) and "{" not in text, text
    assert ERRORS.pop(page) == []
    page.context.close()


def wait_images(page: Any, locator: Any) -> list[int]:
    """Wait until every image of ``locator`` decoded; their natural widths."""
    page.wait_for_function("imgs => imgs.every(i => i.complete && i.naturalWidth > 0)",
                           arg=locator.element_handles())
    return [int(w) for w in locator.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")]


@pytest.mark.parametrize("lang", LANGS)
def test_flag_queue_holds_the_runs_held_flags(real_run: RealRun, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    page = open_view(browser, real_run, lang, "queue")
    cards = page.locator("#queue li.card")
    expect(cards).to_have_count(len(real_run.flag_ids))
    shown = set(cards.evaluate_all("cards => cards.map(c => c.dataset.flagId)"))
    assert shown == real_run.flag_ids
    assert all(w > 0 for w in wait_images(page, page.locator("#queue li.card img")))  # every snapshot thumbnail
    expect(page.locator("#queue-count")).to_have_text(str(len(real_run.flag_ids)))
    cards.first.click()
    snapshot = page.locator("#flag-detail figure[data-role=snapshot]")
    expect(snapshot.locator(".box-overlay rect.box")).to_have_count(1)
    assert wait_images(page, snapshot.locator("img")) == [640]  # the street clip's full frame
    finish(page, "queue", lang, real_run)


@pytest.mark.parametrize("lang", LANGS)
def test_today_board_totals_equal_the_runs_counts(real_run: RealRun, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    page = open_view(browser, real_run, lang, "today")
    rows = page.locator("table.lanes tbody tr")
    totals = real_run.lane_totals()
    lanes = sorted({lane for lane, _ in totals})
    expect(rows).to_have_count(len(lanes))
    shown = {r[1]: r for r in rows.evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.innerText))")}
    assert sorted(shown) == lanes
    for lane in lanes:
        assert int(shown[lane][4].replace(",", "").replace(".", "")) == totals[(lane, "entry")] + totals[(lane, "exit")]
    trucks = sum(1 for c in real_run.crossings if c["vehicle_class"] == "truck")
    expect(page.locator(f'.gauge[data-gate="{GATE}"] .gauge-count')).to_have_text(str(trucks))
    expect(page.locator('.tile[data-kind="held"] .tile-count')).to_have_text(str(len(real_run.flag_ids)))
    recent = page.locator("li.crossing")
    expect(recent).to_have_count(min(12, len(real_run.crossings)))
    assert all(w > 0 for w in wait_images(page, recent.locator("img.thumb")))  # the crossings' crops
    finish(page, "today", lang, real_run)


@pytest.mark.parametrize("lang", LANGS)
def test_trends_of_the_runs_day(real_run: RealRun, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    page = open_view(browser, real_run, lang, "trends")
    page.fill("#trends-from", real_run.day.isoformat())
    page.fill("#trends-to", real_run.day.isoformat())
    page.click("#trends-form button[type=submit]")
    bars = page.locator("#trends-chart rect.bar.entry[data-count]")
    expect(bars).to_have_count(1)
    entries = bars.evaluate_all("bars => bars.map(b => +b.dataset.count)")
    exits = page.locator("#trends-chart rect.bar.exit[data-count]").evaluate_all("bars => bars.map(b => +b.dataset.count)")
    totals = real_run.lane_totals()
    assert entries == [sum(n for (_, d), n in totals.items() if d == "entry")]
    assert exits == [sum(n for (_, d), n in totals.items() if d == "exit")]
    ended = {e["flag_id"] for e in real_run.events if e["kind"] == "flag" and e["phase"] == "end"}
    expect(page.locator("table.held-now tbody tr")).to_have_count(len(real_run.flag_ids - ended))  # still standing
    finish(page, "trends", lang, real_run)


@pytest.mark.parametrize("lang", LANGS)
def test_plate_search_on_the_runs_plates(real_run: RealRun, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    page = open_view(browser, real_run, lang, "plates")
    plates = sorted(real_run.plates())
    page.fill("#plate-q", plates[0] if plates else "51F12345")
    page.click("#plates-form button[type=submit]")
    if plates:  # the run read a plate: found, with its history
        expect(page.locator(f'#plate-results button.result[data-plate="{plates[0]}"]')).to_have_count(1)
        expect(page.locator("table.history-crossings tbody tr").first).to_be_visible()
    else:  # the run read no plate on these pieces of the clips: the search says so
        expect(page.locator("#plates-count")).to_contain_text("0")
        expect(page.locator("#plate-results li")).to_have_count(0)
    finish(page, "plates", lang, real_run)


@pytest.mark.parametrize("lang", LANGS)
def test_counts_chart_total_equals_the_crossings(real_run: RealRun, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    page = open_view(browser, real_run, lang, "counts")
    page.fill("#counts-day", real_run.day.isoformat())
    page.click("#counts-form button[type=submit]")
    bars = page.locator("#chart rect.bar")
    expect(bars).to_have_count(24)
    expect(page.locator("#counts-total")).to_contain_text(str(len(real_run.crossings)))
    assert sum(bars.evaluate_all("bars => bars.map(b => +b.dataset.count)")) == len(real_run.crossings)
    finish(page, "counts", lang, real_run)


@pytest.mark.parametrize("lang", LANGS)
def test_export_downloads_the_runs_crossings(real_run: RealRun, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    page = open_view(browser, real_run, lang, "export")
    page.select_option("#export-what", "crossings")
    page.fill("#export-from", real_run.day.isoformat())
    page.fill("#export-to", real_run.day.isoformat())
    with page.expect_download() as info:
        page.click("#export-button")
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert sorted(r["event_id"] for r in rows) == sorted(c["event_id"] for c in real_run.crossings)
    expect(page.locator("#export-done")).to_contain_text(info.value.suggested_filename)
    finish(page, "export", lang, real_run, data=(info.value.suggested_filename,))


@pytest.mark.parametrize("lang", LANGS)
def test_hold_list_is_empty_after_the_run(real_run: RealRun, browser: Any, lang: str) -> None:
    """The run flags held vehicles but puts nothing on the hold list (officers do): the list says it is empty."""
    from playwright.sync_api import expect

    page = open_view(browser, real_run, lang, "holds")
    expect(page.locator("#holds-view p.muted", has_text=HOLDS_EMPTY[lang])).to_be_visible()
    expect(page.locator("#holds-count")).to_contain_text("0")
    expect(page.locator("table.holds")).to_have_count(0)
    finish(page, "holds", lang, real_run)
