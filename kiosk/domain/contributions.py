"""Contribution amounts for one month, chosen bases, contribution years and the pension top-up.

Everything here is pure arithmetic on rules as data (``premiums.PremiumRule``); amounts are
integer fen, never negative. The calculator screen, the change of the chosen base and the
person screen's contribution years all come from these functions.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum

from .money import apply_rate
from .premiums import Category, Enrolment, Period, PremiumRule, Scheme

FLEXIBLE = (Scheme.FLEXIBLE_MEDICAL, Scheme.FLEXIBLE_PENSION)
# what anyone could type as a monthly base or wage: one million yuan; more is a typing error
MAX_INPUT_FEN = 100_000_000
_YUAN_INPUT = re.compile(r"([0-9]{1,9})(?:\.([0-9]{0,2}))?", re.ASCII)


class AmountProblem(str, Enum):
    EMPTY = "empty"
    FORMAT = "format"
    TOO_LARGE = "too_large"


class InvalidAmount(ValueError):
    def __init__(self, problem: AmountProblem):
        super().__init__(problem.value)
        self.problem = problem


def parse_yuan_input(text: str | None) -> int:
    """What a citizen typed on the keypad, in yuan ("5000", "5000.5", "5000.50"), as fen.

    Anything else (letters, a sign, three decimals, more than ``MAX_INPUT_FEN``) raises
    :class:`InvalidAmount` with the problem to explain."""
    text = (text or "").strip().replace(",", "")
    if not text:
        raise InvalidAmount(AmountProblem.EMPTY)
    match = _YUAN_INPUT.fullmatch(text)
    if match is None:
        raise InvalidAmount(AmountProblem.FORMAT)
    fen = int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))
    if fen > MAX_INPUT_FEN:
        raise InvalidAmount(AmountProblem.TOO_LARGE)
    return fen


def rule_in_force(rules: Iterable[PremiumRule], scheme: Scheme, day: dt.date) -> PremiumRule | None:
    """The rule of ``scheme`` for a period starting on ``day``: the newest that applies."""
    matching = [rule for rule in rules if rule.scheme is scheme and rule.applies_to(day)]
    return max(matching, key=lambda rule: rule.valid_from, default=None)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after ``day``'s: where a change of base takes effect."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=last) + dt.timedelta(days=1)


class Clamp(str, Enum):
    NONE = "none"
    FLOOR = "floor"  # raised to the floor
    CAP = "cap"  # lowered to the cap


@dataclass(frozen=True)
class Base:
    requested_fen: int
    base_fen: int
    clamp: Clamp


def clamp_base(requested_fen: int, floor_fen: int, cap_fen: int) -> Base:
    """The base used for ``requested_fen``: never below the floor, never above the cap (a cap
    of 0 is no cap; a floor above the cap is a broken rule and the cap wins)."""
    requested_fen = max(0, requested_fen)
    floor_fen = max(0, floor_fen)
    if requested_fen < floor_fen:
        base, clamp = floor_fen, Clamp.FLOOR
    else:
        base, clamp = requested_fen, Clamp.NONE
    if cap_fen > 0 and base > cap_fen:
        base, clamp = cap_fen, Clamp.CAP
    return Base(requested_fen, base, clamp)


@dataclass(frozen=True)
class FlexibleQuote:
    """One month of a flexible-employment scheme on a chosen base."""

    scheme: Scheme
    base: Base
    floor_fen: int
    cap_fen: int
    rate_per_10000: int
    monthly_fen: int


def flexible_quote(rule: PremiumRule, requested_fen: int) -> FlexibleQuote:
    """rate x base, the base clamped to the rule's floor and cap, rounded as the rule says."""
    base = clamp_base(requested_fen, rule.base_floor_fen, rule.base_cap_fen)
    rate = max(0, rule.rate_per_10000)
    return FlexibleQuote(rule.scheme, base, rule.base_floor_fen, rule.base_cap_fen, rate,
                         apply_rate(base.base_fen, rate, rounding=rule.rounding))


@dataclass(frozen=True)
class EmployeeQuote:
    """One month of employee medical insurance on a wage: what the employer and the employee pay."""

    base: Base
    floor_fen: int
    cap_fen: int
    employer_rate_per_10000: int
    supplementary_rate_per_10000: int
    individual_rate_per_10000: int
    employer_fen: int
    supplementary_fen: int
    individual_fen: int

    @property
    def employer_total_fen(self) -> int:
        return self.employer_fen + self.supplementary_fen

    @property
    def total_fen(self) -> int:
        return self.employer_fen + self.supplementary_fen + self.individual_fen


def employee_quote(rule: PremiumRule, wage_fen: int) -> EmployeeQuote:
    """Employee medical insurance on last month's wage: the wage clamped to floor and cap is the
    base; the employer pays its rate and the supplementary insurance, the employee the
    individual rate (``rule.rate_per_10000``); each part rounded as the rule says."""
    base = clamp_base(wage_fen, rule.base_floor_fen, rule.base_cap_fen)
    employer, supplementary, individual = (max(0, rule.employer_rate_per_10000), max(0, rule.supplementary_rate_per_10000),
                                           max(0, rule.rate_per_10000))
    part = lambda rate: apply_rate(base.base_fen, rate, rounding=rule.rounding)  # noqa: E731
    return EmployeeQuote(base, rule.base_floor_fen, rule.base_cap_fen, employer, supplementary, individual,
                         part(employer), part(supplementary), part(individual))


