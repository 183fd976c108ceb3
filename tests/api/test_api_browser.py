"""The review page in a real headless Chromium: sign in, see the flag and its image, confirm it; hour labels in
the gate's zone from a browser in another zone; a CSV export downloaded with the token."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import CHROMIUM, CHROMIUM_ARGS, T0, Env, crossing, flag_event, post_events, serve_live

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)")


@pytest.fixture
def live_url(env: Env) -> Iterator[str]:
    """The env's app behind a real uvicorn server on 127.0.0.1."""
    with serve_live(env.app) as url:
        yield url


def test_operator_confirms_a_flag_in_chromium(client: TestClient, env: Env, live_url: str, frame_jpeg: bytes) -> None:
    from playwright.sync_api import expect, sync_playwright

    flag_id = str(uuid.uuid4())
    event = flag_event(flag_id, "start", flag_kind="hold_list", plate="29C-123.45")
    assert post_events(client, env.key, [event]).status_code == 200
    put = client.put(f"/api/v1/events/{event['event_id']}/evidence/snapshot", content=frame_jpeg,
                     headers={"X-API-Key": env.key, "Content-Type": "image/jpeg"})
    assert put.status_code == 201

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_url}/ui/")
            page.fill("#username", "olga")
            page.fill("#password", "wrong-password")
            page.click("#signin-button")
            expect(page.locator("#signin-error")).to_have_text("wrong username or password")
            page.fill("#password", "operator-password")
            page.click("#signin-button")
            card = page.locator(f'li.card[data-flag-id="{flag_id}"]')
            expect(card).to_be_visible()
            expect(card.locator(".plate")).to_have_text("29C12345")
            expect(card.locator(".meta")).to_contain_text("camera cam-1")
            expect(page.locator("#queue-count")).to_have_text("1")
            img = card.locator("img.snapshot")
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
            assert img.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [280, 160]
            card.locator(".note").fill("plate matches the hold list")
            card.locator("button.confirm").click()
            expect(card).to_have_count(0)
            expect(page.locator("#queue-empty")).to_be_visible()
            expect(page.locator("#queue-count")).to_have_text("0")

            page.click('nav .tab[data-view="counts"]')
            expect(page.locator("#chart svg rect.bar")).to_have_count(24)
        finally:
            browser.close()

    flag = client.get(f"/api/v1/flags/{flag_id}", headers=env.bearer()).json()
    assert flag["status"] == "confirmed" and flag["reviewed_by"] == "olga"
    assert flag["reviews"][0]["note"] == "plate matches the hold list"


def test_sign_out_ends_the_token_on_the_server(client: TestClient, env: Env, live_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    name = f"signout-{uuid.uuid4().hex[:8]}"  # its own user: sign-out ends every token of the user
    made = client.post("/api/v1/users", headers=env.bearer("admin"),
                       json={"username": name, "password": "signout-password", "role": "operator"})
    assert made.status_code == 201, made.text
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_url}/ui/")
            page.fill("#username", name)
            page.fill("#password", "signout-password")
            page.click("#signin-button")
            expect(page.locator("#queue-view")).to_be_visible()
            token = page.evaluate("sessionStorage.getItem('gw_token')")
            bearer = {"Authorization": f"Bearer {token}"}
            assert client.get("/api/v1/users/me", headers=bearer).status_code == 200
            page.click("#signout")
            expect(page.locator("#signin-view")).to_be_visible()
            page.wait_for_function("sessionStorage.getItem('gw_token') === null")
        finally:
            browser.close()
    # before: the page only forgot the token, which went on working for 12 h
    assert client.get("/api/v1/users/me", headers=bearer).status_code == 401


def test_hour_labels_follow_the_gate_zone_and_csv_downloads_in_a_utc_browser(
    client: TestClient, env: Env, live_url: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    late = T0 + timedelta(hours=14)  # 15:00 UTC = 22:00 in Asia/Ho_Chi_Minh, the gate's zone
    assert post_events(client, env.key, [crossing(frame_time=late, plate="29C-123.45")]).status_code == 200
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(timezone_id="UTC", accept_downloads=True)
            page = context.new_page()
            assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "UTC"
            page.goto(f"{live_url}/ui/")
            page.fill("#username", "olga")
            page.fill("#password", "operator-password")
            page.click("#signin-button")
            expect(page.locator("#queue-view")).to_be_visible()

            page.click('nav .tab[data-view="counts"]')
            page.fill("#counts-day", "2026-11-24")
            page.click("#counts-form button[type=submit]")
            bar = page.locator('#chart rect.bar[data-count="1"]')
            expect(bar).to_have_attribute("data-label", "22")  # was "15": the browser's zone
            expect(page.locator("#chart text.hour").nth(11)).to_have_text("22")  # every other hour is labelled
            expect(page.locator("#counts-zone")).to_have_text("Hours in Asia/Ho_Chi_Minh (UTC+07:00)")

            page.click('nav .tab[data-view="export"]')
            page.fill("#export-from", "2026-11-24")
            page.fill("#export-to", "2026-11-24")
            with page.expect_download() as info:
                page.click("#export-button")
            download = info.value
            assert download.suggested_filename == "crossings_all-gates_20261124T0000_20261125T0000.csv"
            text = Path(download.path()).read_text()
            expect(page.locator("#export-done")).to_contain_text("Saved crossings_all-gates_")
        finally:
            browser.close()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [(r["plate"], r["time"], r["timezone"]) for r in rows] == [
        ("29C12345", "2026-11-24T22:00:00+07:00", "Asia/Ho_Chi_Minh")]
