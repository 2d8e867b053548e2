"""Verification codes of receipts and certificates (issue 9, first part): genuine codes verify,
altered ones never do, and none can be made without the secret."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.verification import ALPHABET, Kind, check, new_code

SECRET = b"a server secret of thirty-two bytes!"


@given(serial=st.binary(min_size=10, max_size=10), kind=st.sampled_from(list(Kind)))
def test_a_genuine_code_verifies_to_its_kind_and_serial(serial, kind):
    code, stored = new_code(SECRET, kind, lambda size: serial)
    assert check(SECRET, code) == (kind, stored)
    # as typed from paper: lower case, hyphens and spaces, O for 0 and I for 1
    typed = "-".join(code[i:i + 5] for i in range(0, len(code), 5)).lower().replace("0", "o").replace("1", "i")
    assert check(SECRET, typed) == (kind, stored)


@given(serial=st.binary(min_size=10, max_size=10), position=st.integers(0, 29), data=st.data())
def test_a_code_changed_in_any_character_does_not_verify(serial, position, data):
    code, _ = new_code(SECRET, Kind.RECEIPT, lambda size: serial)
    alphabet = ALPHABET + "RC"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != code[position]]))
    altered = code[:position] + replacement + code[position + 1:]
    assert check(SECRET, altered) is None


def test_a_code_needs_the_secret():
    code, _ = new_code(SECRET, Kind.CERTIFICATE)
    assert check(b"another secret", code) is None


@pytest.mark.parametrize("typed", ["", "R", "X" + "0" * 29, "R" + "0" * 28, "R" + "0" * 30, "R" + "!" * 29])
def test_malformed_codes_do_not_verify(typed):
    assert check(SECRET, typed) is None


def test_codes_are_fresh_each_time():
    assert len({new_code(SECRET, Kind.RECEIPT)[0] for _ in range(200)}) == 200
