"""My payment records in Chromium (issue 9's demo): a sandbox SMS code read on the developer
page, the records, a certificate printed, and its QR code verified on a phone; the ID-card
reader's number, Tab and name."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import SUN_LI

from .steps import scripts_ready, shoot, tap_number, url_is

pytestmark = pytest.mark.browser


def open_records(page, kiosk) -> None:
    page.goto(kiosk("/"))
    page.locator("#service-records").click()
    expect(page).to_have_url(url_is(kiosk, "/records/identify"))
    expect(page.locator("#records-heading")).to_be_visible()
    scripts_ready(page)


def test_a_citizen_gets_a_code_sees_the_records_prints_a_certificate_and_a_phone_verifies_it(kiosk, page, phone):
    open_records(page, kiosk)
    tap_number(page, SUN_LI)
    page.locator("#identify-next").click()
    expect(page).to_have_url(url_is(kiosk, "/records/prove"))
    expect(page.locator("#sms-to")).to_contain_text("138****0007")
    assert "13800130007" not in page.content()
    shoot(page, "records-prove")
    page.locator("#send-code").click()
    expect(page).to_have_url(url_is(kiosk, "/records/code"))
    scripts_ready(page)

    # the sandbox gateway's developer page shows what the phone would have received
    phone.goto(kiosk("/sandbox/sms/"))
    message = phone.locator(".sms-text").first
    expect(message).to_contain_text("验证码")
    code = re.search(r"(\d{6})", message.inner_text()).group(1)

    for digit in code:
        page.locator(f'#code-form [data-key="{digit}"]').click()
    expect(page.locator("#code")).to_have_value(code)
    shoot(page, "records-code")
    page.locator("#code-next").click()
    expect(page).to_have_url(url_is(kiosk, "/records/"))
    expect(page.locator("#masked-name")).to_have_text("孙*")
    certificate = page.locator('[id^="certificate-"]').first
    expect(certificate).to_be_visible()
    shoot(page, "records")

    certificate.click()
    expect(page.locator("#certificate")).to_be_visible()
    expect(page.locator("#certificate-total")).to_have_text("¥400.00")
    expect(page.locator("#certificate-qr svg")).to_be_visible()
    shoot(page, "certificate")
    url = page.locator("#certificate-qr").get_attribute("data-verify-url")

    phone.goto(url)  # what scanning the QR code opens
    expect(phone.locator("#verdict")).to_have_text("缴费证明真实有效")
    expect(phone.locator("#verified-total")).to_have_text("¥400.00")
    expect(phone.locator("#verified-holder")).to_contain_text("孙*")
    assert "孙丽" not in phone.content()
    shoot(phone, "verify-certificate", sizes={"portrait": phone.viewport_size})

    # an altered code: not verified
    altered = url[:-3] + ("Z" if url[-3] != "Z" else "Y") + url[-2:]
    phone.goto(altered)
    expect(phone.locator("#verdict")).to_have_text("未通过核验")


def test_the_id_card_reader_types_the_number_a_tab_and_the_name(kiosk, page):
    open_records(page, kiosk)
    page.locator("#id_number").focus()
    page.keyboard.type(SUN_LI)
    page.keyboard.press("Tab")
    page.keyboard.insert_text("孙丽")
    page.keyboard.press("Enter")
    expect(page).to_have_url(url_is(kiosk, "/records/"))
    expect(page.locator("#masked-name")).to_have_text("孙*")
