"""The page in a real browser (Debian's Chromium driven by Playwright), on a real broker:
sign in, an alert published to Kafka appears within a second, the operator acknowledges it
with the button and resolves it from the keyboard, and a department's session sees the change.
Screenshots are kept under test-artifacts/view/."""

from __future__ import annotations

import time
from collections.abc import Iterator
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


def signed_in(browser: Browser, view: RunningView, who: str) -> tuple[Any, Page]:
    context = browser.new_context(viewport=WALL)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(view.url + "/")
    expect(page.locator("#signin")).to_be_visible()
    page.fill("#signin-token", TOKENS[who][0])
    page.press("#signin-token", "Enter")
    expect(page.locator("#main")).to_be_visible()
    expect(page.locator("#conn-text")).to_have_text("Live", timeout=10_000)
    assert not errors, errors
    return context, page


def row(page: Page, alert_id: str) -> Any:
    return page.locator(f'#board li[data-alert-id="{alert_id}"]')


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_sign_in_refuses_a_wrong_token(browser: Browser, view: RunningView) -> None:
    context = browser.new_context(viewport=WALL)
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
    expect(ops.locator("#map polygon.alert-cell").first).to_be_visible()
    expect(ops.locator("#red-list li").first).to_contain_text("%")
    shot(ops, "board-operator")

    # a new alert, straight onto the alerts topic as the correlator would publish it
    alert = make_alert(
        "live-9d2e",
        departments=["safety"],
        severity=Severity.EXTREME,
        headline="Hydrogen leak at station H2-01 (11800 ppm)",
        location=(31.2155, 121.4370),
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
    page.select_option("#f-district", "310101")
    for li in page.locator("#board li").all():
        assert "310101" in li.inner_text()
    page.select_option("#f-district", "")
    expect(page.locator("#conn-dot")).to_have_attribute("data-state", "green")
    context.close()
