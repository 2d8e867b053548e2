"""Properties of the premium engine over generated rules, dates and bases (hypothesis)."""
import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.premiums import Category, Enrolment, PremiumRule, Scheme, dues_for, late_fee

MONTHLY = (Scheme.FLEXIBLE_MEDICAL, Scheme.FLEXIBLE_PENSION)
days = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31))
amounts = st.integers(min_value=0, max_value=10_000_000)
rates = st.integers(min_value=0, max_value=10_000)


@st.composite
def monthly_rules(draw, scheme=None, valid_from=dt.date(2020, 1, 1)):
    floor = draw(amounts)
    return PremiumRule(scheme or draw(st.sampled_from(MONTHLY)), valid_from, rate_per_10000=draw(rates),
                       base_floor_fen=floor, base_cap_fen=draw(st.integers(min_value=max(floor, 1), max_value=20_000_000)),
                       late_fee_per_10000_per_day=draw(st.integers(min_value=0, max_value=100)),
                       rounding=draw(st.sampled_from(("fen", "yuan"))), max_arrears_months=draw(st.integers(0, 36)))


@st.composite
def resident_rules(draw):
    subsidies = {"minimum_living": draw(st.integers(60, 100)), "standard": draw(st.integers(0, 100))}
    return PremiumRule(Scheme.RESIDENT_MEDICAL, dt.date(2020, 1, 1), flat_fen=draw(amounts), subsidy_percent=subsidies,
                       late_fee_per_10000_per_day=draw(st.integers(0, 100)),
                       window_closes=draw(st.sampled_from(("12-31", "08-31"))),
                       window_closes_year=draw(st.sampled_from((-1, 0))))


@settings(max_examples=200, deadline=None)
@given(monthly_rules(), resident_rules(), st.sampled_from(list(Category)), days, st.none() | amounts,
       st.integers(0, 3), st.integers(0, 400))
def test_no_amount_is_ever_negative(monthly, resident, category, today, base, gap, later):
    enrolments = [Enrolment(monthly.scheme, dt.date(2023, 6, 1), base_fen=base),
                  Enrolment(Scheme.RESIDENT_MEDICAL, dt.date(2022, 1, 1), gap_years=gap)]
    for due in dues_for(enrolments, [monthly, resident], category, today):
        when = today + dt.timedelta(days=later)
        assert due.principal_fen >= 0 and 0 <= due.subsidy_fen <= due.principal_fen
        assert due.late_fee_fen(when) >= 0 and due.total_fen(when) >= 0 and due.waiting_months >= 0


@settings(max_examples=200, deadline=None)
@given(monthly_rules(), st.none() | st.integers(min_value=0, max_value=50_000_000))
def test_the_base_is_always_clamped_to_floor_and_cap(rule, chosen):
    base = rule.base_fen(chosen)
    assert rule.base_floor_fen <= base <= rule.base_cap_fen
    if chosen is not None and rule.base_floor_fen <= chosen <= rule.base_cap_fen:
        assert base == chosen
    today = dt.date(2026, 11, 15)
    (due,) = dues_for([Enrolment(rule.scheme, dt.date(2026, 11, 1), base_fen=chosen)], [rule], Category.STANDARD, today)
    clamped = dataclasses.replace(rule, base_floor_fen=0, base_cap_fen=0)
    (same,) = dues_for([Enrolment(rule.scheme, dt.date(2026, 11, 1), base_fen=base)], [clamped], Category.STANDARD, today)
    assert due.principal_fen == same.principal_fen  # priced on the clamped base


@settings(max_examples=300, deadline=None)
@given(amounts, days, st.integers(0, 2000), st.integers(0, 2000), st.integers(0, 100))
def test_the_late_fee_never_decreases_with_more_days_late(owed, due_date, late, more, rate):
    first = due_date + dt.timedelta(days=late)
    assert late_fee(owed, due_date, first + dt.timedelta(days=more), rate) >= late_fee(owed, due_date, first, rate) >= 0


@settings(max_examples=200, deadline=None)
@given(monthly_rules(scheme=Scheme.FLEXIBLE_MEDICAL), monthly_rules(scheme=Scheme.FLEXIBLE_MEDICAL),
       st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 1)), st.none() | amounts)
def test_a_rule_change_never_reprices_a_period_outside_its_dates(old, new, change_day, base):
    """A new rule from ``change`` on (the old one ended the day before) prices no period before it."""
    change = change_day.replace(day=1)
    today = dt.date(2026, 12, 15)
    old = dataclasses.replace(old, max_arrears_months=60)
    new = dataclasses.replace(new, valid_from=change, max_arrears_months=60)
    ended = dataclasses.replace(old, valid_to=change - dt.timedelta(days=1))
    enrolment = [Enrolment(Scheme.FLEXIBLE_MEDICAL, dt.date(2023, 1, 1), base_fen=base)]
    before = {due.period_start: due for due in dues_for(enrolment, [old], Category.STANDARD, today)}
    after = {due.period_start: due for due in dues_for(enrolment, [ended, new], Category.STANDARD, today)}
    assert before.keys() == after.keys()
    for start, due in after.items():
        if start < change:
            assert due == before[start]  # untouched, down to the late fee


@settings(max_examples=100, deadline=None)
@given(resident_rules(), st.integers(0, 100_000), days)
def test_a_new_resident_rule_reprices_only_the_coverage_years_it_covers(rule, flat, today):
    newer = dataclasses.replace(rule, valid_from=dt.date(today.year + 1, 1, 1), flat_fen=flat)
    ended = dataclasses.replace(rule, valid_to=dt.date(today.year, 12, 31))
    enrolled = [Enrolment(Scheme.RESIDENT_MEDICAL, dt.date(2020, 1, 1))]
    before = {d.period_start.year: d for d in dues_for(enrolled, [rule], Category.STANDARD, today)}
    after = {d.period_start.year: d for d in dues_for(enrolled, [ended, newer], Category.STANDARD, today)}
    if today.year in before:
        assert after[today.year] == before[today.year]
    if today.year + 1 in after:
        assert after[today.year + 1].principal_fen == flat
