"""The citizen journey end to end in Chromium, with the phone as a second device."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import WANG_DASHAN, ZHAO_MIN

from .steps import MONEY, PHONE_SIZES, identify, scripts_ready, shoot, start, url_is, wallet_url

pytestmark = pytest.mark.browser


def test_a_citizen_pays_by_phone_and_the_kiosk_moves_on_to_the_receipt_by_itself(kiosk, page, phone):
    page.goto(kiosk("/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#service-pay")).to_be_visible()
    shoot(page, "attract")

    page.locator("#service-pay").click()
    expect(page).to_have_url(url_is(kiosk, "/identify"))
    expect(page.locator("#id_number")).to_have_value("")
    shoot(page, "identify-empty")

    # the whole number on the on-screen keypad, with a slip corrected by the delete key
    page.locator('[data-key="7"]').click()
    page.locator('[data-key="back"]').click()
    identify(page, kiosk, ZHAO_MIN)

    # the person screen: masked name and ID, never the number that was typed
    expect(page.locator("#masked-name")).to_have_text("赵*")
    expect(page.locator("#masked-id")).not_to_have_text(ZHAO_MIN)
    assert ZHAO_MIN not in page.content()
    assert "赵敏" not in page.content()
    shoot(page, "person")

    page.locator("#confirm-person").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    bills = page.locator('input[name="bills"]')
    expect(bills).to_have_count(3)  # two overdue months and this month
    total = page.locator("#total-amount")
    expect(total).to_have_text(MONEY)
    everything = total.inner_text()
    shoot(page, "dues")

    # unticking an item changes the total the citizen will pay; ticking it again restores it
    scripts_ready(page)
    bills.last.uncheck()
    expect(total).not_to_have_text(everything)
    bills.last.check()
    expect(total).to_have_text(everything)
    # nothing ticked, nothing to pay: Pay now is off until something is ticked again (audit finding 9)
    pay = page.locator("#pay-button")
    for box in bills.all():
        before = total.inner_text()
        box.uncheck()
        expect(total).not_to_have_text(before)
    expect(total).to_have_text("¥0.00")
    expect(pay).to_be_disabled()
    for box in bills.all():
        before = total.inner_text()
        box.check()
        expect(total).not_to_have_text(before)
    expect(total).to_have_text(everything)
    expect(pay).to_be_enabled()

    page.locator("#pay-button").click()
    url = wallet_url(page, kiosk)
    expect(page.locator("#order-amount")).to_have_text(everything)
    countdown = page.locator("#countdown")
    expect(countdown).to_have_text(re.compile(r"^[23]:[0-5]\d$"))  # three minutes to pay
    left = countdown.inner_text()
    expect(countdown).not_to_have_text(left)  # and counting down while the citizen finds the phone
    shoot(page, "qr")

    # the phone: scan (open the URL), see the same amount, pay
    phone.goto(url)
    expect(phone.locator("#wallet-amount")).to_have_text(everything)
    shoot(phone, "wallet", PHONE_SIZES)
    phone.locator("#wallet-pay").click()
    expect(phone.locator("#wallet-result")).to_be_visible()
    shoot(phone, "wallet-paid", PHONE_SIZES)

    # nobody touches the kiosk: it finds out and shows the receipt
    expect(page).to_have_url(url_is(kiosk, "/receipt"))
    expect(page.locator("#paid")).to_be_visible()
    receipt_number = page.locator("#receipt-number").inner_text().strip()
    assert receipt_number
    expect(page.locator("#receipt-number-screen")).to_have_text(receipt_number)
    expect(page.locator("#receipt-total")).to_have_text(everything)
    # the amount paid, big, outside the receipt's small print; said as the screen arrives (audit of issue 7, item 6)
    amount = page.locator('[role="status"] #paid-amount')
    expect(amount).to_have_text(everything)
    assert amount.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 44
    expect(page).to_have_title(re.compile("^缴费成功 · "))
    shoot(page, "receipt")

    # done: the attract screen, and Back does not bring the citizen's details back
    page.locator("#done").click()
    expect(page).to_have_url(url_is(kiosk, "/"))
    expect(page.locator("#service-pay")).to_be_visible()
    page.go_back()  # to the receipt's entry in the history, which the server no longer shows
    expect(page).to_have_url(url_is(kiosk, "/"))
    expect(page.locator("#service-pay")).to_be_visible()
    expect(page.locator("#paid")).to_have_count(0)
    expect(page.locator("#receipt-number")).to_have_count(0)
    expect(page.locator("#masked-name")).to_have_count(0)
    content = page.content()
    assert receipt_number not in content and "赵*" not in content


def test_a_keyboard_or_scanner_types_the_number_and_enter_submits_it(kiosk, page):
    start(page, kiosk)
    # the field has the focus from the start: a scanner needs no tap first
    expect(page.locator("#id_number")).to_be_focused()
    page.keyboard.type(ZHAO_MIN)
    page.keyboard.press("Enter")
    expect(page).to_have_url(url_is(kiosk, "/person"))
    expect(page.locator("#masked-name")).to_have_text("赵*")


def test_a_person_with_nothing_to_pay_is_told_so_and_can_finish(kiosk, page):
    start(page, kiosk)
    identify(page, kiosk, WANG_DASHAN)
    page.locator("#confirm-person").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    expect(page.locator("#nothing-due")).to_be_visible()
    expect(page.locator("#pay-button")).to_have_count(0)
    shoot(page, "nothing-due")
    page.locator("#done").click()
    expect(page).to_have_url(url_is(kiosk, "/"))
    expect(page.locator("#service-pay")).to_be_visible()
