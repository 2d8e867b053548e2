"""Paying for others in Chromium (issue 7, seed 003): a father pays next year's resident premium
for himself, his mother (minimum living guarantee: a subsidy) and his son (arrears of flexible
employment medical insurance) with one QR code, and the receipt lists each person's items."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import HUANG_XIULAN, HUANG_ZHIQIANG, HUANG_ZIHAN

from .steps import MONEY, identify, scripts_ready, shoot, start, tap_number, url_is, wallet_url

pytestmark = pytest.mark.browser


def add_member(page, kiosk, number: str, masked_name: str) -> None:
    """Add a family member, the keypad, Next, the masked name to confirm, Yes: back on the list."""
    page.locator("#add-member").click()
    expect(page).to_have_url(url_is(kiosk, "/family/add"))
    expect(page.locator("#member-heading")).to_be_visible()
    scripts_ready(page)
    tap_number(page, number)
    page.locator("#identify-next").click()
    expect(page).to_have_url(url_is(kiosk, "/family/confirm"))
    expect(page.locator("#member-name")).to_have_text(masked_name)
    assert number not in page.content()
    page.locator("#confirm-member").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))


def test_a_family_of_three_pays_next_years_resident_premium_with_one_qr(kiosk, page, phone):
    start(page, kiosk)
    identify(page, kiosk, HUANG_ZHIQIANG)
    page.locator("#confirm-person").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    add_member(page, kiosk, HUANG_XIULAN, "黄*兰")
    add_member(page, kiosk, HUANG_ZIHAN, "黄*涵")

    # grouped by person, the payer's group first
    expect(page.locator(".person-name")).to_have_text(["黄*强", "黄*兰", "黄*涵"])
    expect(page.locator(".payer-badge")).to_have_count(1)
    groups = page.locator(".family-group")
    expect(groups.nth(0).locator('input[name="bills"]')).to_have_count(1)  # next year's resident premium
    grandmother, son = groups.nth(1), groups.nth(2)
    expect(grandmother.locator('input[name="bills"]')).to_have_count(1)
    expect(grandmother.locator(".detail")).to_contain_text(re.compile(r"政府资助.*¥280\.00"))  # the subsidy line
    expect(grandmother.locator(".due-amount")).to_have_text("¥120.00")
    expect(son.locator('input[name="bills"]')).to_have_count(3)
    expect(son.locator(".badge")).to_have_count(2)  # two overdue months
    expect(son.locator(".detail").first).to_contain_text("滞纳金")  # the arrears' late fee
    total = page.locator("#total-amount")
    expect(total).to_have_text(MONEY)
    everything = total.inner_text()
    content = page.content()
    for secret in ("黄志强", "黄秀兰", "黄子涵", HUANG_ZHIQIANG, HUANG_XIULAN, HUANG_ZIHAN):
        assert secret not in content
    shoot(page, "family-dues")

    # one QR code for the whole family: the single total
    page.locator("#pay-button").click()
    url = wallet_url(page, kiosk)
    expect(page.locator(".qr-card")).to_have_count(len(kiosk.app.config["PAYMENT_PROVIDERS"]))  # one per app, not per person
    expect(page.locator("#order-amount")).to_have_text(everything)
    phone.goto(url)
    expect(phone.locator("#wallet-amount")).to_have_text(everything)
    phone.locator("#wallet-pay").click()
    expect(phone.locator("#wallet-result")).to_be_visible()

    # the receipt lists each person's items under their masked name and ID
    expect(page).to_have_url(url_is(kiosk, "/receipt"))
    expect(page.locator("#paid")).to_be_visible()
    insured = page.locator("#receipt tr.insured th")
    expect(insured).to_have_count(3)
    expect(insured.nth(0)).to_contain_text("黄*强")
    expect(insured.nth(0)).to_contain_text("缴费人")
    expect(insured.nth(1)).to_contain_text("黄*兰")
    expect(insured.nth(2)).to_contain_text("黄*涵")
    expect(page.locator("#receipt .item-name")).to_have_count(5)
    expect(page.locator("#receipt-total")).to_have_text(everything)
    shoot(page, "family-receipt")
    page.locator("#done").click()
    expect(page).to_have_url(url_is(kiosk, "/"))
