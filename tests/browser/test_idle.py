"""A citizen who walks away: a warning with Continue, then everything about them is wiped."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import Visit
from tests.helpers import ZHAO_MIN

from .steps import identify, shoot, start, url_is

pytestmark = pytest.mark.browser

IDLE = dict(IDLE_SECONDS=2, IDLE_WARNING_SECONDS=3, IDLE_GRACE_SECONDS=2)


def live_visits(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Visit))


def test_the_idle_warning_keeps_the_session_on_continue_and_wipes_it_when_ignored(live_server, page):
    kiosk = live_server(**IDLE)
    start(page, kiosk)
    identify(page, kiosk, ZHAO_MIN)
    dialog = page.locator("#idle-dialog")
    expect(dialog).to_be_hidden()

    # nobody touches the screen: the warning, with its countdown, in front of everything
    expect(dialog).to_be_visible(timeout=5_000)
    expect(dialog).to_have_attribute("role", "alertdialog")
    expect(page.locator("#idle-continue")).to_be_focused()
    page.locator("#idle-continue").click()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(url_is(kiosk, "/person"))
    assert live_visits(kiosk.app) == 1
    page.reload()  # the server still knows who this is
    expect(page.locator("#masked-name")).to_have_text("赵*")

    # ignored this time: back to the attract screen, and the visit is gone on the server
    session_cookies = page.context.cookies()
    expect(dialog).to_be_visible(timeout=5_000)
    shoot(page, "idle-warning")  # the page may move on while this runs: the wait below allows for it
    expect(page).to_have_url(url_is(kiosk, "/"), timeout=8_000)
    expect(page.locator("#service-pay")).to_be_visible()
    expect(page.locator('.notice[role="status"]')).to_be_visible()  # "the previous session has ended"
    expect(page.locator("#masked-name")).to_have_count(0)
    assert live_visits(kiosk.app) == 0

    # even the cookie from before the wipe does not bring the citizen back
    page.context.add_cookies(session_cookies)
    page.goto(kiosk("/person"))
    expect(page).to_have_url(url_is(kiosk, "/"))
    expect(page.locator("#service-pay")).to_be_visible()
    expect(page.locator("#masked-name")).to_have_count(0)
    assert "赵*" not in page.content()


def test_the_idle_timer_runs_on_the_identify_screen_too(live_server, page):
    kiosk = live_server(**IDLE)
    start(page, kiosk)
    page.locator('[data-key="1"]').click()
    expect(page.locator("#idle-dialog")).to_be_visible(timeout=5_000)
    expect(page).to_have_url(url_is(kiosk, "/"), timeout=8_000)
    page.goto(kiosk("/identify"))
    expect(page).to_have_url(url_is(kiosk, "/"))
    expect(page.locator("#id_number")).to_have_count(0)


def test_a_slow_but_active_citizen_is_not_logged_out_while_typing(live_server, page):
    """Keypad taps happen in the browser only; the server must still hear that someone is there."""
    kiosk = live_server(IDLE_SECONDS=3, IDLE_WARNING_SECONDS=2, IDLE_GRACE_SECONDS=3)  # server limit: 8 s
    start(page, kiosk)
    first, rest = ZHAO_MIN[:10], ZHAO_MIN[10:]
    for key in first:  # ten keys, one a second: longer than the server's limit, never idle
        page.locator(f'[data-key="{key}"]').click()
        page.wait_for_timeout(1_000)
    expect(page.locator("#idle-dialog")).to_be_hidden()
    page.locator("#id_number").press_sequentially(rest, delay=120)  # a person's pace: a burst would be a card read, replacing the field
    page.locator("#identify-next").click()
    expect(page).to_have_url(url_is(kiosk, "/person"))
    expect(page.locator("#masked-name")).to_have_text("赵*")


def test_the_idle_warning_hides_the_page_keeps_focus_and_any_tap_answers_it(live_server, page):
    """Audit finding 4: the typed ID number stayed readable behind a 70 % dimming, focus could
    leave the dialog, and only Continue answered it. Now the page behind is inert and hidden by
    an opaque overlay, and a tap anywhere is an answer."""
    kiosk = live_server(IDLE_SECONDS=2, IDLE_WARNING_SECONDS=8, IDLE_GRACE_SECONDS=2)
    start(page, kiosk)
    page.locator("#id_number").fill(ZHAO_MIN)  # typed, not yet sent
    dialog = page.locator("#idle-dialog")
    expect(dialog).to_be_visible(timeout=5_000)
    assert page.evaluate("getComputedStyle(document.getElementById('idle-dialog')).backgroundColor") == "rgb(26, 26, 26)"
    assert page.evaluate("document.getElementById('main').inert") is True
    page.evaluate("document.getElementById('id_number').focus()")  # the page behind cannot take focus
    assert page.evaluate("document.activeElement.id") != "id_number"
    page.mouse.click(20, 400)  # a tap anywhere, far from Continue
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.getElementById('main').inert") is False
    expect(page.locator("#id_number")).to_have_value(ZHAO_MIN)  # the citizen carries on where they were
    assert live_visits(kiosk.app) == 1
