"""The contribution calculator: a scheme and an amount in, the month's amount and its parts out.
No person, nothing written: the rules of the terminal's region, in force today."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.contributions import (EmployeeQuote, FlexibleQuote, ResidentQuote, employee_quote, flexible_quote,
                                    parse_yuan_input, resident_quote, rule_in_force)
from ..domain.premiums import Scheme
from ..models import Region, Terminal
from .dues import rules_for

# the schemes the calculator offers, in the order it shows them
SCHEMES = (Scheme.FLEXIBLE_MEDICAL, Scheme.FLEXIBLE_PENSION, Scheme.EMPLOYEE_MEDICAL, Scheme.RESIDENT_MEDICAL)


class NoRule(Exception):
    """This region has no rule in force for the scheme."""


def region_id_for_terminal(session: Session, terminal_code: str, region_code: str | None = None) -> int | None:
    """The region whose rules this terminal shows: the terminal's setting (KIOSK_TERMINAL_REGION,
    ``region_code``), else the region the terminal was registered in, else the only (first) region."""
    if region_code:
        region_id = session.scalar(select(Region.id).where(Region.code == region_code))
        if region_id is not None:
            return region_id
    region_id = session.scalar(select(Terminal.region_id).where(Terminal.code == terminal_code))
    if region_id is not None:
        return region_id
    return session.scalar(select(Region.id).order_by(Region.id).limit(1))


def quote(session: Session, terminal_code: str, region_code: str | None, scheme: Scheme, amount_text: str | None,
          today: dt.date) -> FlexibleQuote | EmployeeQuote | ResidentQuote:
    """The month's amount for ``scheme`` on the base (or wage) typed, under today's rule.
    Raises ``domain.contributions.InvalidAmount`` for what cannot be an amount, NoRule without a rule."""
    region_id = region_id_for_terminal(session, terminal_code, region_code)
    rule = rule_in_force(rules_for(session, region_id), scheme, today) if region_id is not None else None
    if rule is None:
        raise NoRule(scheme.value)
    if scheme is Scheme.RESIDENT_MEDICAL:
        return resident_quote(rule)
    amount = parse_yuan_input(amount_text)
    return employee_quote(rule, amount) if scheme is Scheme.EMPLOYEE_MEDICAL else flexible_quote(rule, amount)
