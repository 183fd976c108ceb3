"""The operator console in a real headless Chromium: every view in every language, the flag review (keyboard,
filters, evidence box, refresh by itself), the gate's day and times from a browser in another zone, a 400 px
phone with nothing off-screen. One browser per module, a new context per test; SQLite only (the console is the
same page on both backends; the API tests cover PostgreSQL). Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
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
    Env,
    crossing,
    flag_event,
    post_events,
    serve_live,
)

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWS = ("queue", "counts", "export")
LANGS = ("en", "vi", "zh")
# a known translated string per view and language (the view's heading) and the tab's text
HEADINGS = {
    ("queue", "en"): "Open flags", ("queue", "vi"): "Cảnh báo chờ xử lý", ("queue", "zh"): "待处理告警",
    ("counts", "en"): "Crossings per hour", ("counts", "vi"): "Lượt xe qua theo giờ", ("counts", "zh"): "每小时通行量",
    ("export", "en"): "Export", ("export", "vi"): "Xuất dữ liệu", ("export", "zh"): "数据导出",
}
SIGN_IN = {"en": "Sign in", "vi": "Đăng nhập", "zh": "登录"}
COUNTED = {"en": "63 crossings", "vi": "63 lượt qua", "zh": "63 次通行"}
KIND = {"en": "empty truck", "vi": "xe tải rỗng", "zh": "空载货车"}
# every text node, aria-label, placeholder, title and alt the user can meet on the page
TEXTS_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (parent && parent.closest("[hidden], script, style")) continue;
    if (node.textContent.trim()) out.push(node.textContent.trim());
  }
  for (const e of document.querySelectorAll("[aria-label], [placeholder], [title], img[alt]")) {
    if (e.closest("[hidden]")) continue;
    for (const a of ["aria-label", "placeholder", "title", "alt"]) if (e.getAttribute(a)) out.push(e.getAttribute(a));
  }
  return out;
}"""
# visible elements whose box leaves the viewport's width
OFF_SCREEN_JS = """() => {
  const width = document.documentElement.clientWidth, out = [];
  for (const e of document.querySelectorAll("body *")) {
    if (e.closest("[hidden], option, script, style")) continue;
    const style = getComputedStyle(e);
    if (style.display === "none" || style.visibility === "hidden") continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < -0.5 || r.right > width + 0.5) out.push(e.tagName + (e.id ? "#" + e.id : "") + "." + e.className + " " + Math.round(r.left) + ".." + Math.round(r.right));
  }
  return {width, scrollWidth: document.documentElement.scrollWidth, out};
}"""

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)"),
    pytest.mark.parametrize("env", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="module")
