"""Dues from rules as data: annual windows, subsidies, monthly arrears with late fees."""
import datetime as dt

from kiosk.domain.premiums import Category, Enrolment, PremiumRule, Scheme, dues_for, employee_contribution, late_fee

RESIDENT = PremiumRule(Scheme.RESIDENT_MEDICAL, dt.date(2024, 1, 1), flat_fen=40000,
                       subsidy_percent={"minimum_living": 70, "extreme_poverty": 100})
FLEX = PremiumRule(Scheme.FLEXIBLE_MEDICAL, dt.date(2024, 1, 1), rate_per_10000=900, base_floor_fen=400000,
                   base_cap_fen=2000000, late_fee_per_10000_per_day=5, max_arrears_months=24)
PENSION = PremiumRule(Scheme.FLEXIBLE_PENSION, dt.date(2024, 1, 1), rate_per_10000=2000, base_floor_fen=400000,
                      base_cap_fen=2000000, late_fee_per_10000_per_day=5)
RULES = [RESIDENT, FLEX, PENSION]
TODAY = dt.date(2026, 11, 22)


def test_resident_pays_next_year_in_the_september_to_december_window():
    enrolment = [Enrolment(Scheme.RESIDENT_MEDICAL, dt.date(2020, 1, 1))]
    (due,) = dues_for(enrolment, RULES, Category.STANDARD, TODAY)
    assert (due.period_start, due.period_end) == (dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    assert due.total_fen(TODAY) == 40000
    assert dues_for(enrolment, RULES, Category.STANDARD, dt.date(2026, 8, 31)) == []  # window not open yet
    assert dues_for(enrolment, RULES, Category.STANDARD, dt.date(2027, 1, 1)) == []  # window closed


def test_a_window_that_stays_open_into_the_year_still_offers_that_year():
    longer = PremiumRule(Scheme.RESIDENT_MEDICAL, dt.date(2024, 1, 1), flat_fen=40000, window_closes="08-31",
                         window_closes_year=0)
    enrolment = [Enrolment(Scheme.RESIDENT_MEDICAL, dt.date(2020, 1, 1))]
    (due,) = dues_for(enrolment, [longer], Category.STANDARD, dt.date(2027, 8, 31))
    assert due.period_start == dt.date(2027, 1, 1)
    assert dues_for(enrolment, [longer], Category.STANDARD, dt.date(2027, 9, 1))[0].period_start == dt.date(2028, 1, 1)


def test_subsidies_come_from_the_rule_by_category():
    enrolment = [Enrolment(Scheme.RESIDENT_MEDICAL, dt.date(2020, 1, 1))]
    (low,) = dues_for(enrolment, RULES, Category.MINIMUM_LIVING, TODAY)
    assert (low.subsidy_fen, low.total_fen(TODAY)) == (28000, 12000)
    (poor,) = dues_for(enrolment, RULES, Category.EXTREME_POVERTY, TODAY)
    assert poor.total_fen(TODAY) == 0


def test_flexible_employment_owes_each_month_since_enrolment_with_late_fees_on_overdue_ones():
    enrolment = [Enrolment(Scheme.FLEXIBLE_MEDICAL, dt.date(2026, 9, 1), base_fen=500000)]
    dues = dues_for(enrolment, RULES, Category.STANDARD, TODAY)
    assert [d.period_start for d in dues] == [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)]
    assert all(d.principal_fen == 45000 for d in dues)  # 9 % of 5,000 yuan
    september, october, november = dues
    assert september.is_arrears(TODAY) and not november.is_arrears(TODAY)
    assert september.late_fee_fen(TODAY) == late_fee(45000, dt.date(2026, 9, 30), TODAY, 5) == 1193  # 53 days x 22.5 fen
    assert october.late_fee_fen(TODAY) == 495  # 22 days
    assert november.late_fee_fen(TODAY) == 0


def test_the_chosen_base_is_clamped_to_floor_and_cap():
    low = dues_for([Enrolment(Scheme.FLEXIBLE_PENSION, dt.date(2026, 11, 1), base_fen=100000)], RULES, Category.STANDARD, TODAY)
    high = dues_for([Enrolment(Scheme.FLEXIBLE_PENSION, dt.date(2026, 11, 1), base_fen=9000000)], RULES, Category.STANDARD, TODAY)
    assert low[0].principal_fen == 80000  # 20 % of the 4,000 floor
    assert high[0].principal_fen == 400000  # 20 % of the 20,000 cap


def test_arrears_older_than_the_rule_allows_are_not_offered():
    short = PremiumRule(Scheme.FLEXIBLE_MEDICAL, dt.date(2020, 1, 1), rate_per_10000=900, base_floor_fen=400000,
                        base_cap_fen=2000000, max_arrears_months=3)
    dues = dues_for([Enrolment(Scheme.FLEXIBLE_MEDICAL, dt.date(2024, 1, 1))], [short], Category.STANDARD, TODAY)
    assert [d.period_start.month for d in dues] == [8, 9, 10, 11]


def test_paid_periods_and_ended_enrolments_owe_nothing():
    enrolment = [Enrolment(Scheme.FLEXIBLE_MEDICAL, dt.date(2026, 10, 1), base_fen=500000)]
    paid = {("flexible_medical", dt.date(2026, 10, 1))}
    assert [d.period_start for d in dues_for(enrolment, RULES, Category.STANDARD, TODAY, paid)] == [dt.date(2026, 11, 1)]
    ended = [Enrolment(Scheme.FLEXIBLE_MEDICAL, dt.date(2026, 9, 1), end=dt.date(2026, 9, 30), base_fen=500000)]
    assert [d.period_start for d in dues_for(ended, RULES, Category.STANDARD, TODAY)] == [dt.date(2026, 9, 1)]


def test_employer_paid_schemes_are_never_due_at_a_kiosk():
    assert dues_for([Enrolment(Scheme.EMPLOYEE_MEDICAL, dt.date(2020, 1, 1))], RULES, Category.STANDARD, TODAY) == []
    assert not Scheme.EMPLOYEE_MEDICAL.payable_at_kiosk


def test_a_newer_rule_replaces_the_older_one_for_later_periods():
    newer = PremiumRule(Scheme.RESIDENT_MEDICAL, dt.date(2027, 1, 1), flat_fen=42000)
    (due,) = dues_for([Enrolment(Scheme.RESIDENT_MEDICAL, dt.date(2020, 1, 1))], [RESIDENT, newer], Category.STANDARD, TODAY)
    assert due.principal_fen == 42000


def test_employee_medical_matches_the_seed_examples():
    rates = dict(floor_fen=229900, cap_fen=3000000, employer_per_10000=700, supplementary_per_10000=120, individual_per_10000=200)
    wage_3000 = employee_contribution(300000, **rates)
    assert (wage_3000.employer_fen, wage_3000.supplementary_fen, wage_3000.individual_fen) == (21000, 3600, 6000)
    wage_2000 = employee_contribution(200000, **rates)
    assert wage_2000.base_fen == 229900
    assert (wage_2000.employer_fen, wage_2000.individual_fen) == (16100, 4600)
