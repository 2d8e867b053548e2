"""The four-eyes refund, end to end in Chromium (issue 8): a cashier takes cash at the counter and
asks for the money back; a supervisor in another browser approves; the drawer gives it back and
the citizen's item is due again."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kiosk.demo import DEMO_STAFF
from tests.helpers import ZHANG_SAN

from .steps import SCREENSHOTS, TIMEOUT_MS

DESKTOP = {"width": 1366, "height": 900}
PASSWORDS = {username: password for username, _, _, password in DEMO_STAFF}


@pytest.fixture
def desk(browser):
    """A staff member's desktop browser, in English."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


supervisor_desk = desk


def log_in(page, kiosk, username):
    page.goto(kiosk("/staff/login"))
    page.locator("#staff-language").click()  # English
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORDS[username])
    page.locator("#login").click()
    expect(page.locator("#staff-who")).to_be_visible()


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"staff-{name}.png", full_page=True)


@pytest.mark.browser
def test_a_cashier_asks_a_supervisor_approves_and_the_cash_goes_back(staffed, desk, supervisor_desk):
    kiosk = staffed
    log_in(desk, kiosk, "cashier")
    desk.locator("#nav-counter").click()
    desk.locator("#id_number").fill(ZHANG_SAN)
    desk.locator("#identify").click()
    expect(desk.locator("#due-total")).to_have_text("¥400.00")
    assert ZHANG_SAN not in desk.content()
    desk.locator("#tendered").fill("500")
    shot(desk, "counter-dues")
    desk.locator("#take-payment").click()
    expect(desk.locator("#change")).to_have_text("¥100.00")
    shot(desk, "counter-paid")
    receipt = desk.locator("#receipt-number").inner_text()

    desk.locator("#ask-refund-link").click()
    expect(desk.locator("#refundable")).to_have_text("¥400.00")
    desk.locator("#reason").fill("   ")  # no reason (spaces pass the browser's own check): refused on its field
    desk.locator("#ask-refund").click()
    expect(desk.locator("#reason-error")).to_be_visible()
    desk.locator("#reason").fill("paid for the wrong year")
    desk.locator("#ask-refund").click()
    row = desk.locator("#refund-requests tbody tr").first
    expect(row).to_contain_text(receipt)
    expect(row).to_contain_text("Waiting for approval")
    expect(row.locator("button")).to_have_count(0)  # a cashier decides nothing

    log_in(supervisor_desk, kiosk, "supervisor")
    supervisor_desk.locator("#nav-refunds").click()
    row = supervisor_desk.locator("#refund-requests tbody tr").first
    shot(supervisor_desk, "refund-waiting")
    row.locator("button", has_text="Approve").click()
    expect(supervisor_desk.locator("#refund-requests tbody tr").first.locator(".state")).to_contain_text("Refunded")

    # the cash went back out of the drawer, and the item is due again
    desk.locator("#nav-counter").click()
    expect(desk.locator("#drawer-balance")).to_have_text("¥0.00")
    desk.locator("#next-customer").click()
    desk.locator("#id_number").fill(ZHANG_SAN)
    desk.locator("#identify").click()
    expect(desk.locator("#due-total")).to_have_text("¥400.00")
    assert re.search(r"R\d{16}", receipt)
