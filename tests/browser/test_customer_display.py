"""The counter's QR payment in Chromium (issue 8): the customer display, a second window of the
cashier's browser, follows the counter's order by itself: welcome, the amount and the QR codes,
then paid; the cashier's page moves on to the receipt by itself."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import PaymentAttempt
from tests.helpers import ZHANG_SAN

from .test_four_eyes_refund import DESKTOP, log_in, shot
from .steps import TIMEOUT_MS


@pytest.mark.browser
def test_the_customer_display_follows_the_counters_qr_payment(staffed, browser, phone):
    kiosk = staffed
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    desk = context.new_page()
    log_in(desk, kiosk, "cashier")
    desk.locator("#nav-counter").click()
    with context.expect_page() as opened:
        desk.locator("#open-display").click()
    display = opened.value
    expect(display.locator("#display-welcome")).to_be_visible()

    desk.locator("#id_number").fill(ZHANG_SAN)
    desk.locator("#identify").click()
    desk.locator("#method-qr").check()
    desk.locator("#take-payment").click()
    expect(desk.locator("#qr-waiting")).to_be_visible()
    # the display, polling on its own, shows the amount and the codes
    expect(display.locator("#display-amount")).to_have_text("¥400.00")
    codes = display.locator(".display-codes svg")
    expect(codes.first).to_be_visible()
    shot(display, "customer-display-qr")
    # the citizen scans a code with a phone (what it encodes: the simulator's wallet page) and pays
    with kiosk.app.app_context():
        wallet = db.session.scalars(select(PaymentAttempt.qr_payload).order_by(PaymentAttempt.id.desc())).first()
    phone.goto(wallet)
    phone.locator("#wallet-pay").click()
    expect(display.locator("#display-paid")).to_be_visible(timeout=3 * TIMEOUT_MS)
    expect(desk.locator("#paid-by-qr")).to_be_visible(timeout=3 * TIMEOUT_MS)
    shot(display, "customer-display-paid")
    desk.locator("#next-customer").click()
    expect(display.locator("#display-welcome")).to_be_visible()
    context.close()
