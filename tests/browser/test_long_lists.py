"""The longest list a demo citizen has (six items) and its receipt: the actions never leave the screen."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from tests.helpers import CHEN_JIANGUO

from .steps import KIOSK_SIZES, LARGE_TEXT, choose, identify, scripts_ready, shoot, start, url_is, wallet_url

pytestmark = pytest.mark.browser


ON_SCREEN = """e => {
  const box = e.getBoundingClientRect();
  return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
}"""


def expect_on_screen(page, *selectors: str) -> None:
    """Each element is whole inside the viewport, without scrolling to find it."""
    for selector in selectors:
        assert page.locator(selector).evaluate(ON_SCREEN), f"{selector} is not on the screen"


def expect_last_item_can_be_seen(page) -> None:
    """Scrolled to the end, the last item is not hidden under the total and the buttons."""
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    last = page.locator("label.due").last.bounding_box()
    bar = page.locator("#checkout-bar").bounding_box()
    covered = last["y"] + last["height"] > bar["y"] and last["x"] + last["width"] > bar["x"]
    assert not covered, f"the last item ({last}) is under the checkout bar ({bar})"
    page.evaluate("window.scrollTo(0, 0)")


def test_six_items_keep_the_total_pay_and_back_on_the_screen_in_every_orientation_and_text_size(kiosk, page, phone):
    start(page, kiosk)
    identify(page, kiosk, CHEN_JIANGUO)
    page.locator("#confirm-person").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    expect(page.locator('input[name="bills"]')).to_have_count(6)

    for large in (False, True):
        if large:
            page.locator("#toggle-text-size").click()
            expect(page.locator("body")).to_have_class(LARGE_TEXT)
        for size in KIOSK_SIZES.values():
            page.set_viewport_size(size)
            expect_on_screen(page, "#total", "#pay-button", "#not-me")
            expect_last_item_can_be_seen(page)
        shoot(page, "dues-six-items-large-text" if large else "dues-six-items")

    # unticking the first item from the top of the list changes the total in the bar at once
    scripts_ready(page)
    total = page.locator("#total-amount")
    everything = total.inner_text()
    page.locator('input[name="bills"]').first.uncheck()
    expect(total).not_to_have_text(everything)
    page.locator('input[name="bills"]').first.check()
    expect(total).to_have_text(everything)

    # the Pay button outside the list's form still pays exactly what is ticked
    page.locator("#pay-button").click()
    url = wallet_url(page, kiosk)
    expect(page.locator("#order-amount")).to_have_text(everything)
    phone.goto(url)
    phone.locator("#wallet-pay").click()
    expect(page).to_have_url(url_is(kiosk, "/receipt"))
    expect(page.locator("#receipt-total")).to_have_text(everything)
    for size in KIOSK_SIZES.values():
        page.set_viewport_size(size)
        expect_on_screen(page, "#paid-amount", "#receipt-number-screen", "#done", "#print-again")
    expect(page.locator("#paid-amount")).to_have_text(everything)
    assert page.locator("#paid-amount").evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 56  # large text: bigger still
    shoot(page, "receipt-six-items-large-text")
    page.locator("#toggle-text-size").click()
    expect(page.locator("body")).not_to_have_class(LARGE_TEXT)
    for size in KIOSK_SIZES.values():
        page.set_viewport_size(size)
        expect_on_screen(page, "#paid-amount", "#receipt-number-screen", "#done", "#print-again")
    shoot(page, "receipt-six-items")


def with_eight_items(kiosk) -> None:
    """陈建国 with two more months of pension arrears: eight items (the audit's longest list)."""
    import datetime as dt

    from sqlalchemy import select

    from kiosk.extensions import db
    from kiosk.models import Enrolment, Person

    with kiosk.app.app_context():
        enrolment = db.session.scalar(select(Enrolment).join(Person).where(
            Person.name == "陈建国", Enrolment.scheme == "flexible_pension"))
        start = enrolment.start_date
        index = start.year * 12 + start.month - 1 - 2
        enrolment.start_date = dt.date(index // 12, index % 12 + 1, 1)
        db.session.commit()


# how many items are whole on the screen, and whether "More below" shows and where
LOOK = """() => {
  const items = [...document.querySelectorAll("label.due")];
  const whole = items.filter(e => { const b = e.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight; });
  const bar = document.getElementById("checkout-bar").getBoundingClientRect();
  const hint = document.getElementById("more-below");
  const h = hint.getBoundingClientRect();
  const seen = whole.filter(e => { const b = e.getBoundingClientRect();
    return !(b.bottom > bar.top && b.top < bar.bottom && b.right > bar.left && b.left < bar.right); });
  return {whole: seen.length, hint: !hint.hidden && h.height > 0 && h.top >= 0 && h.bottom <= innerHeight,
          hintCoversBar: !hint.hidden && h.bottom > bar.top && h.top < bar.bottom && h.right > bar.left && h.left < bar.right};
}"""


def test_eight_items_show_more_at_once_and_more_below_says_when_the_list_goes_on(kiosk, page):
    """Audit of issue 7, item 10: in large text, landscape, only 2 of 8 items showed, with no hint to scroll."""
    with_eight_items(kiosk)
    start(page, kiosk)
    identify(page, kiosk, CHEN_JIANGUO)
    page.locator("#confirm-person").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    expect(page.locator('input[name="bills"]')).to_have_count(8)
    hint = page.locator("#more-below")
    for large in (False, True):
        if large:
            page.locator("#toggle-text-size").click()
            expect(page.locator("body")).to_have_class(LARGE_TEXT)
            scripts_ready(page)
        for orientation, size in KIOSK_SIZES.items():
            page.set_viewport_size(size)
            page.evaluate("window.scrollTo(0, 0)")
            expect_on_screen(page, "#total", "#pay-button", "#not-me")
            look = page.evaluate(LOOK)
            where = f"{'large' if large else 'normal'} text, {orientation}"
            if orientation == "landscape":
                assert look["whole"] >= (4 if large else 6), f"{where}: only {look['whole']} of 8 items on the screen"
            if look["whole"] < 8:
                expect(hint).to_be_visible()
                look = page.evaluate(LOOK)
                assert look["hint"] and not look["hintCoversBar"], f"{where}: {look}"
                # a tap on it scrolls on; at the bottom it goes
                hint.click()
                for _ in range(50):  # wait_for_function would eval a string, which the CSP forbids
                    if page.evaluate("() => window.scrollY") > 0:
                        break
                    page.wait_for_timeout(50)
                assert page.evaluate("() => window.scrollY") > 0, f"{where}: a tap on More below does not scroll"
                page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
                expect(hint).to_be_hidden()
                expect_last_item_can_be_seen(page)
            else:
                expect(hint).to_be_hidden()
        shoot(page, "dues-eight-items-large-text" if large else "dues-eight-items")


UNCOVERED = """e => {
  const box = e.getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return hit !== null && (hit === e || e.contains(hit));
}"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_person_screen_keeps_its_buttons_on_the_screen_with_contribution_years_in_large_text(kiosk, page, lang):
    """The person screen grew (contribution years, the pension's top-up, a change of base): in large
    text its actions stay on the screen, not under its bottom edge or the "More below" hint."""
    start(page, kiosk)
    choose(page, lang, large=True)
    identify(page, kiosk, CHEN_JIANGUO)
    expect(page.locator("#contribution-years")).to_be_visible()
    for orientation, size in KIOSK_SIZES.items():
        page.set_viewport_size(size)
        page.evaluate("window.scrollTo(0, 0)")
        expect_on_screen(page, "#masked-name", "#confirm-person", "#change-base", "#not-me")
        for selector in ("#confirm-person", "#change-base", "#not-me"):
            assert page.locator(selector).evaluate(UNCOVERED), f"{selector} is covered ({orientation})"
    shoot(page, f"person-large-text-{lang}")
