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
    ORPHAN = "orphan"  # 孤儿: pays nothing

    @property
    def pays_nothing(self) -> bool:
        return self in (Category.EXTREME_POVERTY, Category.ORPHAN)


# national policy, whatever a region's rule says: these categories' subsidy is at least this
MINIMUM_SUBSIDY_PERCENT = {Category.MINIMUM_LIVING: 60, Category.EXTREME_POVERTY: 100, Category.ORPHAN: 100}


@dataclass(frozen=True)
class PremiumRule:
    """One region's rule for one scheme over a date range; loaded from ``config/rules/*.json``
    (``domain.rulefile`` checks every field). Amounts in fen, rates per 10,000."""

    scheme: Scheme
    valid_from: dt.date  # the rule applies to periods starting on or after this day
    valid_to: dt.date | None = None  # ... and on or before this one (None: until a newer rule)
    flat_fen: int = 0  # annual schemes: the individual share per person and year
    rate_per_10000: int = 0  # base-rated schemes: the rate on the chosen base (employee medical: the individual's)
    base_floor_fen: int = 0
    base_cap_fen: int = 0
    late_fee_per_10000_per_day: int = 0  # 5 = 0.05 % a day (Social Insurance Law art. 86)
    rounding: str = "fen"  # "fen" or "yuan"
    # annual schemes: the payment window, as month-day and year relative to the coverage year
    # (-1: the year before). The default is 1 September to 31 December of the year before.
    window_opens: str = "09-01"
    window_opens_year: int = -1
    window_closes: str = "12-31"
    window_closes_year: int = -1
    max_arrears_months: int = 24  # monthly: how far back overdue months may be made up
    subsidy_percent: dict[str, int] = field(default_factory=dict)
    # late enrolment on an annual scheme: benefits wait this many months, plus the second
    # figure for each year of gap beyond the first
    waiting_months: int = 3
    waiting_months_per_gap_year: int = 1
    employer_rate_per_10000: int = 0  # employee medical: the employer's rate
    supplementary_rate_per_10000: int = 0  # employee medical: supplementary insurance, employer only
    minimum_years: int = 15  # pension: cumulative years needed at retirement
    rule_id: int | None = None  # the stored rule row (its version) this came from, for the bill

    def applies_to(self, period_start: dt.date) -> bool:
        return self.valid_from <= period_start and (self.valid_to is None or period_start <= self.valid_to)

    def window(self, coverage_year: int) -> tuple[dt.date, dt.date]:
        """First and last day on which ``coverage_year`` may be paid."""
        return (_month_day(self.window_opens, coverage_year + self.window_opens_year),
                _month_day(self.window_closes, coverage_year + self.window_closes_year))

    def subsidy_fen(self, category: Category, amount_fen: int) -> int:
        """The government's share of ``amount_fen`` for ``category``, never below the national minimum."""
        percent = max(self.subsidy_percent.get(category.value, 0), MINIMUM_SUBSIDY_PERCENT.get(category, 0))
        return amount_fen * min(percent, 100) // 100

    def base_fen(self, chosen_fen: int | None) -> int:
        """The contribution base: the chosen one (or the floor) clamped to [floor, cap]."""
        base = max(chosen_fen if chosen_fen is not None else self.base_floor_fen, self.base_floor_fen)
        return min(base, self.base_cap_fen) if self.base_cap_fen else base


def _month_day(month_day: str, year: int) -> dt.date:
    month, day = month_day.split("-")
    return dt.date(year, int(month), int(day))


def waiting_period_months(gap_years: int, rule: PremiumRule | None = None) -> int:
    """Months before benefits start after a late enrolment: none without a gap; otherwise 3 months
    (the rule's), plus 1 (the rule's) for each year of gap beyond the first."""
    if gap_years <= 0:
        return 0
    base, per_year = (rule.waiting_months, rule.waiting_months_per_gap_year) if rule else (3, 1)
    return base + per_year * (gap_years - 1)


@dataclass(frozen=True)
class Enrolment:
    scheme: Scheme
    start: dt.date
    end: dt.date | None = None
    base_fen: int | None = None  # flexible employment: the base the person chose
    gap_years: int = 0  # annual schemes: whole years uninsured before this enrolment (late enrolment)


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
    rule_id: int | None = None  # the rule (version) that priced it
    waiting_months: int = 0  # late enrolment: benefits start this many months after payment

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


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (or earlier), the month's last day where it has no such day."""
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
        opens, closes = rule.window(year)
        late = enrolment.gap_years > 0 and enrolment.start.year == year
        if opens <= today <= closes:
            due_date = closes
        elif late and enrolment.start <= today <= end:
            due_date = end  # a late enrolment pays when it enrols, and waits (``waiting_period_months``)
        else:
            continue
        waiting = waiting_period_months(enrolment.gap_years, rule) if late else 0
        dues.append(Due(enrolment.scheme, start, end, due_date, rule.flat_fen, rule.subsidy_fen(category, rule.flat_fen),
                        rule.late_fee_per_10000_per_day, rule.rule_id, waiting))
    return dues


def next_window(enrolments: list[Enrolment], rules: list[PremiumRule], today: dt.date) -> tuple[Scheme, int, dt.date, dt.date] | None:
    """When an annual scheme the person is enrolled in can next be paid, if its window is shut
    today: (scheme, coverage year, first day, last day). None when a window is open (or no rule)."""
    for enrolment in enrolments:
        if enrolment.scheme.period is not Period.YEAR or (enrolment.end and enrolment.end < today):
            continue
        upcoming = []
        for year in range(today.year, today.year + 3):
            rule = _rule_for(rules, enrolment.scheme, dt.date(year, 1, 1))
            if rule is None:
                continue
            opens, closes = rule.window(year)
            if opens <= today <= closes:
                return None
            if today < opens:
                upcoming.append((opens, closes, year))
        if upcoming:
            opens, closes, year = min(upcoming)
            return enrolment.scheme, year, opens, closes
    return None


def _monthly_dues(enrolment: Enrolment, rules: list[PremiumRule], today: dt.date) -> list[Due]:
    dues = []
    current = today.replace(day=1)
    for back in range(0, 240):
        start = add_months(current, -back)
        if start < enrolment.start.replace(day=1):
            break
        rule = _rule_for(rules, enrolment.scheme, start)
        if rule is None or back > rule.max_arrears_months:
            continue
        if enrolment.end and enrolment.end < start:
            continue
        end = _month_end(start)
        principal = apply_rate(rule.base_fen(enrolment.base_fen), rule.rate_per_10000, rounding=rule.rounding)
        dues.append(Due(enrolment.scheme, start, end, end, principal, 0, rule.late_fee_per_10000_per_day, rule.rule_id))
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


def employee_contribution_under(wage_fen: int, rule: PremiumRule) -> EmployeeContribution:
    """``employee_contribution`` with the rates, floor, cap and rounding of an ``employee_medical`` rule."""
    return employee_contribution(wage_fen, floor_fen=rule.base_floor_fen, cap_fen=rule.base_cap_fen or max(wage_fen, rule.base_floor_fen),
                                 employer_per_10000=rule.employer_rate_per_10000,
                                 supplementary_per_10000=rule.supplementary_rate_per_10000,
                                 individual_per_10000=rule.rate_per_10000, rounding=rule.rounding)