def live_url(env: Env) -> Iterator[str]:
    """The env's app behind a real uvicorn server on 127.0.0.1."""
    with serve_live(env.app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (each test opens its own context)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def signed_in(browser: Any, env: Env, **context_args: Any) -> Any:
    """A new context whose pages start signed in as the operator (the token put where sign-in puts it)."""
    context = browser.new_context(**{"viewport": {"width": 1366, "height": 768}, **context_args})
    context.add_init_script(
        f"if (!sessionStorage.getItem('gw_token')) sessionStorage.setItem('gw_token', {env.operator!r});")
    return context


def shoot(page: Any, name: str) -> Path:
    """A full-page screenshot into test-artifacts/screenshots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def docs_shot(page: Any, name: str) -> Path:
    """A viewport screenshot reduced to a 128-colour PNG for api/docs (test-artifacts/screenshots/docs/<name>.png)."""
    import io

    from PIL import Image

    folder = SHOTS / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    Image.open(io.BytesIO(page.screenshot())).convert("RGB").quantize(colors=128).save(path, optimize=True)
    assert path.stat().st_size < 150_000, f"{path} is {path.stat().st_size} bytes"
    return path


def seed_flag(client: TestClient, env: Env, jpeg: bytes, *, kind: str = "empty_truck", camera: str = "cam-1",
              plate: str | None = "29C-123.45", started: datetime = T0, box: tuple[int, int, int, int] = (40, 30, 200, 150),
              crop: bytes | None = None) -> str:
    """An open flag with a snapshot (and a crop) of a real frame; returns its id."""
    flag_id = str(uuid.uuid4())
    event = flag_event(flag_id, "start", at=started, started_at=started, flag_kind=kind, camera=camera, plate=plate,
                       box=box, zone="lane-2-stop")
    key = env.key if camera == "cam-1" else env.gate_key
    assert post_events(client, key, [event]).status_code == 200
    for role, data in (("snapshot", jpeg), ("crop", crop)):
        if data is not None:
            put = client.put(f"/api/v1/events/{event['event_id']}/evidence/{role}", content=data,
                             headers={"X-API-Key": key, "Content-Type": "image/jpeg"})
            assert put.status_code == 201, put.text
    return flag_id


def crop_of(jpeg: bytes) -> bytes:
    """The box (40, 30)-(200, 150) of the frame, as the vehicle crop."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    ok, buf = cv2.imencode(".jpg", image[30:150, 40:200])
    assert ok
    return buf.tobytes()


def test_gate_endpoint_names_the_zone(client: TestClient, env: Env) -> None:
    r = client.get("/api/v1/gate", headers=env.bearer())
    assert r.status_code == 200
    assert r.json() == {"timezone": "Asia/Ho_Chi_Minh", "utc_offset": "+07:00"}
    assert client.get("/api/v1/gate").status_code == 401


def test_console_serves_its_modules_and_nothing_else(client: TestClient) -> None:
    for path in ("/ui/js/main.js", "/ui/js/core.js", "/ui/js/views/queue.js"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"] == "text/javascript; charset=utf-8", path
    assert client.get("/ui/app.css").headers["content-type"] == "text/css; charset=utf-8"
    for path in ("/ui/README.md", "/ui/js/../../routers/ui.py", "/ui/%2e%2e/app.py", "/ui/js/.hidden.js",
                 "/ui/js/Main.js", "/ui/nope.js", "/ui/js"):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("lang", LANGS)
def test_every_view_in_each_language(client: TestClient, env: Env, live_url: str, browser: Any,
                                     frame_jpeg: bytes, lang: str) -> None:
    from playwright.sync_api import expect

    seed_flag(client, env, frame_jpeg, crop=crop_of(frame_jpeg))
    day = [crossing(frame_time=T0 + timedelta(hours=h, minutes=7 * n), track_id=100 * h + n)
           for h in range(0, 16) for n in range(1 + (h * 5) % 7)]  # 08:00 to 23:00 at the gate
    assert [post_events(client, env.key, day[i:i + 40]).status_code for i in (0, 40)] == [200, 200]
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.goto(f"{live_url}/ui/")
        page.select_option("#lang", lang)  # chosen on the sign-in page
        expect(page.locator("#signin h2")).to_have_text(SIGN_IN[lang])
        assert page.evaluate("document.documentElement.lang") == {"zh": "zh-Hans"}.get(lang, lang)
        page.fill("#username", "olga")
        page.fill("#password", "operator-password")
        page.click("#signin-button")
        for view in VIEWS:
            page.click(f'nav .tab[data-view="{view}"]')
            section = page.locator(f"#{view}-view")
            expect(section).to_be_visible()
            expect(section.locator("h2")).to_contain_text(HEADINGS[(view, lang)])
            if view == "queue":
                expect(section.locator("li.card .meta")).to_contain_text(KIND[lang])
                expect(section.locator("#flag-detail figure[data-role=snapshot] .box-overlay rect.box")).to_have_count(1)
                page.wait_for_function("() => [...document.querySelectorAll('#queue-view img')].every(i => i.complete && i.naturalWidth > 0)")
            if view == "counts":
                page.fill("#counts-day", "2026-11-24")
                page.click("#counts-form button[type=submit]")
                expect(section.locator("#counts-total")).to_contain_text(COUNTED[lang])
                expect(section.locator("#chart rect.bar")).to_have_count(24)
            leaks = [text for text in page.evaluate(TEXTS_JS) if RAW_KEY.search(text)]
            assert leaks == [], f"untranslated keys in {view} ({lang}): {leaks}"
            shoot(page, f"{view}-{lang}")
            if (view, lang) in (("queue", "vi"), ("counts", "zh")):
                docs_shot(page, f"console-{view}-{lang}")
        page.reload()  # the language is remembered, and the view (in the address's #export)
        expect(page.locator("#lang")).to_have_value(lang)
        expect(page.locator("#export-view h2")).to_have_text(HEADINGS[("export", lang)])
        other = "vi" if lang == "en" else "en"  # switched from the header: the open view is drawn again
        page.select_option("#lang", other)
        expect(page.locator("#export-view h2")).to_have_text(HEADINGS[("export", other)])
        assert page.evaluate("document.documentElement.lang") == other
    finally:
        context.close()


def test_keyboard_confirms_dismisses_and_moves(client: TestClient, env: Env, live_url: str, browser: Any,
                                               frame_jpeg: bytes) -> None:
    from playwright.sync_api import expect

    ids = [seed_flag(client, env, frame_jpeg, plate=plate, started=T0 + timedelta(minutes=i))
           for i, plate in enumerate(["29C-111.11", "29C-222.22", "29C-333.33"])]
    context = signed_in(browser, env)
    try:
        page = context.new_page()
        page.goto(f"{live_url}/ui/")
        cards = page.locator("#queue li.card")
        expect(cards).to_have_count(3)
        selected = page.locator("#queue li.card.selected")
        expect(selected).to_have_attribute("data-flag-id", ids[0])
        page.keyboard.press("j")
        expect(selected).to_have_attribute("data-flag-id", ids[1])
        page.keyboard.press("n")
        expect(selected).to_have_attribute("data-flag-id", ids[2])
        page.keyboard.press("k")
        expect(selected).to_have_attribute("data-flag-id", ids[1])
        expect(page.locator("#flag-detail .plate")).to_have_text("29C22222")
        # typing in the note is not a shortcut: "c" and "d" land in the text
        note = selected.locator(".note")
        note.click()
        note.press_sequentially("checked cd")
        expect(cards).to_have_count(3)
        page.locator("#queue-view h2").click()  # leave the input
        page.keyboard.press("c")
        expect(cards).to_have_count(2)
        expect(selected).to_have_attribute("data-flag-id", ids[2])  # the next one
        page.keyboard.press("d")
        expect(cards).to_have_count(1)
        expect(selected).to_have_attribute("data-flag-id", ids[0])
    finally:
        context.close()
    flags = {i: client.get(f"/api/v1/flags/{i}", headers=env.bearer()).json() for i in ids}
    assert flags[ids[1]]["status"] == "confirmed" and flags[ids[1]]["reviews"][0]["note"] == "checked cd"
    assert flags[ids[2]]["status"] == "dismissed" and flags[ids[2]]["reviewed_by"] == "olga"
    assert flags[ids[0]]["status"] == "open"


def test_filters_narrow_the_queue_and_show_the_reviewed_history(client: TestClient, env: Env, live_url: str,
                                                                 browser: Any, frame_jpeg: bytes) -> None:
    from playwright.sync_api import expect

    now = datetime.now(timezone.utc).replace(microsecond=0)
    empty = seed_flag(client, env, frame_jpeg, plate="29C-111.11")
    held = seed_flag(client, env, frame_jpeg, kind="held", plate="29C-222.22")
    other_camera = seed_flag(client, env, frame_jpeg, camera="cam-2", plate="29C-333.33")
    recent = seed_flag(client, env, frame_jpeg, plate="29C-444.44", started=now - timedelta(minutes=5))
    reviewed = seed_flag(client, env, frame_jpeg, plate="29C-555.55")
    r = client.post(f"/api/v1/flags/{reviewed}/review", headers=env.bearer(),
                    json={"action": "dismiss", "note": "driver showed the papers"})
    assert r.status_code == 200
    context = signed_in(browser, env)
    try:
        page = context.new_page()
        page.goto(f"{live_url}/ui/")
        cards = page.locator("#queue li.card")
        expect(cards).to_have_count(4)
        expect(page.locator("#queue-count")).to_have_text("4")

        def expect_shown(ids: set[str]) -> None:
            """Wait until the queue shows exactly these flags (each filter change reloads it)."""
            page.wait_for_function("ids => { const got = [...document.querySelectorAll('#queue li.card')]"
                                   ".map(c => c.dataset.flagId).sort(); return JSON.stringify(got) === JSON.stringify(ids); }",
                                   arg=sorted(ids))

        page.select_option("#queue-flag_kind", "held")
        expect_shown({held})
        page.select_option("#queue-flag_kind", "")
        expect_shown({empty, held, other_camera, recent})
        page.fill("#queue-camera", "cam-2")
        page.press("#queue-camera", "Enter")
        expect_shown({other_camera})
        page.fill("#queue-camera", "")  # applied with the next select
        page.select_option("#queue-age", "hour")
        expect_shown({recent})
        page.select_option("#queue-age", "older_day")
        expect_shown({empty, held, other_camera})
        page.select_option("#queue-age", "any")
        page.select_option("#queue-status", "dismissed")
        expect_shown({reviewed})
        card = cards.first
        expect(card.locator(".reviewed")).to_contain_text("dismissed by olga")
        expect(card.locator(".reviewed")).to_contain_text("driver showed the papers")
        expect(card.locator("button.confirm")).to_have_count(0)
        expect(page.locator("#queue-view h2")).to_contain_text("Reviewed flags")
        history = page.locator("#flag-detail ol.history li")
        expect(history).to_have_count(1)
        expect(history).to_contain_text("dismissed by olga")
        expect(history.locator("q")).to_have_text("driver showed the papers")
    finally:
        context.close()


def test_evidence_viewer_draws_the_box_and_zooms(client: TestClient, env: Env, live_url: str, browser: Any,
                                                 frame_jpeg: bytes) -> None:
    from playwright.sync_api import expect

    seed_flag(client, env, frame_jpeg, box=(40, 30, 200, 150), crop=crop_of(frame_jpeg))
    context = signed_in(browser, env)
    try:
        page = context.new_page()
        page.goto(f"{live_url}/ui/")
        snapshot = page.locator("#flag-detail figure[data-role=snapshot]")
        rect = snapshot.locator(".box-overlay rect.box")
        expect(rect).to_have_count(1)
        assert [rect.get_attribute(a) for a in ("x", "y", "width", "height")] == ["40", "30", "160", "120"]
        assert snapshot.locator(".box-overlay").get_attribute("viewBox") == "0 0 280 160"  # the snapshot's pixels
        img = snapshot.locator("img")
        expect(page.locator("#flag-detail figure[data-role=crop] img")).to_have_js_property("naturalWidth", 160)
        small = img.bounding_box()
        box = rect.bounding_box()
        assert small and box
        assert box["width"] / small["width"] == pytest.approx(160 / 280, abs=0.02)
        assert (box["x"] - small["x"]) / small["width"] == pytest.approx(40 / 280, abs=0.02)
        for field in ("Kind", "Zone", "Class", "Plate", "Duration"):
            expect(page.locator("#flag-detail dl dt", has_text=field)).to_have_count(1)
        expect(page.locator("#flag-detail dl")).to_contain_text("lane-2-stop")
        expect(page.locator("#flag-detail dl")).to_contain_text("truck")

        snapshot.locator("button.zoom").click()
        expect(snapshot).to_have_class(re.compile(r"\bzoomed\b"))
        expect(snapshot.locator("button.zoom")).to_have_attribute("aria-pressed", "true")
        large = img.bounding_box()
        assert large and large["width"] > 2 * small["width"]
        box = rect.bounding_box()
        assert box and box["width"] / large["width"] == pytest.approx(160 / 280, abs=0.02)
        shoot(page, "queue-zoomed-en")
        page.keyboard.press("Escape")
        expect(snapshot).not_to_have_class(re.compile(r"\bzoomed\b"))
    finally:
        context.close()


def test_queue_refreshes_by_itself_and_stops_when_left(client: TestClient, env: Env, live_url: str, browser: Any,
                                                       frame_jpeg: bytes) -> None:
    from playwright.sync_api import expect

    seed_flag(client, env, frame_jpeg, plate="29C-111.11")
    context = signed_in(browser, env)
    try:
        page = context.new_page()
        page.clock.install()  # the page's timers run on a clock the test moves
        page.goto(f"{live_url}/ui/")
        cards = page.locator("#queue li.card")
        expect(cards).to_have_count(1)
        note = cards.first.locator(".note")
        note.click()
        note.press_sequentially("trailer seal")
        late = seed_flag(client, env, frame_jpeg, plate="29C-222.22", started=T0 + timedelta(minutes=1))
        page.clock.run_for(11_000)  # one polling period later, no reload
        expect(cards).to_have_count(2)
        note.press_sequentially(" intact")  # the note being typed survived the redraw, focus and all
        expect(note).to_have_value("trailer seal intact")
        expect(page.locator(f'#queue li.card[data-flag-id="{late}"] .plate')).to_have_text("29C22222")

        polls: list[str] = []
        page.on("request", lambda request: polls.append(request.url) if "/api/v1/flags?" in request.url else None)
        page.click('nav .tab[data-view="counts"]')
        expect(page.locator("#chart rect.bar")).to_have_count(24)
        page.clock.run_for(60_000)
        page.click('nav .tab[data-view="export"]')  # a round trip to the page: every request so far has been seen
        expect(page.locator("#export-view h2")).to_be_visible()
        assert polls == []  # hidden: no polling
    finally:
        context.close()


def test_an_ended_session_returns_to_sign_in(client: TestClient, env: Env, live_url: str, browser: Any) -> None:
    from playwright.sync_api import expect

    name = f"ended-{uuid.uuid4().hex[:8]}"  # its own user: logout ends every token of the user
    made = client.post("/api/v1/users", headers=env.bearer("admin"),
                       json={"username": name, "password": "ended-password", "role": "operator"})
    assert made.status_code == 201, made.text
    token = client.post("/api/v1/auth/token", data={"username": name, "password": "ended-password"}).json()["access_token"]
    context = browser.new_context()
    context.add_init_script(f"if (!sessionStorage.getItem('gw_token')) sessionStorage.setItem('gw_token', {token!r});")
    try:
        page = context.new_page()
        page.clock.install()
        page.goto(f"{live_url}/ui/")
        expect(page.locator("#queue-view h2")).to_contain_text("Open flags")
        expect(page.locator("#who")).to_have_text(f"{name} (operator)")
        assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
        page.clock.run_for(11_000)  # the next refresh meets the 401
        expect(page.locator("#signin-view")).to_be_visible()
        expect(page.locator("#signin-error")).to_have_text("Your session ended; sign in again.")
        expect(page.locator("#queue-view")).to_be_hidden()
        assert page.evaluate("sessionStorage.getItem('gw_token')") is None
    finally:
        context.close()


def test_gate_day_and_times_from_a_browser_in_new_york_near_midnight(client: TestClient, env: Env, live_url: str,
                                                                     browser: Any, frame_jpeg: bytes) -> None:
    from playwright.sync_api import expect

    seed_flag(client, env, frame_jpeg)  # started at T0: 01:00 UTC = 08:00 at the gate, 20:00 the day before in New York
    context = signed_in(browser, env, timezone_id="America/New_York")
    try:
        page = context.new_page()
        # 23:30 on 24 Nov in New York = 04:30 UTC on the 25th = 11:30 on the 25th at the gate
        page.clock.set_fixed_time(datetime(2026, 11, 25, 4, 30, tzinfo=timezone.utc))
        page.goto(f"{live_url}/ui/")
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
        assert page.evaluate("new Date().getDate()") == 24  # the browser's own day
        meta = page.locator("#queue li.card .meta")
        expect(meta).to_contain_text("24/11/2026, 08:00:00 GMT+7")  # the gate's time, zone named
        expect(page.locator("#queue-view .zone")).to_have_text("Times in Asia/Ho_Chi_Minh (UTC+07:00)")
        expect(page.locator("#gate-clock")).to_have_text("Gate time 11:30 GMT+7")

        with page.expect_request(lambda r: "/api/v1/flags?" in r.url and "max_age_s" in r.url) as info:
            page.select_option("#queue-age", "today")
        assert "max_age_s=41400" in info.value.url  # 11 h 30 since the gate's midnight

        page.click('nav .tab[data-view="counts"]')
        expect(page.locator("#counts-day")).to_have_value("2026-11-25")  # was the browser's 2026-11-24
        page.click('nav .tab[data-view="export"]')
        expect(page.locator("#export-from")).to_have_value("2026-11-25")
        expect(page.locator("#export-to")).to_have_value("2026-11-25")
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), [(400, 800), (1366, 768)])
def test_nothing_off_screen(client: TestClient, env: Env, live_url: str, browser: Any, frame_jpeg: bytes,
                            width: int, height: int) -> None:
    from playwright.sync_api import expect

    seed_flag(client, env, frame_jpeg, crop=crop_of(frame_jpeg), plate="29C-123.45")
    assert post_events(client, env.key, [crossing(frame_time=T0 + timedelta(hours=3))]).status_code == 200
    context = signed_in(browser, env, viewport={"width": width, "height": height})
    context.add_init_script("localStorage.setItem('gw_lang', 'vi');")  # the longest texts
    try:
        page = context.new_page()
        page.goto(f"{live_url}/ui/")
        for view in VIEWS:
            page.click(f'nav .tab[data-view="{view}"]')
            expect(page.locator(f"#{view}-view h2")).to_be_visible()
            if view == "queue":
                expect(page.locator("#flag-detail .box-overlay rect.box")).to_have_count(1)
            if view == "counts":
                expect(page.locator("#chart rect.bar")).to_have_count(24)
            found = page.evaluate(OFF_SCREEN_JS)
            assert found["out"] == [], f"{view} at {width} px: {found['out']}"
            assert found["scrollWidth"] <= found["width"], f"{view} at {width} px scrolls sideways"
            unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, button')]
                .filter(e => !e.closest('[hidden]') && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                             && !e.textContent.trim()).map(e => e.outerHTML)""")
            assert unlabelled == [], f"controls without a label in {view}: {unlabelled}"
            if width == 400:
                shoot(page, f"{view}-vi-400px")
                if view == "queue":
                    docs_shot(page, "console-queue-vi-400px")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["vi", "zh"])
def test_sign_in_page_fits_a_phone_and_is_labelled(live_url: str, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 400, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{live_url}/ui/")
        page.select_option("#lang", lang)
        expect(page.locator("#signin h2")).to_have_text(SIGN_IN[lang])
        expect(page.get_by_label({"vi": "Mật khẩu", "zh": "密码"}[lang])).to_have_attribute("type", "password")
        found = page.evaluate(OFF_SCREEN_JS)
        assert found["out"] == [] and found["scrollWidth"] <= found["width"], found
        leaks = [text for text in page.evaluate(TEXTS_JS) if RAW_KEY.search(text)]
        assert leaks == []
        shoot(page, f"signin-{lang}-400px")
    finally:
        context.close()
