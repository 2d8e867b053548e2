"""One-time SMS codes (issue 9, first part): expiry, tries and rate limits, and only a hash kept."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.otp import (MAX_TRIES, PER_PERSON, PER_TERMINAL, VALID_FOR, Challenge, Verdict, code_hash, judge, may_send,
                              new_code)

SECRET = b"otp secret"
SENT = dt.datetime(2026, 12, 2, 4, 0)


def challenge(code="123456", tries=0, used=False, challenge_id=7) -> Challenge:
    return Challenge(challenge_id, code_hash(SECRET, challenge_id, code), SENT, tries, used)


def test_the_right_code_in_time_is_ok_and_the_hash_is_not_the_code():
    assert judge(SECRET, challenge(), "123 456", SENT + VALID_FOR) is Verdict.OK
    assert "123456" not in challenge().code_hash
    assert code_hash(SECRET, 7, "123456") != code_hash(SECRET, 8, "123456")  # bound to its challenge


def test_a_code_expires_after_five_minutes():
    assert judge(SECRET, challenge(), "123456", SENT + VALID_FOR + dt.timedelta(seconds=1)) is Verdict.EXPIRED


def test_five_tries_then_spent_even_for_the_right_code():
    verdicts = [judge(SECRET, challenge(tries=n), "000000", SENT) for n in range(MAX_TRIES)]
    assert verdicts == [Verdict.WRONG] * (MAX_TRIES - 1) + [Verdict.SPENT]
    assert judge(SECRET, challenge(tries=MAX_TRIES), "123456", SENT) is Verdict.SPENT
    assert judge(SECRET, challenge(used=True), "123456", SENT) is Verdict.SPENT


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12a456", None])
def test_what_is_not_six_digits_costs_no_try(typed):
    assert judge(SECRET, challenge(), typed, SENT) is Verdict.MALFORMED


@given(st.integers(0, 10**6 - 1))
def test_codes_are_six_digits(value):
    code = new_code(lambda bound: value)
    assert len(code) == 6 and code.isdigit() and int(code) == value


def test_sending_is_limited_per_person_and_per_terminal():
    now = SENT
    limit, window = PER_PERSON
    person = [now - dt.timedelta(minutes=m) for m in range(limit)]
    assert may_send(person[:-1], [], now) is None
    assert may_send(person, [], now) == person[-1] + window  # when the oldest of the three leaves the window
    terminal_limit, terminal_window = PER_TERMINAL
    terminal = [now - dt.timedelta(minutes=m) for m in range(terminal_limit)]
    assert may_send([], terminal, now) == terminal[-1] + terminal_window
    assert may_send([], terminal, now + terminal_window) is None
