"""Language and large text: one tap on any screen, and they leave with the citizen."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from tests.helpers import ZHAO_MIN

from .steps import KIOSK_SIZES, LARGE_TEXT, identify, shoot, start, translated, url_is, wallet_url

pytestmark = pytest.mark.browser

MIN_TARGET_PX = 64
MIN_KEY_TEXT_PX = 30  # in every mode (audit of issue 7, item 6: normal mode's were 28 px)

MEASURE = """elements => elements.filter(e => e.getClientRects().length).map(e => {
  const box = e.getBoundingClientRect();
  return {name: e.id || e.dataset.key || e.textContent.trim(), height: box.height, width: box.width,
          font: parseFloat(getComputedStyle(e).fontSize)};
})"""


def expect_language(page, app, lang: str, *messages: str) -> None:
    """The page is in ``lang`` and shows ``messages`` as the catalog has them in that language."""
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
    expect(page.locator("#toggle-language")).to_have_text("English" if lang == "zh" else "中文")
    for message in messages:
        expect(page.locator("main")).to_contain_text(translated(app, lang, message))


def toggle_language(page, kiosk, path: str) -> None:
    page.locator("#toggle-language").click()
    expect(page).to_have_url(url_is(kiosk, path))


def test_chinese_by_default_english_after_one_tap_on_any_screen_and_reset_for_the_next_citizen(kiosk, page):
    page.goto(kiosk("/"))
    expect_language(page, kiosk.app, "zh", "Pay your social insurance here")
    toggle_language(page, kiosk, "/")
    expect_language(page, kiosk.app, "en", "Pay your social insurance here")
    expect(page.locator("#service-pay")).to_have_text("Pay medical insurance or pension")

    # the choice holds on the next screens, and can be changed back on any of them
    page.locator("#service-pay").click()
    expect(page).to_have_url(url_is(kiosk, "/identify"))
    expect_language(page, kiosk.app, "en", "Enter your ID number")
    expect(page.locator("#identify-next")).to_have_text("Next")
    identify(page, kiosk, ZHAO_MIN)
    expect_language(page, kiosk.app, "en", "Is this you?")
    toggle_language(page, kiosk, "/person")
    expect_language(page, kiosk.app, "zh", "Is this you?")
    expect(page.locator("#masked-name")).to_have_text("赵*")  # the visit goes on

    page.locator("#confirm-person").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    toggle_language(page, kiosk, "/dues")
    expect_language(page, kiosk.app, "en", "What you can pay now")
    page.locator("#pay-button").click()
    qr = wallet_url(page, kiosk)
    toggle_language(page, kiosk, "/payment")
    expect_language(page, kiosk.app, "zh", "Scan with your phone to pay")
    assert wallet_url(page, kiosk) == qr  # the same order, not a new one

    toggle_language(page, kiosk, "/payment")
    expect_language(page, kiosk.app, "en", "Scan with your phone to pay")
    page.locator("#cancel-payment").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    page.locator("#not-me").click()
    expect(page).to_have_url(url_is(kiosk, "/identify"))
    expect_language(page, kiosk.app, "en", "Enter your ID number")

    # leaving ends the visit: the next citizen starts in Chinese again
    page.locator("#back").click()
    expect(page).to_have_url(url_is(kiosk, "/"))
    expect_language(page, kiosk.app, "zh", "Pay your social insurance here")


def measure_targets(page) -> list[dict]:
    targets = page.locator(".button, .key").evaluate_all(MEASURE)
    assert len(targets) >= 14  # 12 keys, Clear, Next, Back, the two toggles
    return targets


def expect_big_targets(page, large: bool) -> None:
    for orientation, size in KIOSK_SIZES.items():
        page.set_viewport_size(size)
        targets = measure_targets(page)
        small = [t for t in targets if t["height"] < MIN_TARGET_PX or t["width"] < MIN_TARGET_PX]
        assert not small, f"{orientation}: targets smaller than {MIN_TARGET_PX} px: {small}"
        keys = [t for t in targets if t["name"] in set("0123456789X")]
        assert len(keys) == 11
        tiny = [t for t in targets if t["font"] < MIN_KEY_TEXT_PX]  # the toggles included
        assert not tiny, f"{orientation}: button text under {MIN_KEY_TEXT_PX} px: {tiny}"
    page.set_viewport_size(KIOSK_SIZES["portrait"])


def test_large_text_keeps_every_button_and_key_big_and_makes_key_text_bigger(kiosk, page):
    start(page, kiosk)
    expect(page.locator("#toggle-text-size")).to_have_attribute("aria-pressed", "false")
    expect_big_targets(page, large=False)
    normal_key_text = page.locator('[data-key="5"]').evaluate("e => parseFloat(getComputedStyle(e).fontSize)")

    page.locator("#toggle-text-size").click()
    expect(page).to_have_url(url_is(kiosk, "/identify"))
    expect(page.locator("#toggle-text-size")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("body")).to_have_class(LARGE_TEXT)
    expect_big_targets(page, large=True)
    large_key_text = page.locator('[data-key="5"]').evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert large_key_text > normal_key_text
    shoot(page, "identify-large-text")

    # the setting holds on the next screen and goes back with one more tap
    identify(page, kiosk, ZHAO_MIN)
    expect(page.locator("body")).to_have_class(LARGE_TEXT)
    shoot(page, "person-large-text")
    page.locator("#toggle-text-size").click()
    expect(page.locator("#toggle-text-size")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("body")).not_to_have_class(LARGE_TEXT)
