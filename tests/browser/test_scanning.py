"""Keyboards, card readers and scanners (audit of issue 7, items 2 and 3). A reader types the
number as a burst of key presses and Enter: the burst replaces the field, reaches the field from
anywhere on the identify screen, and on the attract screen starts the service; after an error the
first key replaces the old number; the keyboard stops at 18 characters like the keypad."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kiosk.domain.idnumber import IdProblem
from kiosk.web.messages import ID_PROBLEMS
from tests.helpers import ZHAO_MIN

from .steps import scripts_ready, start, tap_number, translated, url_is

pytestmark = pytest.mark.browser

WRONG_CHECK_DIGIT = "110105198509120428"

# a reader: the keys in one go (well under 50 ms apart), to whatever has the focus, then Enter.
# Dispatched in the page so that a slow test machine cannot spread the burst out.
READ = """text => {
  for (const key of [...text, "Enter"]) {
    const target = document.activeElement || document.body;
    target.dispatchEvent(new KeyboardEvent("keydown", {key, bubbles: true, cancelable: true}));
  }
}"""


def read_card(page, number: str) -> None:
    page.evaluate(READ, number)


def test_a_second_read_after_an_error_replaces_the_number_instead_of_adding_to_it(kiosk, page):
    start(page, kiosk)
    read_card(page, WRONG_CHECK_DIGIT)
    field = page.locator("#id_number")
    expect(page.locator("#id-error")).to_have_text(translated(kiosk.app, "zh", ID_PROBLEMS[IdProblem.CHECKSUM]))
    expect(field).to_have_value(WRONG_CHECK_DIGIT)
    read_card(page, ZHAO_MIN)  # the card the right way round: 18 characters, not 36
    expect(page).to_have_url(url_is(kiosk, "/person"))


def test_a_burst_replaces_what_was_typed_and_a_read_reaches_the_field_from_anywhere(kiosk, page):
    start(page, kiosk)
    tap_number(page, "1234")
    page.locator("h1").click()  # the focus leaves the field
    expect(page.locator("#id_number")).not_to_be_focused()
    read_card(page, ZHAO_MIN)
    expect(page).to_have_url(url_is(kiosk, "/person"))


def expect_new_error(page, submit) -> None:
    """``submit`` the form, then wait until htmx has swapped in the form with its error (the one
    before may show an error too)."""
    page.locator("#identify-form").evaluate("form => { form.dataset.old = 'yes'; }")
    submit()
    expect(page.locator("#identify-form:not([data-old]) #id-error")).to_be_visible()


def test_after_an_error_the_first_key_replaces_the_number_and_delete_corrects_it(kiosk, page):
    start(page, kiosk)
    field = page.locator("#id_number")
    tap_number(page, WRONG_CHECK_DIGIT)
    page.locator("#identify-next").click()
    expect(page.locator("#id-error")).to_be_visible()
    # the old number is selected: what comes next replaces it, on the keypad...
    assert field.evaluate("f => f.selectionStart === 0 && f.selectionEnd === f.value.length")
    page.locator('[data-key="1"]').click()
    expect(field).to_have_value("1")
    page.locator('[data-key="clear"]').click()
    tap_number(page, WRONG_CHECK_DIGIT)
    expect_new_error(page, page.locator("#identify-next").click)
    # ...and on a keyboard
    field.press_sequentially("11", delay=120)
    expect(field).to_have_value("11")
    # Delete after an error takes the last character only, keypad or keyboard
    page.locator('[data-key="clear"]').click()
    field.press_sequentially(WRONG_CHECK_DIGIT, delay=60)
    expect_new_error(page, lambda: field.press("Enter"))
    field.press("Backspace")
    expect(field).to_have_value(WRONG_CHECK_DIGIT[:-1])
    field.press_sequentially("7", delay=120)
    field.press("Enter")
    expect(page).to_have_url(url_is(kiosk, "/person"))


def test_the_keyboard_stops_at_18_characters_like_the_keypad(kiosk, page):
    start(page, kiosk)
    field = page.locator("#id_number")
    expect(field).to_have_attribute("maxlength", "18")
    field.press_sequentially(ZHAO_MIN + "1234", delay=60)
    expect(field).to_have_value(ZHAO_MIN)
    page.locator("h1").click()
    page.keyboard.type("99", delay=60)  # from elsewhere on the screen too
    expect(field).to_have_value(ZHAO_MIN)


def test_a_read_on_the_attract_screen_starts_the_service_without_the_number_in_any_url(kiosk, page):
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(kiosk("/"))
    scripts_ready(page)
    read_card(page, WRONG_CHECK_DIGIT)
    # a wrong read: the identify screen with the reason and the number, as if typed there
    expect(page.locator("#id-error")).to_have_text(translated(kiosk.app, "zh", ID_PROBLEMS[IdProblem.CHECKSUM]))
    expect(page.locator("#id_number")).to_have_value(WRONG_CHECK_DIGIT)
    page.locator("#toggle-language").click()
    expect(page).to_have_url(url_is(kiosk, "/identify"))
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.goto(kiosk("/"))
    scripts_ready(page)
    read_card(page, ZHAO_MIN)
    expect(page).to_have_url(url_is(kiosk, "/person"))
    expect(page.locator("#masked-name")).to_have_text("赵*")
    assert not [url for url in urls if ZHAO_MIN in url or WRONG_CHECK_DIGIT in url]


def test_keys_typed_slowly_on_the_attract_screen_start_nothing(kiosk, page):
    page.goto(kiosk("/"))
    scripts_ready(page)
    page.keyboard.type(ZHAO_MIN, delay=80)
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    expect(page).to_have_url(url_is(kiosk, "/"))


# a reader whose keys stall once part-way (a busy machine, a USB hiccup): the first six keys, a
# pause longer than a burst's gap but far shorter than a person's, then the rest and Enter
READ_WITH_A_STALL = """async text => {
  const send = key => (document.activeElement || document.body).dispatchEvent(
    new KeyboardEvent("keydown", {key, bubbles: true, cancelable: true}));
  for (const key of text.slice(0, 6)) send(key);
  await new Promise(resolve => setTimeout(resolve, 150));
  for (const key of [...text.slice(6), "Enter"]) send(key);
}"""


def test_a_read_that_stalls_part_way_keeps_its_first_characters(kiosk, page):
    """Found when the suite ran in two processes: a burst after a stall replaced the field with
    only the characters after the stall, and the citizen was told the number was too short."""
    start(page, kiosk)
    page.evaluate(READ_WITH_A_STALL, ZHAO_MIN)
    expect(page).to_have_url(url_is(kiosk, "/person"))
    page.goto(kiosk("/"))
    scripts_ready(page)
    page.evaluate(READ_WITH_A_STALL, ZHAO_MIN)  # on the attract screen too: the read starts the service
    expect(page).to_have_url(url_is(kiosk, "/person"))
