"""Contribution amounts, chosen bases, contribution years and the pension top-up (issue 7)."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.contributions import (MAX_INPUT_FEN, AmountProblem, BaseProblem, Clamp, InvalidAmount, base_on, check_new_base,
                                        clamp_base, employee_quote, flexible_quote, next_month, parse_yuan_input, pension_top_up,
                                        resident_quote, rule_in_force, scheme_years, with_base_changes)
from kiosk.domain.premiums import Category, Enrolment, PremiumRule, Scheme, dues_for, employee_contribution

FLEX = PremiumRule(Scheme.FLEXIBLE_MEDICAL, dt.date(2024, 1, 1), rate_per_10000=900, base_floor_fen=400000,
                   base_cap_fen=2000000, late_fee_per_10000_per_day=5)
PENSION = PremiumRule(Scheme.FLEXIBLE_PENSION, dt.date(2024, 1, 1), rate_per_10000=2000, base_floor_fen=400000,
                      base_cap_fen=2000000)
# seed 001's employee medical: 7 % + 1.2 % supplementary on the employer, 2 % on the employee, whole yuan
EMPLOYEE = PremiumRule(Scheme.EMPLOYEE_MEDICAL, dt.date(2024, 1, 1), rate_per_10000=200, base_floor_fen=229900,
                       base_cap_fen=3000000, rounding="yuan", employer_rate_per_10000=700, supplementary_rate_per_10000=120)
RESIDENT = PremiumRule(Scheme.RESIDENT_MEDICAL, dt.date(2024, 1, 1), flat_fen=40000,
                       subsidy_percent={"minimum_living": 70, "extreme_poverty": 100})
TODAY = dt.date(2026, 11, 22)


def test_the_new_rule_fields_have_their_defaults():
    rule = PremiumRule(Scheme.FLEXIBLE_PENSION, dt.date(2024, 1, 1))
    assert (rule.employer_rate_per_10000, rule.supplementary_rate_per_10000, rule.minimum_years) == (0, 0, 15)


@pytest.mark.parametrize("text, fen", [("5000", 500000), ("5000.5", 500050), ("5000.05", 500005), (" 6,000 ", 600000),
                                       ("0", 0), ("5000.", 500000), ("1000000", MAX_INPUT_FEN)])
def test_what_can_be_typed_as_yuan(text, fen):
    assert parse_yuan_input(text) == fen


@pytest.mark.parametrize("text, problem", [("", AmountProblem.EMPTY), (None, AmountProblem.EMPTY), ("  ", AmountProblem.EMPTY),
                                          ("abc", AmountProblem.FORMAT), ("-5", AmountProblem.FORMAT),
                                          ("5.001", AmountProblem.FORMAT), ("1e5", AmountProblem.FORMAT),
                                          ("５０００", AmountProblem.FORMAT), (".5", AmountProblem.FORMAT),
                                          ("1000000.01", AmountProblem.TOO_LARGE), ("99999999999999", AmountProblem.FORMAT),
                                          ("999999999", AmountProblem.TOO_LARGE)])
def test_what_is_not_an_amount(text, problem):
    with pytest.raises(InvalidAmount) as error:
        parse_yuan_input(text)
    assert error.value.problem is problem


def test_a_flexible_month_is_the_rate_on_the_base_clamped_and_saying_so():
    assert flexible_quote(FLEX, 500000).monthly_fen == 45000
    assert flexible_quote(FLEX, 500000).base.clamp is Clamp.NONE
    low = flexible_quote(PENSION, 100000)
    assert (low.base.base_fen, low.base.clamp, low.monthly_fen) == (400000, Clamp.FLOOR, 80000)
    high = flexible_quote(PENSION, 9000000)
    assert (high.base.base_fen, high.base.clamp, high.monthly_fen) == (2000000, Clamp.CAP, 400000)
    assert flexible_quote(FLEX, 400000).base.clamp is Clamp.NONE  # the floor itself is not clamped


def test_employee_medical_parts_match_seed_001():
    quote = employee_quote(EMPLOYEE, 300000)
    assert (quote.employer_fen, quote.supplementary_fen, quote.individual_fen) == (21000, 3600, 6000)
    assert quote.employer_total_fen == 24600 and quote.total_fen == 30600
    low = employee_quote(EMPLOYEE, 200000)
    assert (low.base.base_fen, low.base.clamp, low.employer_fen, low.individual_fen) == (229900, Clamp.FLOOR, 16100, 4600)
    for wage in (100, 300000, 812345, 10**8):  # the same as the seed's function
        quote, seed = employee_quote(EMPLOYEE, wage), employee_contribution(
            wage, floor_fen=229900, cap_fen=3000000, employer_per_10000=700, supplementary_per_10000=120, individual_per_10000=200)
        assert (quote.base.base_fen, quote.employer_fen, quote.supplementary_fen, quote.individual_fen) == (
            seed.base_fen, seed.employer_fen, seed.supplementary_fen, seed.individual_fen)
    assert employee_quote(EMPLOYEE, 10**8).base.clamp is Clamp.CAP


def test_resident_medical_is_a_flat_year_with_its_subsidies():
    quote = resident_quote(RESIDENT)
    assert quote.annual_fen == 40000
    # orphans: not in the rule, yet they pay nothing by national policy (as their bills say)
    assert quote.subsidies == ((Category.MINIMUM_LIVING, 28000, 12000), (Category.EXTREME_POVERTY, 40000, 0),
                               (Category.ORPHAN, 40000, 0))


@pytest.mark.parametrize("subsidy_percent", [{}, {"minimum_living": 70}, {"standard": 10, "orphan": 100}])
def test_the_calculator_subsidises_each_category_as_its_bill_will(subsidy_percent):
    # a rule that leaves a category out still gives it the national minimum: the calculator must
    # not tell a minimum-living person they pay the full year when their bill says 40 %
    rule = PremiumRule(Scheme.RESIDENT_MEDICAL, dt.date(2024, 1, 1), flat_fen=40000, subsidy_percent=subsidy_percent)
    quoted = {category: (subsidy, pays) for category, subsidy, pays in resident_quote(rule).subsidies}
    for category in Category:
        (bill,) = dues_for([Enrolment(Scheme.RESIDENT_MEDICAL, dt.date(2020, 1, 1))], [rule], category, TODAY)
        assert quoted.get(category, (0, rule.flat_fen)) == (bill.subsidy_fen, bill.principal_fen - bill.subsidy_fen)


def test_a_new_base_outside_floor_and_cap_is_refused_not_clamped():
    assert check_new_base(FLEX, 400000) is None and check_new_base(FLEX, 2000000) is None
    assert check_new_base(FLEX, 399999) is BaseProblem.OUT_OF_RANGE
    assert check_new_base(FLEX, 2000001) is BaseProblem.OUT_OF_RANGE
    assert check_new_base(None, 500000) is BaseProblem.NO_RULE


def test_a_change_of_base_applies_from_its_month_only():
    assert next_month(TODAY) == dt.date(2026, 12, 1) and next_month(dt.date(2026, 12, 31)) == dt.date(2027, 1, 1)
    enrolment = Enrolment(Scheme.FLEXIBLE_MEDICAL, dt.date(2026, 9, 1), base_fen=500000)
    changes = [(dt.date(2026, 12, 1), 800000)]
    pieces = with_base_changes(enrolment, changes)
    assert [(p.start, p.end, p.base_fen) for p in pieces] == [
        (dt.date(2026, 9, 1), dt.date(2026, 11, 30), 500000), (dt.date(2026, 12, 1), None, 800000)]
    # November is still priced on the old base; December on the new one
    assert [d.principal_fen for d in dues_for(pieces, [FLEX], Category.STANDARD, TODAY)] == [45000, 45000, 45000]
    december = dues_for(pieces, [FLEX], Category.STANDARD, dt.date(2026, 12, 5))
    assert [(d.period_start.month, d.principal_fen) for d in december] == [(9, 45000), (10, 45000), (11, 45000), (12, 72000)]
    assert base_on(500000, changes, dt.date(2026, 11, 1)) == 500000 and base_on(500000, changes, dt.date(2027, 3, 1)) == 800000


def test_years_count_months_before_and_periods_paid_here():
    line = scheme_years(Scheme.FLEXIBLE_PENSION, 100, 5)
    assert (line.total_months, line.years, line.months) == (105, 8, 9)
    assert scheme_years(Scheme.RESIDENT_MEDICAL, 0, 2).total_months == 24  # an annual bill is twelve months
    assert scheme_years(Scheme.EMPLOYEE_MEDICAL, 36, 4).total_months == 36  # never paid at a kiosk


def test_pension_top_up_is_the_missing_months_at_the_floor():
    top_up = pension_top_up(PENSION, 12 * 11 + 3)
    assert (top_up.missing_months, top_up.missing_years, top_up.missing_extra_months) == (45, 3, 9)
    assert (top_up.monthly_fen, top_up.cost_fen) == (80000, 45 * 80000)
    assert pension_top_up(PENSION, 15 * 12).cost_fen == 0 and pension_top_up(PENSION, 400).missing_months == 0
    assert pension_top_up(PremiumRule(Scheme.FLEXIBLE_PENSION, dt.date(2024, 1, 1), rate_per_10000=2000, base_floor_fen=400000,
                                      minimum_years=20), 0).missing_months == 240


def test_the_rule_in_force_is_the_newest_that_applies():
    newer = PremiumRule(Scheme.FLEXIBLE_MEDICAL, dt.date(2026, 1, 1), rate_per_10000=950, base_floor_fen=420000, base_cap_fen=2100000)
    assert rule_in_force([FLEX, newer], Scheme.FLEXIBLE_MEDICAL, TODAY) is newer
    assert rule_in_force([FLEX, newer], Scheme.FLEXIBLE_MEDICAL, dt.date(2025, 6, 1)) is FLEX
    assert rule_in_force([FLEX], Scheme.FLEXIBLE_PENSION, TODAY) is None


# properties

fen = st.integers(min_value=-10**9, max_value=10**9)
rates = st.integers(min_value=0, max_value=5000)
bounds = st.tuples(st.integers(0, 10**7), st.integers(0, 10**7)).map(sorted)


def flexible_rule(floor, cap, rate, rounding="fen"):
    return PremiumRule(Scheme.FLEXIBLE_PENSION, dt.date(2024, 1, 1), rate_per_10000=rate, base_floor_fen=floor,
                       base_cap_fen=cap, rounding=rounding)


@given(fen, bounds)
def test_the_base_is_always_within_floor_and_cap(requested, floor_cap):
    floor, cap = floor_cap
    base = clamp_base(requested, floor, cap)
    assert floor <= base.base_fen <= cap or (cap == 0 and base.base_fen >= floor)
    if floor <= requested <= cap:
        assert (base.base_fen, base.clamp) == (requested, Clamp.NONE)


@given(fen, bounds, rates, st.sampled_from(["fen", "yuan"]))
def test_no_flexible_amount_is_negative(requested, floor_cap, rate, rounding):
    quote = flexible_quote(flexible_rule(*floor_cap, rate, rounding), requested)
    assert quote.monthly_fen >= 0 and quote.base.base_fen >= 0


@given(fen, bounds, rates, rates, rates, st.sampled_from(["fen", "yuan"]))
def test_no_employee_part_is_negative_and_the_base_is_clamped(wage, floor_cap, employer, supplementary, individual, rounding):
    floor, cap = floor_cap
    rule = PremiumRule(Scheme.EMPLOYEE_MEDICAL, dt.date(2024, 1, 1), rate_per_10000=individual, base_floor_fen=floor,
                       base_cap_fen=cap, rounding=rounding, employer_rate_per_10000=employer,
                       supplementary_rate_per_10000=supplementary)
    quote = employee_quote(rule, wage)
    assert min(quote.employer_fen, quote.supplementary_fen, quote.individual_fen) >= 0
    assert floor <= quote.base.base_fen and (cap == 0 or quote.base.base_fen <= cap)


@given(st.integers(0, 400), st.integers(0, 400), bounds, rates, st.integers(0, 40))
def test_top_up_cost_never_negative_and_grows_with_the_missing_years(months_a, months_b, floor_cap, rate, minimum):
    rule = PremiumRule(Scheme.FLEXIBLE_PENSION, dt.date(2024, 1, 1), rate_per_10000=rate, base_floor_fen=floor_cap[0],
                       base_cap_fen=floor_cap[1], minimum_years=minimum)
    fewer, more = sorted((months_a, months_b))  # fewer months paid: more missing
    less_paid, more_paid = pension_top_up(rule, fewer), pension_top_up(rule, more)
    assert more_paid.cost_fen >= 0 and more_paid.missing_months >= 0
    assert less_paid.missing_months >= more_paid.missing_months
    assert less_paid.cost_fen >= more_paid.cost_fen


@given(st.lists(st.tuples(st.integers(0, 47), st.integers(1, 3_000_000)), max_size=5), st.integers(0, 47))
def test_pieces_cover_the_same_months_each_on_the_base_then_in_force(changes, month_index):
    def month(index):
        return dt.date(2024 + index // 12, index % 12 + 1, 1)

    dated = {month(index): base for index, base in changes}  # one change per month
    enrolment = Enrolment(Scheme.FLEXIBLE_MEDICAL, dt.date(2024, 3, 15), base_fen=500000)
    pieces = with_base_changes(enrolment, dated.items())
    day = month(month_index)
    covering = [p for p in pieces if p.start.replace(day=1) <= day and (p.end is None or day <= p.end)]
    if day < enrolment.start.replace(day=1):
        assert covering == []
    else:
        assert len(covering) == 1
        assert covering[0].base_fen == base_on(500000, dated.items(), max(day, enrolment.start))
