"""A person's cumulative contribution years per scheme, and what topping up the pension costs."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.contributions import SchemeYears, TopUp, pension_top_up, rule_in_force, scheme_years
from ..domain.premiums import Scheme
from ..models import Bill, ContributionHistory, PaymentOrderItem, Person
from .dues import pricing_region, rules_for

PENSION = Scheme.FLEXIBLE_PENSION


@dataclass(frozen=True)
class ContributionRecord:
    schemes: list[SchemeYears]
    top_up: TopUp | None  # only for a person with a pension


def contribution_record(session: Session, person: Person, today: dt.date, terminal_id: int | None = None) -> ContributionRecord:
    """Per scheme: the months before this system plus the periods paid through it (a settled
    monthly bill counts a month, an annual one twelve); for the pension, the top-up to its
    minimum years under the rule in force today."""
    prior = Counter({row.scheme: row.months for row in session.scalars(
        select(ContributionHistory).where(ContributionHistory.person_id == person.id))})
    paid = Counter(dict(session.execute(
        select(Bill.scheme, func.count(func.distinct(Bill.id))).join(PaymentOrderItem, PaymentOrderItem.bill_id == Bill.id)
        .where(Bill.person_id == person.id, PaymentOrderItem.settled.is_(True)).group_by(Bill.scheme)).all()))
    enrolled = [row.scheme for row in person.enrolments]
    codes = list(dict.fromkeys([*enrolled, *sorted(prior), *sorted(paid)]))
    schemes = [scheme_years(Scheme(code), prior[code], paid[code]) for code in codes]
    top_up = None
    pension = next((line for line in schemes if line.scheme is PENSION), None)
    if pension is not None:
        rule = rule_in_force(rules_for(session, pricing_region(session, person, terminal_id)), PENSION, today.replace(day=1))
        if rule is not None:
            top_up = pension_top_up(rule, pension.total_months)
    return ContributionRecord(schemes, top_up)
