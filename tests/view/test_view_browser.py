"""The page in a real browser (Debian's Chromium driven by Playwright), on a real broker:
sign in, an alert published to Kafka appears within a second, the operator acknowledges it
with the button and resolves it from the keyboard, and a department's session sees the change.
Screenshots are kept under test-artifacts/view/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from hub.alerts.model import Severity
from tests.view.city import seed_city
from tests.view.support import (
    TOKENS,
    CommandApplier,
    Hub,
    RunningView,
    make_alert,
    serve_view,
    wait_for,
)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "view"
WALL = {"width": 1920, "height": 1080}


@pytest.fixture(scope="module")
def view(hub: Hub) -> Iterator[RunningView]:
    seed_city(hub)
    with CommandApplier(hub), serve_view(hub) as v:
        with v.client("operator") as c:
            wait_for(lambda: c.get("/api/alerts").json()["total"] >= 7)
            wait_for(lambda: len(c.get("/api/map").json()["background"]) > 100)
        yield v


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


LIVE = {"en-US": "Live", "zh-CN": "实时"}


def signed_in(
    browser: Browser, view: RunningView, who: str, locale: str = "en-US"
) -> tuple[Any, Page]:
    context = browser.new_context(viewport=WALL, locale=locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(view.url + "/")
    expect(page.locator("#signin")).to_be_visible()
    page.fill("#signin-token", TOKENS[who][0])
    page.press("#signin-token", "Enter")
    expect(page.locator("#main")).to_be_visible()
    expect(page.locator("#conn-text")).to_have_text(LIVE[locale], timeout=10_000)
    assert not errors, errors
    return context, page


def row(page: Page, alert_id: str) -> Any:
    return page.locator(f'#board li[data-alert-id="{alert_id}"]')


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_sign_in_refuses_a_wrong_token(browser: Browser, view: RunningView) -> None:
    context = browser.new_context(viewport=WALL, locale="en-US")
    page = context.new_page()
    page.goto(view.url + "/")
    page.fill("#signin-token", "not-a-token")
    page.press("#signin-token", "Enter")
    expect(page.locator("#signin-error")).to_have_text("That token is not valid.")
    expect(page.locator("#main")).to_be_hidden()
    shot(page, "sign-in-refused")
    context.close()


def test_live_alert_acknowledged_and_resolved_seen_by_a_second_session(
    browser: Browser, view: RunningView, hub: Hub
) -> None:
    ops_ctx, ops = signed_in(browser, view, "operator")
    dept_ctx, dept = signed_in(browser, view, "safety")
    expect(ops.locator("#map .alert-marker, #map .alert-cluster").first).to_be_visible()
    expect(ops.locator("#red-list li").first).to_contain_text("%")
    shot(ops, "board-operator")

    # a new alert, straight onto the alerts topic as the correlator would publish it
    alert = make_alert(
        "live-9d2e",
        departments=["safety"],
        severity=Severity.EXTREME,
        headline="Hydrogen leak at station H2-01 (11800 ppm)",
        location=(38.95, 121.58),
    )
    started = time.monotonic()
    hub.publish_alert(alert)
    expect(row(ops, alert.alert_id)).to_be_visible(timeout=5_000)
    appeared = time.monotonic() - started
    expect(row(dept, alert.alert_id)).to_be_visible(timeout=5_000)
    assert appeared < 1.0, f"the alert took {appeared:.2f} s to appear"

    # acknowledge with the button
    row(ops, alert.alert_id).click()
    expect(ops.locator("#detail h2").first).to_contain_text("H2-01")
    ops.click("#btn-ack")
    expect(row(ops, alert.alert_id)).to_have_attribute("data-status", "acknowledged")
    # the department's browser sees it without reloading
    expect(row(dept, alert.alert_id)).to_have_attribute("data-status", "acknowledged")
    row(dept, alert.alert_id).click()
    expect(dept.locator("#detail")).to_contain_text("Olga Operator")
    shot(ops, "acknowledged-operator")
    shot(dept, "acknowledged-department")

    # resolve from the keyboard: r, a note, Enter
    row(ops, alert.alert_id).click()
    ops.keyboard.press("r")
    expect(ops.locator("#note-dialog")).to_be_visible()
    ops.fill("#note-text", "valve closed, readings back to normal")
    shot(ops, "resolve-dialog")
    ops.press("#note-text", "Enter")
    expect(row(ops, alert.alert_id)).to_have_count(0)  # the board shows open alerts
    expect(row(dept, alert.alert_id)).to_have_count(0)
    dept.select_option("#f-status", "resolved")
    expect(row(dept, alert.alert_id)).to_have_attribute("data-status", "resolved")
    ops_ctx.close()
    dept_ctx.close()


def test_department_page_shows_only_its_alerts(browser: Browser, view: RunningView) -> None:
    context, page = signed_in(browser, view, "security")
    expect(row(page, "e9b2770c13d4")).to_be_visible()  # incident burst: security's
    expect(row(page, "c41d08aa5e21")).to_be_visible()  # hazard near crowd: shared
    expect(row(page, "a7f3c2e19b40")).to_have_count(0)  # hydrogen leak: safety's only
    shot(page, "board-security")
    context.close()


def test_keyboard_filters_and_connection_indicator(browser: Browser, view: RunningView) -> None:
    context, page = signed_in(browser, view, "viewer")
    first = page.locator('#board li[aria-selected="true"]')
    expect(first).to_have_count(1)
    before = first.get_attribute("data-alert-id")
    page.keyboard.press("j")
    after = page.locator('#board li[aria-selected="true"]').get_attribute("data-alert-id")
    assert after != before
    page.keyboard.press("k")
    expect(page.locator('#board li[aria-selected="true"]')).to_have_attribute(
        "data-alert-id", str(before)
    )
    # a viewer may not act: the buttons are disabled
    expect(page.locator("#btn-ack")).to_be_disabled()
    # / focuses the search; typing filters the board
    page.keyboard.press("/")
    page.keyboard.type("Harbour ferry")
    expect(page.locator("#board li")).to_have_count(1)
    page.keyboard.press("Escape")
    page.select_option("#f-district", "210202")
    for li in page.locator("#board li").all():
        assert li.locator(".district").get_attribute("data-code") == "210202"
        assert li.locator(".district").inner_text() == "Zhongshan"
    page.select_option("#f-district", "")
    expect(page.locator("#conn-dot")).to_have_attribute("data-state", "green")
    context.close()


UNSEEN_NOTE = {
    "en-US": "resolved by the hub — not yet acknowledged",
    "zh-CN": "系统已自动解除 — 尚未确认",
}
ALARM_WORD = {"en-US": "not acknowledged", "zh-CN": "尚未确认"}
JUST_NOW = {"en-US": r"just now|\d+ s ago", "zh-CN": r"刚刚|\d+ 秒前"}


def alarm_count(page: Page) -> int:
    return int(page.locator("#alarm").get_attribute("data-count") or 0)


def sound_playing(page: Page) -> bool:
    return bool(page.evaluate("() => !document.getElementById('alarm-sound').paused"))


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_an_extreme_alert_alarms_until_acknowledged_even_after_the_hub_resolved_it(
    browser: Browser, view: RunningView, hub: Hub, locale: str
) -> None:
    context, page = signed_in(browser, view, "operator", locale)
    before = alarm_count(page)
    # a planted hydrogen leak whose sensor clock runs two hours ahead
    leak = make_alert(
        f"leak-{locale}",
        departments=["safety"],
        severity=Severity.EXTREME,
        headline="Hydrogen leak at H2 station 3: 3 readings up to 12,000 ppm in 40 s",
        ago=timedelta(hours=-2),
    )
    hub.publish_alert(leak)
    li = row(page, leak.alert_id)
    expect(li).to_be_visible(timeout=5_000)
    expect(li).to_have_attribute("data-unseen", "true")
    expect(li.locator(".age")).to_have_text(re.compile(JUST_NOW[locale]))
    expect(page.locator("#alarm")).to_be_visible()
    expect(page.locator("#alarm")).to_have_attribute("data-count", str(before + 1))
    expect(page.locator("#alarm-text")).to_contain_text(ALARM_WORD[locale])
    wait_for(lambda: sound_playing(page))
    expect(page.locator("#alarm")).to_have_attribute("data-sound", "playing")
    shot(page, f"alarm-{locale}")

    # the condition clears seconds later: the hub resolves it, the board keeps it, marked so
    gone = leak.model_copy(update={"status": "resolved"})
    hub.publish_alert(gone, kind="resolved")
    expect(li).to_have_attribute("data-status", "resolved")
    expect(li).to_have_attribute("data-unseen", "true")
    expect(li.locator(".unseen-note")).to_have_text(UNSEEN_NOTE[locale])
    expect(page.locator("#alarm")).to_have_attribute("data-count", str(before + 1))
    assert sound_playing(page)
    shot(page, f"alarm-resolved-unseen-{locale}")

    # muting silences the sound, not the banner; m again turns it back on
    page.locator("#board").focus()
    page.keyboard.press("m")
    expect(page.locator("#alarm")).to_have_attribute("data-sound", "muted")
    assert not sound_playing(page)
    expect(page.locator("#alarm")).to_be_visible()
    page.keyboard.press("m")
    wait_for(lambda: sound_playing(page))

    # acknowledged: it leaves the open board and the alarm count drops
    li.click()
    page.click("#btn-ack")
    expect(li).to_have_count(0)
    expect(page.locator("#alarm")).to_have_attribute("data-count", str(before))
    if before == 0:
        expect(page.locator("#alarm")).to_be_hidden()
        assert not sound_playing(page)
    page.select_option("#f-status", "resolved")
    expect(li).to_have_attribute("data-unseen", "false")
    context.close()


def test_language_follows_the_browser_and_switches(browser: Browser, view: RunningView) -> None:
    context, page = signed_in(browser, view, "viewer", "zh-CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".counter.sev-Extreme")).to_contain_text("特别严重")
    expect(page.locator(".board-head")).to_contain_text("负责")
    expect(page.locator("#shortcuts")).to_contain_text("切换语言")
    page.select_option("#lang", "en")
    expect(page.locator("#conn-text")).to_have_text("Live")
    expect(page.locator(".board-head")).to_contain_text("Owner")
    expect(page.locator("#shortcuts")).to_contain_text("switch language")
    page.reload()  # the choice is remembered
    expect(page.locator("#conn-text")).to_have_text("Live", timeout=10_000)
    page.locator("#board").focus()
    page.keyboard.press("Shift+L")
    expect(page.locator("#conn-text")).to_have_text("实时")
    context.close()


def test_sort_time_range_comment_and_assign(browser: Browser, view: RunningView, hub: Hub) -> None:
    context, page = signed_in(browser, view, "operator")
    page.select_option("#f-sort", "district")
    # by administrative code (the city's own order), unknown districts last
    codes = [d.get_attribute("data-code") or "~" for d in page.locator("#board .district").all()]
    assert codes == sorted(codes), codes
    page.select_option("#f-sort", "age")
    fresh = make_alert("fresh-1", departments=["water"], severity=Severity.MINOR)
    hub.publish_alert(fresh)
    expect(page.locator("#board li").first).to_have_attribute("data-alert-id", "fresh-1")
    # every seeded alert reached the view within the last hour: a range of one hour keeps all
    total = page.locator("#board li").count()
    page.select_option("#f-range", "3600")
    expect(page.locator("#board li")).to_have_count(total)

    row(page, "fresh-1").click()
    page.keyboard.press("c")
    expect(page.locator("#note-dialog")).to_be_visible()
    page.fill("#note-text", "crew on the way")
    page.press("#note-text", "Enter")
    expect(page.locator("#detail .timeline")).to_contain_text("crew on the way")
    page.keyboard.press("g")
    expect(page.locator("#assign-dialog")).to_be_visible()
    page.fill("#assign-dept", "gas")
    page.press("#assign-dept", "Enter")
    expect(row(page, "fresh-1").locator(".owner")).to_have_text("gas")
    shot(page, "comment-assign")
    context.close()


DISTRICT_NAME = {"en-US": "Jinzhou", "zh-CN": "金州区"}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_map_shows_district_boundaries_and_the_alert_s_marker(
    browser: Browser, view: RunningView, hub: Hub, locale: str
) -> None:
    context, page = signed_in(browser, view, "operator", locale)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    # all ten of Dalian's districts and counties, named in the page's language
    expect(page.locator("#map path.district")).to_have_count(10)
    expect(page.locator("#map-legend")).to_be_visible()
    expect(page.locator(".leaflet-control-scale-line")).to_contain_text("m")

    leak = make_alert(
        f"map-{locale}",
        departments=["safety"],
        severity=Severity.SEVERE,
        headline="Hydrogen leak at Jinzhou H2 station 3",
        district="210213",
        location=(39.10, 121.72) if locale == "en-US" else (39.10, 121.76),
    )
    hub.publish_alert(leak)
    row(page, leak.alert_id).click()
    marker = page.locator(f'#map .alert-marker[data-alert-id="{leak.alert_id}"]')
    expect(marker).to_be_visible()
    expect(marker).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator("#map .selected-ring")).to_have_count(1)
    # the map brought the selected alert into view, inside its district's named boundary
    expect(page.locator("#map path.d-210213")).to_be_visible()
    expect(page.locator(".district-label", has_text=DISTRICT_NAME[locale])).to_be_visible()
    expect(row(page, leak.alert_id).locator(".district")).to_have_text(DISTRICT_NAME[locale])
    shot(page, f"map-{locale}")
    # nothing came from outside the view
    assert all(u.startswith(view.url) for u in requests), [u for u in requests if view.url not in u]
    context.close()


RANK_MEANING = {"en-US": "a department at 100 % is never on it", "zh-CN": "不会上黑榜"}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_red_and_black_lists_against_the_target(
    browser: Browser, view: RunningView, locale: str
) -> None:
    context, page = signed_in(browser, view, "viewer", locale)
    expect(page.locator("#red-list li").first).to_have_attribute("data-department", re.compile("."))
    for li in page.locator("#red-list li").all():
        assert float(li.get_attribute("data-compliance") or 0) >= 0.9
    for li in page.locator("#black-list li").all():
        assert float(li.get_attribute("data-compliance") or 1) < 0.9  # never a 100 % one
    expect(page.locator("#black-list li").first).to_contain_text("%")
    expect(page.locator("#red-list .trend").first).to_be_visible()
    expect(page.locator("#rank-meaning")).to_contain_text(RANK_MEANING[locale])
    expect(page.locator("#rank-window")).to_contain_text("90")
    shot(page, f"ranking-{locale}")
    context.close()
