"""What a person owes, from their enrolments and the region's rules (all amounts in fen).

A later issue grows this module into the full rule engine; it already takes rules as
data (never amounts in code), and returns one :class:`Due` per scheme and period.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from .money import apply_rate


class Period(str, Enum):
    YEAR = "year"
    MONTH = "month"
    EMPLOYER = "employer"  # withheld from wages: shown, never paid at a kiosk


class Scheme(str, Enum):
    RESIDENT_MEDICAL = "resident_medical"
    FLEXIBLE_MEDICAL = "flexible_medical"
    FLEXIBLE_PENSION = "flexible_pension"
    EMPLOYEE_MEDICAL = "employee_medical"

    @property
    def period(self) -> Period:
        return _PERIOD[self]

    @property
    def payable_at_kiosk(self) -> bool:
        return self.period is not Period.EMPLOYER


_PERIOD = {
    Scheme.RESIDENT_MEDICAL: Period.YEAR,
    Scheme.FLEXIBLE_MEDICAL: Period.MONTH,
    Scheme.FLEXIBLE_PENSION: Period.MONTH,
    Scheme.EMPLOYEE_MEDICAL: Period.EMPLOYER,
}


class Category(str, Enum):
    """Who gets a subsidy on the resident scheme (the percentage is the rule's)."""

    STANDARD = "standard"
    MINIMUM_LIVING = "minimum_living"  # 低保: at least 60 % by national policy
    EXTREME_POVERTY = "extreme_poverty"  # 特困: pays nothing


@dataclass(frozen=True)
class PremiumRule:
    scheme: Scheme
    valid_from: dt.date  # the rule applies to periods starting on or after this day
    valid_to: dt.date | None = None
    flat_fen: int = 0  # annual schemes: the individual share per person and year
    rate_per_10000: int = 0  # base-rated schemes: the rate on the chosen base
    base_floor_fen: int = 0
    base_cap_fen: int = 0
    late_fee_per_10000_per_day: int = 0  # 5 = 0.05 % a day (Social Insurance Law art. 86)
    rounding: str = "fen"
    window_opens_months_before: int = 4  # annual: payable from September of the year before
    window_closes_months_after: int = 0  # annual: months into the coverage year still payable
    max_arrears_months: int = 24  # monthly: how far back overdue months may be made up
    subsidy_percent: dict[str, int] = field(default_factory=dict)
    employer_rate_per_10000: int = 0  # employee medical: the employer's rate (``rate_per_10000`` is the individual's)
    supplementary_rate_per_10000: int = 0  # employee medical: the employer-only supplementary insurance
    minimum_years: int = 15  # pension: contribution years needed for a monthly pension

    def applies_to(self, period_start: dt.date) -> bool:
        return self.valid_from <= period_start and (self.valid_to is None or period_start <= self.valid_to)


@dataclass(frozen=True)
class Enrolment:
    scheme: Scheme
    start: dt.date
    end: dt.date | None = None
    base_fen: int | None = None  # flexible employment: the base the person chose


@dataclass(frozen=True)
class Due:
    """One payable item: a scheme for one period."""

    scheme: Scheme
    period_start: dt.date
    period_end: dt.date
    due_date: dt.date  # last day payable without a late fee
    principal_fen: int
    subsidy_fen: int
    late_fee_per_10000_per_day: int

    def late_fee_fen(self, today: dt.date) -> int:
        return late_fee(self.principal_fen - self.subsidy_fen, self.due_date, today, self.late_fee_per_10000_per_day)

    def total_fen(self, today: dt.date) -> int:
        return self.principal_fen - self.subsidy_fen + self.late_fee_fen(today)

    def is_arrears(self, today: dt.date) -> bool:
        return today > self.due_date

    @property
    def key(self) -> tuple[str, dt.date]:
        return (self.scheme.value, self.period_start)


def late_fee(owed_fen: int, due_date: dt.date, today: dt.date, per_10000_per_day: int) -> int:
    """Late fee from the day after the due date up to today, rounded half-up to the fen."""
    days = (today - due_date).days
    if days <= 0 or per_10000_per_day <= 0 or owed_fen <= 0:
        return 0
    return apply_rate(owed_fen * days, per_10000_per_day)


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _rule_for(rules: list[PremiumRule], scheme: Scheme, period_start: dt.date) -> PremiumRule | None:
    matching = [rule for rule in rules if rule.scheme is scheme and rule.applies_to(period_start)]
    return max(matching, key=lambda rule: rule.valid_from, default=None)


def _annual_dues(enrolment: Enrolment, rules: list[PremiumRule], category: Category, today: dt.date) -> list[Due]:
    dues = []
    for year in (today.year, today.year + 1):
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        rule = _rule_for(rules, enrolment.scheme, start)
        if rule is None or enrolment.start > end or (enrolment.end and enrolment.end < start):
            continue
        opens = _add_months(start, -rule.window_opens_months_before)
        closes = _month_end(_add_months(start, rule.window_closes_months_after - 1)) if rule.window_closes_months_after else start - dt.timedelta(days=1)
        if not opens <= today <= closes:
            continue
        subsidy = rule.flat_fen * rule.subsidy_percent.get(category.value, 0) // 100
        dues.append(Due(enrolment.scheme, start, end, closes, rule.flat_fen, subsidy, rule.late_fee_per_10000_per_day))
    return dues


def _monthly_dues(enrolment: Enrolment, rules: list[PremiumRule], today: dt.date) -> list[Due]:
    dues = []
    current = today.replace(day=1)
    for back in range(0, 240):
        start = _add_months(current, -back)
        if start < enrolment.start.replace(day=1):
            break
        rule = _rule_for(rules, enrolment.scheme, start)
        if rule is None or back > rule.max_arrears_months:
            continue
        if enrolment.end and enrolment.end < start:
            continue
        base = min(max(enrolment.base_fen or rule.base_floor_fen, rule.base_floor_fen), rule.base_cap_fen or 10**12)
        end = _month_end(start)
        dues.append(Due(enrolment.scheme, start, end, end, apply_rate(base, rule.rate_per_10000, rounding=rule.rounding), 0, rule.late_fee_per_10000_per_day))
    return sorted(dues, key=lambda due: due.period_start)


def dues_for(
    enrolments: list[Enrolment],
    rules: list[PremiumRule],
    category: Category,
    today: dt.date,
    paid: set[tuple[str, dt.date]] = frozenset(),
) -> list[Due]:
    """Every period the person may pay today and has not paid, oldest first."""
    dues: list[Due] = []
    for enrolment in enrolments:
        if enrolment.scheme.period is Period.YEAR:
            dues += _annual_dues(enrolment, rules, category, today)
        elif enrolment.scheme.period is Period.MONTH:
            dues += _monthly_dues(enrolment, rules, today)
    return sorted((due for due in dues if due.key not in paid), key=lambda due: (due.period_start, due.scheme.value))


@dataclass(frozen=True)
class EmployeeContribution:
    base_fen: int
    employer_fen: int
    supplementary_fen: int
    individual_fen: int


def employee_contribution(
    wage_fen: int,
    *,
    floor_fen: int,
    cap_fen: int,
    employer_per_10000: int,
    supplementary_per_10000: int,
    individual_per_10000: int,
    rounding: str = "yuan",
) -> EmployeeContribution:
    """Employee medical insurance on last month's wage, clamped to the base floor and cap (seed 001)."""
    base = min(max(wage_fen, floor_fen), cap_fen)
    return EmployeeContribution(
        base,
        apply_rate(base, employer_per_10000, rounding=rounding),
        apply_rate(base, supplementary_per_10000, rounding=rounding),
        apply_rate(base, individual_per_10000, rounding=rounding),
    )
