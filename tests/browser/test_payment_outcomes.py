"""The QR screen's other endings: cancelled, expired, declined on the phone."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import ZHAO_MIN

from .steps import PHONE_SIZES, TIMEOUT_MS, shoot, to_qr, url_is, wallet_url

pytestmark = pytest.mark.browser


def test_cancel_returns_to_the_dues_and_a_declined_payment_shows_the_failed_screen(kiosk, page, phone):
    to_qr(page, kiosk, ZHAO_MIN)
    page.locator("#cancel-payment").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    expect(page.locator("#pay-button")).to_be_visible()
    expect(page.locator('input[name="bills"]')).to_have_count(3)

    page.locator("#pay-button").click()
    phone.goto(wallet_url(page, kiosk, "alipay"))
    phone.locator("#wallet-decline").click()
    expect(phone.locator("#wallet-result")).to_be_visible()
    shoot(phone, "wallet-declined", PHONE_SIZES)
    # declined in one app: its code goes, the other app's stays
    expect(page.locator("#qr-alipay")).to_have_count(0)
    expect(page.locator("#qr-wechat svg")).to_be_visible()

    phone.goto(wallet_url(page, kiosk, "wechat"))
    phone.locator("#wallet-decline").click()
    expect(phone.locator("#wallet-result")).to_be_visible()
    # declined in both: the kiosk finds out by itself and offers to try again
    expect(page.locator("#failed")).to_be_visible()
    expect(page.locator("#try-again")).to_be_visible()
    expect(page.locator(".qr")).to_have_count(0)
    shoot(page, "failed")
    page.locator("#try-again").click()
    expect(page.locator(".qr svg").first).to_be_visible()


def test_an_unpaid_qr_expires_by_itself_and_new_qr_gives_a_fresh_code(live_server, page, phone):
    # the code must still be on the screen when the test reads it, on a busy machine too
    kiosk = live_server(ORDER_TTL_SECONDS=8)
    first = to_qr(page, kiosk, ZHAO_MIN)
    expect(page.locator("#expired")).to_be_visible(timeout=3 * TIMEOUT_MS)
    expect(page.locator(".qr")).to_have_count(0)
    expect(page).to_have_url(url_is(kiosk, "/payment"))
    shoot(page, "expired")

    # the old code is dead on the phone too
    phone.goto(first)
    expect(phone.locator("#wallet-pay")).to_have_count(0)
    expect(phone.locator("#wallet-result")).to_be_visible()

    page.locator("#new-qr").click()
    second = wallet_url(page, kiosk)
    assert second != first
    expect(page.locator("#countdown")).to_be_visible()


def test_a_lost_connection_is_announced_and_the_kiosk_moves_on_once_it_is_back(kiosk, page, phone):
    url = to_qr(page, kiosk, ZHAO_MIN)
    offline = page.locator("#offline")
    expect(offline).to_be_hidden()
    page.route("**/payment/status*", lambda route: route.abort("internetdisconnected"))
    expect(offline).to_be_visible()
    expect(offline).to_have_attribute("role", "alert")  # read out, not only shown
    expect(page.locator(".qr svg").first).to_be_visible()  # the code stays: the phone has its own network
    countdown = page.locator("#countdown")
    frozen = countdown.inner_text()
    expect(countdown).not_to_have_text(frozen)  # and the time left keeps running down
    shoot(page, "offline")

    phone.goto(url)
    phone.locator("#wallet-pay").click()
    expect(phone.locator("#wallet-result")).to_be_visible()
    page.wait_for_timeout(2_000)  # a few more failed polls while the money is already paid
    expect(page).to_have_url(url_is(kiosk, "/payment"))
    expect(offline).to_be_visible()

    page.unroute("**/payment/status*")
    expect(page).to_have_url(url_is(kiosk, "/receipt"))
    expect(page.locator("#paid")).to_be_visible()
    expect(page.locator("#offline")).to_be_hidden()


def test_polls_that_find_nothing_new_leave_the_qr_screen_as_it_is_and_a_connection_back_clears_the_notice(live_server, page):
    kiosk = live_server(PROVIDER_QUERY_INTERVAL_SECONDS=600)  # not asked again during this test: every poll is quiet
    to_qr(page, kiosk, ZHAO_MIN)
    countdown = page.locator("#countdown")
    countdown.evaluate("element => { element.dataset.seen = 'yes'; }")
    with page.expect_response("**/payment/status*") as answer:
        pass
    assert answer.value.status == 204
    shown = countdown.inner_text()
    expect(countdown).not_to_have_text(shown)  # counted down by the page itself
    expect(page.locator("#countdown[data-seen]")).to_have_count(1)  # the same element: nothing was swapped

    offline = page.locator("#offline")
    page.route("**/payment/status*", lambda route: route.abort("internetdisconnected"))
    expect(offline).to_be_visible()
    page.unroute("**/payment/status*")
    expect(offline).to_be_hidden()  # a 204 is a poll that got through
    expect(page.locator(".qr svg").first).to_be_visible()
    expect(page).to_have_url(url_is(kiosk, "/payment"))


def test_two_codes_side_by_side_and_paying_with_wechat_closes_the_alipay_one(kiosk, page, phone):
    """One QR code per app, each under its app's name, no tap to choose. The WeChat Pay adapter
    end to end: its native order, the simulator's WeChat page, the v3 notification (AES-GCM
    resource, Wechatpay-* signature) that moves the kiosk to the receipt; the Alipay code's
    trade is closed, so the phone can no longer pay it."""
    alipay_url = to_qr(page, kiosk, ZHAO_MIN)
    expect(page.locator("#qr-alipay .qr-label")).to_have_text("支付宝")
    expect(page.locator("#qr-wechat .qr-label")).to_have_text("微信支付")
    shoot(page, "qr-two-apps")
    alipay_box, wechat_box = (page.locator(f"#qr-{app} svg").bounding_box() for app in ("alipay", "wechat"))
    assert alipay_box["x"] + alipay_box["width"] <= wechat_box["x"]  # side by side, both whole
    url = wallet_url(page, kiosk, "wechat")
    amount = page.locator("#order-amount").inner_text()
    phone.goto(url)
    expect(phone.locator("#wallet-app")).to_have_text("微信支付")
    expect(phone.locator("#wallet-amount")).to_have_text(amount)
    expect(phone.locator("#wallet-pay")).to_have_text("确认支付")
    shoot(phone, "wallet-wechat", PHONE_SIZES)
    phone.locator("#wallet-pay").click()
    expect(phone.locator("#wallet-result")).to_be_visible()
    expect(page).to_have_url(url_is(kiosk, "/receipt"))
    expect(page.locator("#receipt-total")).to_have_text(amount)
    phone.goto(alipay_url)  # the other code: closed once the first payment won
    expect(phone.locator("#wallet-pay")).to_have_count(0)
    expect(phone.locator("#wallet-result")).to_be_visible()
