"""The console's Today, Trends, Plates, Hold list and Users views in a real headless Chromium, in English, Vietnamese
and Chinese: data posted through the API (edge events, real JPEG evidence), the numbers on screen checked against it,
a screenshot per view and language (``test-artifacts/screenshots/<view>-<lang>.png``), nothing off-screen at 400 px.

One browser for the module, a fresh context (own storage) per test; SQLite only (the API tests cover PostgreSQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RAW_KEY,
    T0,
    VIEW_HEADINGS,
    VIEW_TEXTS_JS,
    Env,
    crossing,
    flag_event,
    post_events,
    serve_live,
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PLATE_CROP = (Path(__file__).resolve().parents[3] / "shared" / "assets" / "plates" / "vn_plate_crops_label_plate_number"
              / "images" / "10xemay112.jpg")
LANGS = ("en", "vi", "zh")
ERRORS: dict[Any, list[str]] = {}
HEADINGS = {view: VIEW_HEADINGS[view] for view in ('today', 'trends', 'plates', 'holds', 'users')}

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)"),
    pytest.mark.parametrize("env", ["sqlite"], indirect=True),
]

# Every visible element of the view and the header inside the viewport's width; a table may scroll inside its
# wrapper (the wrapper itself is checked). Returns the offenders as "tag.class: left..right".
OFF_SCREEN_JS = """(viewId) => {
  const width = document.documentElement.clientWidth;
  const out = [];
  const nodes = [...document.querySelectorAll("header *"), ...document.querySelectorAll("#" + viewId + " *")];
  for (const node of nodes) {
    if (node.closest(".table-wrap table") || node.closest("dialog:not([open])")) continue;
    const r = node.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.left < -1 || r.right > width + 1) out.push(node.tagName + "." + node.className + ": " + r.left + ".." + r.right);
  }
  return out;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_url(env: Env) -> Iterator[str]:
    """The env's app behind a real uvicorn server on 127.0.0.1."""
    with serve_live(env.app) as url:
        yield url


@pytest.fixture(scope="module")
def plate_jpeg() -> bytes:
    """A real Vietnamese plate crop (shared assets)."""
    if not PLATE_CROP.exists():
        pytest.skip(f"asset missing: {PLATE_CROP}")
    return PLATE_CROP.read_bytes()


def open_view(browser: Any, live_url: str, token: str, lang: str, view: str) -> Any:
    """A page signed in with ``token`` (session storage), in ``lang``, on ``view``, in a browser whose own zone is not
    the gate's; its heading checked. Script errors are collected in ``ERRORS[page]``."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1366, "height": 768}, timezone_id="America/New_York")
    context.add_init_script(f"sessionStorage.setItem('gw_token', {token!r}); localStorage.setItem('gw_lang', {lang!r});")
    page = context.new_page()
    errors = ERRORS[page] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_url}/ui/#{view}")
    expect(page.locator(f"#{view}-view h2")).to_have_text(HEADINGS[view][lang])
    return page


def finish(page: Any, view: str, lang: str) -> None:
    """Screenshot at 1366 px, then nothing off-screen at 400 px; no script error; no untranslated key shown."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{view}-{lang}.png"), full_page=True)
    text = page.evaluate(VIEW_TEXTS_JS, f"{view}-view")
    assert not RAW_KEY.search(text) and "{" not in text, text  # every key translated, every placeholder filled
    page.set_viewport_size({"width": 400, "height": 800})
    assert page.evaluate(OFF_SCREEN_JS, f"{view}-view") == []
    page.screenshot(path=str(SCREENSHOTS / f"{view}-{lang}-400.png"), full_page=True)
    assert ERRORS.pop(page) == []
    page.context.close()


def put_image(client: TestClient, key: str, event_id: str, image: bytes, role: str) -> None:
    r = client.put(f"/api/v1/events/{event_id}/evidence/{role}", content=image,
                   headers={"X-API-Key": key, "Content-Type": "image/jpeg"})
    assert r.status_code == 201, r.text


def wait_image(page: Any, locator: Any) -> tuple[int, int]:
    """Wait until an image decoded; its natural size."""
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=locator.element_handle())
    size = locator.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    return int(size[0]), int(size[1])


def local_today_noonish(env: Env) -> datetime:
    """A time of today in the gate's zone, before now: halfway between local midnight and now."""
    now = datetime.now(env.settings.tz)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight + (now - midnight) / 2).astimezone(timezone.utc)


