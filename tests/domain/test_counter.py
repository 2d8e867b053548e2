"""Counter arithmetic and what a cashier types (no app, no database)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.counter import CounterProblem, change_due, mask_card_number, pos_reference, typed_fen


@given(total=st.integers(1, 10**7), extra=st.integers(0, 10**7))
def test_change_is_what_was_handed_over_beyond_the_total(total, extra):
    change = change_due(total, total + extra)
    assert change == extra and total + change == total + extra


@given(total=st.integers(2, 10**7), short=st.integers(1, 10**7))
def test_too_little_cash_is_refused(total, short):
    with pytest.raises(CounterProblem) as refused:
        change_due(total, max(total - short, 0))
    assert refused.value.code == "short"


def test_exact_cash_gives_no_change():
    assert change_due(40_000, 40_000) == 0


@pytest.mark.parametrize("typed, fen", [
    ("400", 40_000), ("463.5", 46_350), ("463.50", 46_350), ("0.01", 1), ("¥1,000", 100_000), ("￥ 20", 2_000),
    ("１００", 10_000), (" 12.30 ", 1_230),
])
def test_amounts_typed_in_yuan_become_exact_fen(typed, fen):
    assert typed_fen(typed) == fen


@pytest.mark.parametrize("typed", ["", "  ", "-5", "+5", "1.234", "1e3", "abc", "12.", ".5", "100000000", "1-2", None])
def test_anything_else_typed_as_an_amount_is_refused(typed):
    with pytest.raises(CounterProblem) as refused:
        typed_fen(typed)
    assert refused.value.code == "amount"


def test_a_pos_reference_drops_spaces_and_hyphens_and_is_upper_case():
    assert pos_reference(" 12-34 56ab ") == "123456AB"


@pytest.mark.parametrize("typed", ["", "12345", "A" * 33, "12345!", None])
def test_a_pos_reference_of_the_wrong_shape_is_refused(typed):
    with pytest.raises(CounterProblem) as refused:
        pos_reference(typed)
    assert refused.value.code == "reference"


def test_a_social_security_card_number_is_masked_and_never_kept_whole():
    assert mask_card_number("A1234 5678 9") == "A1****6789"
    assert mask_card_number("１２３４５６７８９") == "12***6789"


@pytest.mark.parametrize("typed", ["", "12345678", "1" * 21, "1234*5678"])
def test_a_card_number_of_the_wrong_shape_is_refused(typed):
    with pytest.raises(CounterProblem) as refused:
        mask_card_number(typed)
    assert refused.value.code == "card"
