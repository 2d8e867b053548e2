"""Under the Content-Security-Policy the pages still work: Chromium reports no violation on the
way to the QR screen and back, and htmx still swaps (a form error, the total, the poller)."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import ZHAO_MIN

from .steps import identify, scripts_ready, start, tap_number, url_is, wallet_url

pytestmark = pytest.mark.browser

# a violation fires this event in the page; init scripts are the browser's own and not subject to the policy
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.reportViolation(event.violatedDirective + " blocked " + (event.blockedURI || "inline") + " in " + event.documentURI);
});
"""


def watch_for_violations(page: Page) -> list[str]:
    """Every CSP violation the page reports, as an event or as a console message, on every document it loads."""
    seen: list[str] = []
    page.expose_binding("reportViolation", lambda _source, text: seen.append(text))
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    return seen


def replaced_by_htmx(page: Page, selector: str) -> None:
    """Mark the element, then wait until htmx has swapped in a new one in its place."""
    page.locator(selector).evaluate("element => { element.dataset.old = 'yes'; }")
    expect(page.locator(f"{selector}:not([data-old])")).to_have_count(1)


def test_the_journey_to_the_qr_screen_and_back_breaks_no_rule_of_the_policy(kiosk, page, phone):
    violations = watch_for_violations(page)
    on_phone = watch_for_violations(phone)

    start(page, kiosk)
    assert page.locator("head style").count() == 0  # htmx was told not to inject its indicator style

    # a wrong number: htmx swaps the form with its reason, no navigation
    tap_number(page, "1101")
    page.locator("#identify-next").click()
    expect(page.locator("#id-error")).to_be_visible()
    expect(page).to_have_url(url_is(kiosk, "/identify"))
    page.locator('[data-key="clear"]').click()
    identify(page, kiosk, ZHAO_MIN)

    page.locator("#confirm-person").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    scripts_ready(page)
    total = page.locator("#total-amount")
    everything = total.inner_text()
    page.locator('input[name="bills"]').last.uncheck()  # htmx posts the ticks and swaps the total
    expect(total).not_to_have_text(everything)
    page.locator('input[name="bills"]').last.check()
    expect(total).to_have_text(everything)

    page.locator("#pay-button").click()
    url = wallet_url(page, kiosk)  # the inline SVG QR code is drawn
    assert page.locator(".qr svg").first.bounding_box()["width"] > 200
    replaced_by_htmx(page, "#poller")  # the poller still polls and swaps itself

    phone.goto(url)
    expect(phone.locator("#wallet-pay")).to_be_visible()

    page.locator("#cancel-payment").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    expect(page.locator("#pay-button")).to_be_visible()

    assert violations == []
    assert on_phone == []
