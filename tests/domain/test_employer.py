"""Employer arrears and instalment agreements (issue 8, seed 002): the arithmetic, with
property-based tests: instalments add up to the debt, and late fees stop accruing under an
agreement that is being kept."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.employer import (AgreementProblem, Arrear, Instalment, add_months, arrears_total, balance, check_shares,
                                   due_now, kept, schedule, split)

SIGNED = dt.date(2026, 12, 2)
debts = st.integers(min_value=1, max_value=10**9)
counts = st.integers(min_value=1, max_value=36)


@given(debt=debts, count=counts)
def test_the_parts_add_up_to_the_whole_and_differ_by_at_most_a_fen(debt, count):
    parts = split(debt, count)
    assert sum(parts) == debt and len(parts) == count and max(parts) - min(parts) <= 1


@given(debt=debts, count=counts, wait=st.integers(0, 60))
def test_the_instalments_add_up_to_the_debt_monthly_from_the_first_due_date(debt, count, wait):
    if debt < count:
        with pytest.raises(AgreementProblem):
            schedule(debt, count, SIGNED, SIGNED)
        return
    first = SIGNED + dt.timedelta(days=wait)
    plan = schedule(debt, count, first, SIGNED)
    assert sum(item.amount_fen for item in plan) == debt
    assert [item.number for item in plan] == list(range(1, count + 1))
    assert all(later.due_date > earlier.due_date for earlier, later in zip(plan, plan[1:]))
    assert plan[0].due_date == first and plan[-1].due_date == add_months(first, count - 1)


def _paid_on_time(plan: list[Instalment], on: dt.date) -> list[Instalment]:
    """Every instalment due by ``on`` paid on its due date: the agreement is kept."""
    return [Instalment(i.number, i.due_date, i.amount_fen, i.due_date if i.due_date <= on else None) for i in plan]


@given(debt=st.integers(100, 10**8), count=counts, days=st.integers(0, 3 * 365))
def test_under_a_kept_agreement_no_late_fee_accrues(debt, count, days):
    plan = schedule(debt, count, SIGNED + dt.timedelta(days=30), SIGNED)
    on = SIGNED + dt.timedelta(days=days)
    paid = _paid_on_time(plan, on)
    assert kept(paid, on)
    unpaid, fees = balance(paid, on)
    assert fees == 0
    assert unpaid + sum(i.amount_fen for i in paid if i.paid_on) == debt  # what remains is exactly the rest of the debt


@given(principal=st.integers(10_000, 10**8), days=st.integers(1, 3 * 365))
def test_without_an_agreement_the_late_fee_keeps_growing(principal, days):
    arrear = Arrear(dt.date(2026, 1, 1), principal, dt.date(2026, 2, 15))
    on = arrear.due_date + dt.timedelta(days=days)
    assert arrear.late_fee_fen(on + dt.timedelta(days=30)) > arrear.late_fee_fen(on) > 0


def test_an_overdue_instalment_breaks_the_agreement_and_owes_its_late_fee():
    plan = schedule(300_000, 3, dt.date(2027, 1, 15), SIGNED)
    on = dt.date(2027, 1, 25)  # ten days after the first one fell due, unpaid
    assert not kept(plan, on)
    unpaid, fees = balance(plan, on)
    assert unpaid == 300_000 and fees == 100_000 * 5 * 10 // 10_000  # 0.05 % a day for ten days on ¥1,000
    assert due_now(plan[0], on) == 100_000 + fees
    assert due_now(plan[1], on) == 100_000  # not due yet: no fee


def test_the_debt_is_the_principal_and_the_late_fees_until_the_signing():
    arrears = [Arrear(dt.date(2026, 9, 1), 105_000, dt.date(2026, 10, 15)),
               Arrear(dt.date(2026, 10, 1), 105_000, dt.date(2026, 11, 15))]
    principal, fees = arrears_total(arrears, SIGNED)
    assert principal == 210_000
    # 48 and 17 days late on the signing day: 2,520 fen and 892.5 fen, rounded half-up to 893
    assert fees == 2_520 + 893


@pytest.mark.parametrize("shares, ok", [([60_000, 40_000], True), ([60_000, 39_999], False), ([100_000, 0], False), ([], False)])
def test_a_splits_shares_are_the_whole_debt(shares, ok):
    if ok:
        check_shares(100_000, shares)
    else:
        with pytest.raises(AgreementProblem):
            check_shares(100_000, shares)


@pytest.mark.parametrize("count", [0, 37])
def test_one_to_thirty_six_instalments(count):
    with pytest.raises(AgreementProblem):
        schedule(100_000, count, SIGNED, SIGNED)


def test_the_first_instalment_is_not_due_before_the_signing():
    with pytest.raises(AgreementProblem) as refused:
        schedule(100_000, 3, SIGNED - dt.timedelta(days=1), SIGNED)
    assert refused.value.code == "first_due"
