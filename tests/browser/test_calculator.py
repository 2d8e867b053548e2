"""The contribution calculator and the change of chosen base, on the touch screen, in Chinese and English."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import CHEN_JIANGUO

from .steps import identify, scripts_ready, shoot, start, translated, url_is

pytestmark = pytest.mark.browser

MIN_TARGET_PX = 64


def tap_amount(page, amount: str) -> None:
    scripts_ready(page)
    for character in amount:
        page.locator(f'[data-key="{character}"]').click()


def test_the_calculator_from_the_attract_screen_in_both_languages(kiosk, page):
    page.goto(kiosk("/"))
    calculator = page.locator("#service-calculator")
    assert calculator.bounding_box()["height"] >= MIN_TARGET_PX
    expect(calculator).to_have_text(translated(kiosk.app, "zh", "Contribution calculator"))
    calculator.click()
    expect(page).to_have_url(url_is(kiosk, "/calculator"))
    scripts_ready(page)
    expect(page.locator("h1")).to_have_text(translated(kiosk.app, "zh", "Contribution calculator"))

    # flexible medical: a base under the floor is raised to it, and the page says so
    tap_amount(page, "3000")
    expect(page.locator("#amount")).to_have_value("3000")
    page.locator("#calculate").click()
    expect(page.locator("#result-monthly")).to_have_text("¥360.00")
    expect(page.locator("#result-clamped")).to_have_text(translated(kiosk.app, "zh", "Raised to the lowest base: the base is never below it."))
    expect(page).to_have_url(url_is(kiosk, "/calculator"))  # htmx swapped the form: no navigation
    shoot(page, "calculator-flexible-zh")

    # another scheme: the same base, the pension's rate
    page.locator("#scheme-flexible_pension").check()
    expect(page.locator("#scheme-flexible_pension")).to_be_checked()
    page.locator('[data-key="clear"]').click()
    tap_amount(page, "8000")
    page.locator("#calculate").click()
    expect(page.locator("#result-monthly")).to_have_text("¥1,600.00")
    expect(page.locator("#result-rate")).to_have_text("20%")

    # bad input: a clear message, no result
    page.locator('[data-key="clear"]').click()
    page.locator("#calculate").click()
    expect(page.locator("#calculator-error")).to_have_text(translated(kiosk.app, "zh", "Please enter an amount in yuan."))
    expect(page.locator("#calculator-result")).to_have_count(0)

    # English, and the resident scheme's flat year
    page.locator("#toggle-language").click()
    expect(page).to_have_url(url_is(kiosk, "/calculator"))
    scripts_ready(page)
    expect(page.locator("h1")).to_have_text("Contribution calculator")
    page.locator("#scheme-resident_medical").check()
    expect(page.locator("#result-annual")).to_have_text("¥400.00")
    expect(page.locator("#calculator-result")).to_contain_text("Minimum living guarantee")
    shoot(page, "calculator-resident-en")
    page.locator("#calculator-back").click()
    expect(page).to_have_url(url_is(kiosk, "/"))


def test_changing_the_chosen_base_previews_then_confirms_from_next_month(kiosk, page):
    start(page, kiosk)
    identify(page, kiosk, CHEN_JIANGUO)
    expect(page.locator("#years-flexible_pension")).to_be_visible()
    expect(page.locator("#pension-top-up")).to_contain_text("¥40,000.00")
    shoot(page, "person-contribution-years-zh")
    page.locator("#change-base").click()
    expect(page).to_have_url(url_is(kiosk, "/contribution-base"))
    scripts_ready(page)
    expect(page.locator("h1")).to_have_text(translated(kiosk.app, "zh", "Change my contribution base"))

    # out of range: refused, no Confirm
    tap_amount(page, "30000")
    page.locator("#base-preview").click()
    expect(page.locator("#base-error")).to_have_text(
        translated(kiosk.app, "zh", "The base must be between the lowest and the highest base shown. Nothing was changed."))
    expect(page.locator("#base-confirm")).to_have_count(0)

    # in range: the new monthly amount of each scheme, then Confirm
    page.locator('[data-key="clear"]').click()
    tap_amount(page, "8000")
    page.locator("#base-preview").click()
    expect(page.locator("#preview-flexible_medical")).to_contain_text("¥720.00")
    expect(page.locator("#preview-flexible_pension")).to_contain_text("¥1,600.00")
    shoot(page, "base-change-preview-zh")
    page.locator("#toggle-language").click()
    expect(page).to_have_url(url_is(kiosk, "/contribution-base"))  # the preference posts back to the screen: preview again
    scripts_ready(page)
    expect(page.locator("h1")).to_have_text("Change my contribution base")
    tap_amount(page, "8000")
    page.locator("#base-preview").click()
    expect(page.locator("#base-confirm")).to_contain_text("¥8,000.00")
    page.locator("#base-confirm").click()
    expect(page).to_have_url(url_is(kiosk, "/contribution-base"))
    expect(page.locator("#base-saved")).to_contain_text("Saved")
    expect(page.locator("#upcoming-flexible_pension")).to_contain_text("¥1,600.00")
    shoot(page, "base-change-saved-en")
    page.locator("#base-back").click()
    expect(page).to_have_url(url_is(kiosk, "/person"))