@dataclass(frozen=True)
class ResidentQuote:
    """Resident medical insurance: a flat amount a year, less a subsidy for some people."""

    annual_fen: int
    # (category, subsidy, what the person pays), for each category the rule subsidises
    subsidies: tuple[tuple[Category, int, int], ...]


def resident_quote(rule: PremiumRule) -> ResidentQuote:
    """The year's amount and, for each category with a subsidy, what the government and the person
    pay: as the person's bill will (``PremiumRule.subsidy_fen``: never below the national minimum,
    whether or not the rule names the category)."""
    annual = max(0, rule.flat_fen)
    subsidies = []
    for category in Category:
        subsidy = rule.subsidy_fen(category, annual)
        if subsidy:
            subsidies.append((category, subsidy, annual - subsidy))
    return ResidentQuote(annual, tuple(subsidies))


class BaseProblem(str, Enum):
    OUT_OF_RANGE = "out_of_range"
    NO_RULE = "no_rule"


def check_new_base(rule: PremiumRule | None, base_fen: int) -> BaseProblem | None:
    """A base a person chooses must lie within the rule's floor and cap (inclusive): it is not
    clamped, it is refused, so that what is saved is what the person typed."""
    if rule is None:
        return BaseProblem.NO_RULE
    if base_fen < rule.base_floor_fen or (rule.base_cap_fen > 0 and base_fen > rule.base_cap_fen) or base_fen <= 0:
        return BaseProblem.OUT_OF_RANGE
    return None


def base_on(original_fen: int | None, changes: Iterable[tuple[dt.date, int]], period_start: dt.date) -> int | None:
    """The chosen base for the period starting on ``period_start``: the latest change in effect
    by then, else the base chosen at enrolment."""
    base = original_fen
    for month, base_fen in sorted(changes):
        if month <= period_start:
            base = base_fen
    return base


def with_base_changes(enrolment: Enrolment, changes: Iterable[tuple[dt.date, int]]) -> list[Enrolment]:
    """The enrolment cut into pieces at each change of base (``(effective month, base)``), each
    piece with the base in force over it, so that ``premiums.dues_for`` prices each month on
    the base of that month. A change never reaches back: periods before its month keep the
    base they had (and a frozen bill is never priced again anyway)."""
    pieces = []
    start, base = enrolment.start, enrolment.base_fen
    for month, base_fen in sorted(changes):
        if month <= start:
            base = base_fen
            continue
        if enrolment.end is not None and month > enrolment.end:
            break
        pieces.append(replace(enrolment, start=start, end=month - dt.timedelta(days=1), base_fen=base))
        start, base = month, base_fen
    pieces.append(replace(enrolment, start=start, base_fen=base))
    return pieces


def months_of(scheme: Scheme) -> int:
    """Contribution months one paid period of ``scheme`` counts for: a month, or a year."""
    return {Period.MONTH: 1, Period.YEAR: 12}.get(scheme.period, 0)


@dataclass(frozen=True)
class SchemeYears:
    """Cumulative contribution of one scheme: before this system, and paid through it."""

    scheme: Scheme
    prior_months: int
    paid_here_months: int

    @property
    def total_months(self) -> int:
        return self.prior_months + self.paid_here_months

    @property
    def years(self) -> int:
        return self.total_months // 12

    @property
    def months(self) -> int:
        """Months beyond the whole years."""
        return self.total_months % 12


def scheme_years(scheme: Scheme, prior_months: int, paid_periods: int) -> SchemeYears:
    return SchemeYears(scheme, max(0, prior_months), max(0, paid_periods) * months_of(scheme))


@dataclass(frozen=True)
class TopUp:
    """What the pension still needs to reach its minimum years, and what making them up costs."""

    minimum_years: int
    missing_months: int
    monthly_fen: int  # one month at the floor base
    cost_fen: int

    @property
    def missing_years(self) -> int:
        return self.missing_months // 12

    @property
    def missing_extra_months(self) -> int:
        return self.missing_months % 12


def pension_top_up(rule: PremiumRule, months_so_far: int) -> TopUp:
    """Top-up under the rule in force: the months missing to ``rule.minimum_years`` years,
    each at the rule's rate on its floor base:

        cost = max(0, minimum_years x 12 - months so far) x round(rate x floor)

    (the month's amount rounded as the rule says, then multiplied: each month is a period
    paid on its own)."""
    missing = max(0, max(0, rule.minimum_years) * 12 - max(0, months_so_far))
    monthly = flexible_quote(rule, rule.base_floor_fen).monthly_fen
    return TopUp(rule.minimum_years, missing, monthly, missing * monthly)
