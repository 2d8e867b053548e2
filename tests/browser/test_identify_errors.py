"""A wrong or unknown ID number: the reason next to the field, and nothing typed is lost."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kiosk.domain.idnumber import IdProblem
from kiosk.web.messages import ID_PROBLEMS, PERSON_NOT_FOUND
from tests.helpers import NOT_INSURED

from .steps import KIOSK_SIZES, choose, shoot, start, tap_number, translated, url_is
from .test_long_lists import expect_on_screen

pytestmark = pytest.mark.browser

WRONG_CHECK_DIGIT = "110105198509120428"  # 赵敏's number with the last digit changed


def submit_number(page, number: str) -> None:
    tap_number(page, number[:6])  # partly on the keypad, partly from a keyboard
    page.locator("#id_number").press_sequentially(number[6:], delay=120)  # a person's pace, not a reader's burst
    page.locator("#identify-next").click()


def expect_reason_next_to_the_field(page, number: str, reason: str) -> None:
    field, error = page.locator("#id_number"), page.locator("#id-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_have_text(reason)
    expect(field).to_have_value(number)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "id-error")
    # right under the field, above the keypad: seen without looking for it
    field_box, error_box, keypad_box = (page.locator(s).bounding_box() for s in ("#id_number", "#id-error", ".keypad"))
    assert field_box["y"] + field_box["height"] <= error_box["y"] < field_box["y"] + field_box["height"] + 120
    assert error_box["y"] + error_box["height"] <= keypad_box["y"]


def test_a_wrong_check_digit_is_explained_next_to_the_field_and_the_number_is_kept(kiosk, page):
    start(page, kiosk)
    submit_number(page, WRONG_CHECK_DIGIT)
    expect(page).to_have_url(url_is(kiosk, "/identify"))
    expect_reason_next_to_the_field(page, WRONG_CHECK_DIGIT, translated(kiosk.app, "zh", ID_PROBLEMS[IdProblem.CHECKSUM]))
    shoot(page, "identify-error")

    # correcting the last character is one delete and one key
    page.locator('[data-key="back"]').click()
    page.locator('[data-key="7"]').click()
    page.locator("#identify-next").click()
    expect(page).to_have_url(url_is(kiosk, "/person"))


def test_the_reason_is_given_in_english_after_the_language_toggle(kiosk, page):
    start(page, kiosk)
    page.locator("#toggle-language").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(url_is(kiosk, "/identify"))
    submit_number(page, WRONG_CHECK_DIGIT)
    expect_reason_next_to_the_field(page, WRONG_CHECK_DIGIT, translated(kiosk.app, "en", ID_PROBLEMS[IdProblem.CHECKSUM]))
    expect(page.locator("#id-error")).to_contain_text("last character")


def test_a_valid_number_of_nobody_insured_here_says_so(kiosk, page):
    start(page, kiosk)
    submit_number(page, NOT_INSURED)
    expect(page).to_have_url(url_is(kiosk, "/identify"))
    expect_reason_next_to_the_field(page, NOT_INSURED, translated(kiosk.app, "zh", PERSON_NOT_FOUND))
    page.locator("#toggle-language").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    submit_number(page, NOT_INSURED)
    expect(page.locator("#id-error")).to_contain_text("No insured person has this ID number")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_under_an_error_every_key_next_and_back_stay_on_the_screen_in_large_text(kiosk, page, lang):
    """Audit of issue 7, item 1: in large text, landscape, Next was cut and Back below the screen."""
    start(page, kiosk)
    choose(page, lang, large=True)
    submit_number(page, WRONG_CHECK_DIGIT)
    expect(page.locator("#id-error")).to_be_visible()
    keys = [f'[data-key="{key}"]' for key in "0123456789X"] + ['[data-key="back"]', '[data-key="clear"]']
    for orientation, size in KIOSK_SIZES.items():
        page.set_viewport_size(size)
        expect_on_screen(page, "#id_number", "#id-error", *keys, "#identify-next", "#back")
        # nothing is cut at the side either
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), orientation
    shoot(page, f"identify-error-large-text-{lang}")