@pytest.mark.parametrize("lang", LANGS)
def test_today_board(client: TestClient, env: Env, live_url: str, browser: Any, lang: str, frame_jpeg: bytes,
                     plate_jpeg: bytes) -> None:
    from playwright.sync_api import expect

    at = local_today_noonish(env)
    events = [crossing(frame_time=at - timedelta(seconds=i)) for i in range(3)]  # 3 trucks in
    events += [crossing(frame_time=at - timedelta(seconds=10), lane="lane-1", direction="exit", plate="29C-123.45"),
               crossing(frame_time=at - timedelta(seconds=20), vehicle_class="car")]
    events += [flag_event(str(uuid.uuid4()), "start", at=at, started_at=at)]
    assert post_events(client, env.key, events).status_code == 200
    put_image(client, env.key, events[3]["event_id"], frame_jpeg, "crop")
    put_image(client, env.key, events[3]["event_id"], plate_jpeg, "plate")
    api = client.get("/api/v1/today", headers=env.bearer()).json()
    assert api["trucks"][0]["trucks"] == 4

    page = open_view(browser, live_url, env.operator, lang, "today")
    expect(page.locator('.gauge[data-gate="g1"] .gauge-count')).to_have_text("4")
    expect(page.locator('.tile[data-kind="empty_truck"] .tile-count')).to_have_text("1")
    expect(page.locator('.tile[data-kind="held"] .tile-count')).to_have_text("0")
    expect(page.locator("table.lanes tbody tr")).to_have_count(2)
    expect(page.locator("li.crossing")).to_have_count(5)
    expect(page.locator('nav .tab[data-view="users"]')).to_have_count(0)  # operators see no Users tab
    card = page.locator(f'li.crossing[data-event-id="{events[3]["event_id"]}"]')
    expect(card.locator(".plate")).to_have_text("29C12345")
    assert wait_image(page, card.locator("img.thumb")) == (280, 160)  # the crop, not the plate image
    card.locator("button.zoomable").click()
    dialog = card.locator("dialog.lightbox")
    expect(dialog).to_be_visible()
    assert wait_image(page, dialog.locator("img.big")) == (280, 160)
    assert dialog.locator("img.big").evaluate("img => img.getBoundingClientRect().width") > 280  # shown enlarged
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    if lang == "en":  # live: a crossing posted while the page is open shows up without a reload (polls every 10 s)
        assert post_events(client, env.key, [crossing(frame_time=at + timedelta(seconds=1))]).status_code == 200
        expect(page.locator('.gauge[data-gate="g1"] .gauge-count')).to_have_text("5", timeout=30_000)
        page.fill("#today-gate", "g2")  # another gate: listed at zero, no crossings
        page.click("#today-form button[type=submit]")
        expect(page.locator('.gauge[data-gate="g2"] .gauge-count')).to_have_text("0")
        expect(page.locator("li.crossing")).to_have_count(0)
        page.fill("#today-gate", "")
        page.click("#today-form button[type=submit]")
        expect(page.locator("li.crossing")).to_have_count(6)
    finish(page, "today", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_trends(client: TestClient, env: Env, live_url: str, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    def m(minutes: float) -> datetime:
        return T0 + timedelta(minutes=minutes)

    events = [crossing(frame_time=T0 - timedelta(days=4)),
              crossing(frame_time=m(0), plate="29C12345"), crossing(frame_time=m(30), plate="29C12345", direction="exit"),
              crossing(frame_time=m(10), plate="51F67890"), crossing(frame_time=m(190), plate="51F67890", direction="exit"),
              flag_event(str(uuid.uuid4()), "start", at=m(50), started_at=m(50), flag_kind="held", zone="apron",
                         plate="30A-999.88")]
    assert post_events(client, env.key, events).status_code == 200

    page = open_view(browser, live_url, env.operator, lang, "trends")
    page.fill("#trends-from", "2026-11-20")
    page.fill("#trends-to", "2026-11-24")
    page.click("#trends-form button[type=submit]")
    expect(page.locator("#trends-chart rect.bar.entry[data-count]")).to_have_count(5)
    entries = page.locator("#trends-chart rect.bar.entry[data-count]").evaluate_all("bars => bars.map(b => +b.dataset.count)")
    exits = page.locator("#trends-chart rect.bar.exit[data-count]").evaluate_all("bars => bars.map(b => +b.dataset.count)")
    assert entries == [1, 0, 0, 0, 2] and exits == [0, 0, 0, 0, 2]
    counts = page.locator("#clearance-chart rect.bar.clearance[data-count]").evaluate_all(
        "bars => bars.map(b => +b.dataset.count)")
    assert counts == [0, 0, 1, 0, 1, 0, 0, 0]  # 30 min and 3 h
    expect(page.locator("table.slowest tbody tr")).to_have_count(2)
    expect(page.locator("table.slowest tbody tr").first.locator(".plate")).to_have_text("51F67890")
    expect(page.locator("table.held-now tbody tr .plate")).to_have_text("30A99988")
    expect(page.locator("#clearance-summary")).to_contain_text("2")
    page.select_option("#trends-by", "week")
    page.click("#trends-form button[type=submit]")
    expect(page.locator("#trends-chart rect.bar.entry[data-count]")).to_have_count(2)  # weeks of 16 and 23 Nov
    finish(page, "trends", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_plate_search_and_history(client: TestClient, env: Env, live_url: str, browser: Any, lang: str,
                                  frame_jpeg: bytes, plate_jpeg: bytes) -> None:
    import cv2
    import numpy as np
    from playwright.sync_api import expect

    first = crossing(frame_time=T0, plate="29C-123.45")
    events = [first, crossing(frame_time=T0 + timedelta(minutes=45), plate="29C12345", direction="exit"),
              crossing(frame_time=T0, plate="29C12346")]
    flag = flag_event(str(uuid.uuid4()), "start", flag_kind="hold_list", plate="29C-123.45")
    assert post_events(client, env.key, events + [flag]).status_code == 200
    put_image(client, env.key, first["event_id"], frame_jpeg, "crop")
    put_image(client, env.key, first["event_id"], plate_jpeg, "plate")
    put_image(client, env.key, flag["event_id"], frame_jpeg, "snapshot")

    page = open_view(browser, live_url, env.operator, lang, "plates")
    page.fill("#plate-q", "29C-I23.45")  # I for 1: a look-alike
    page.click("#plates-form button[type=submit]")
    expect(page.locator("#plate-results button.result")).to_have_count(2)
    expect(page.locator("#plate-results button.result").first).to_have_attribute("data-plate", "29C12345")
    page.locator('button.result[data-plate="29C12345"]').click()
    expect(page.locator("table.history-crossings tbody tr")).to_have_count(2)
    expect(page.locator("table.history-visits tbody tr")).to_have_count(1)
    expect(page.locator("table.history-flags tbody tr")).to_have_count(1)
    thumbs = page.locator("#plate-history img.thumb")
    expect(thumbs).to_have_count(3)  # crop and plate of the first crossing, the flag's snapshot
    sizes = [wait_image(page, thumbs.nth(i)) for i in range(3)]
    height, width = cv2.imdecode(np.frombuffer(plate_jpeg, np.uint8), cv2.IMREAD_COLOR).shape[:2]
    assert sorted(sizes) == sorted([(280, 160), (280, 160), (width, height)])  # crop and snapshot; the plate crop
    zoom = page.locator("#plate-history button.zoomable").first
    zoom.click()
    dialog = page.locator("#plate-history dialog[open]")
    expect(dialog).to_have_count(1)
    wait_image(page, dialog.locator("img.big"))
    dialog.locator("button.close").click()
    expect(page.locator("#plate-history dialog[open]")).to_have_count(0)
    finish(page, "plates", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_hold_list_editor(client: TestClient, env: Env, live_url: str, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    page = open_view(browser, live_url, env.operator, lang, "holds")
    page.fill("#hold-plate", "29C-123.45")
    page.fill("#hold-reason", "kiểm tra niêm phong")
    page.fill("#hold-until", "2099-01-01T08:00")
    page.click("#hold-add")
    row = page.locator("table.holds tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".plate")).to_have_text("29C12345")
    entries = client.get("/api/v1/holds/entries", headers=env.bearer()).json()
    assert [(h["plate"], h["reason"], h["until"][:19], h["added_by"]) for h in entries] == [
        ("29C12345", "kiểm tra niêm phong", "2099-01-01T01:00:00", "olga")]  # 08:00 in the gate's zone
    edge = client.get("/api/v1/holds", headers={"X-API-Key": env.key}).json()
    assert [h["plate"] for h in edge["holds"]] == ["29C12345"]
    page.click("button.remove")
    expect(page.locator("table.holds")).to_have_count(0)
    page.check("#holds-history")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("olga")
    assert client.get("/api/v1/holds", headers={"X-API-Key": env.key}).json()["holds"] == []
    finish(page, "holds", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_user_management(client: TestClient, env: Env, live_url: str, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    name = f"officer-{lang}-{uuid.uuid4().hex[:6]}"
    page = open_view(browser, live_url, env.admin, lang, "users")
    expect(page.locator('table.users td:text-is("olga")')).to_have_count(1)
    page.fill("#new-username", name)
    page.fill("#new-password", "officer-password")
    page.click("#user-create")
    disable = page.locator(f'button.disable[data-user="{name}"]')
    expect(disable).to_be_visible()
    login = client.post("/api/v1/auth/token", data={"username": name, "password": "officer-password"})
    assert login.status_code == 200 and login.json()["role"] == "operator"
    disable.click()
    expect(page.locator(f'button.enable[data-user="{name}"]')).to_be_visible()
    assert client.get("/api/v1/users/me", headers={"Authorization": "Bearer " + login.json()["access_token"]}
                      ).status_code == 401  # disabling ended the session
    page.locator(f'button.enable[data-user="{name}"]').click()
    expect(page.locator(f'button.disable[data-user="{name}"]')).to_be_visible()
    expect(page.locator('table.users button[data-user="admin"]')).to_have_count(0)  # an admin cannot disable themself
    finish(page, "users", lang)
