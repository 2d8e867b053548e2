"""Changing the chosen contribution base of a person's flexible-employment enrolments at a terminal.

A change takes effect from the month after the one it is made in: bills already frozen keep
their amounts, and the months still to come are priced on the new base (``enrolments.enrolments_of``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.contributions import (FLEXIBLE, BaseProblem, FlexibleQuote, base_on, check_new_base, flexible_quote, month_start,
                                    next_month, rule_in_force)
from ..domain.premiums import PremiumRule, Scheme
from ..models import BaseChange, Person
from .dues import pricing_region, rules_for
from .enrolments import base_changes_of
from .uow import UnitOfWork


class BaseChangeError(Exception):
    """Why a change of base was refused; nothing was changed."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # nothing_selected | not_yours | out_of_range | no_rule


@dataclass(frozen=True)
class BaseLine:
    """One flexible-employment enrolment on the change-of-base screen."""

    enrolment_id: int
    scheme: Scheme
    effective_month: dt.date  # where a change made today takes effect
    floor_fen: int
    cap_fen: int
    current: FlexibleQuote  # this month's base and amount
    upcoming: FlexibleQuote | None  # a change saved already for a later month, if any
    upcoming_month: dt.date | None
    preview: FlexibleQuote | None = None  # the amount on the base being considered


def _rule(rules: list[PremiumRule], scheme: Scheme, month: dt.date) -> PremiumRule | None:
    return rule_in_force(rules, scheme, month)


def base_lines(session: Session, person: Person, today: dt.date, new_base_fen: int | None = None,
               terminal_id: int | None = None) -> list[BaseLine]:
    """The person's open flexible-employment enrolments: floor, cap, base and monthly amount now,
    any change saved already, and (with ``new_base_fen``) the amount on a new base."""
    rules = rules_for(session, pricing_region(session, person, terminal_id))
    changes = base_changes_of(session, person)
    this_month, effective = month_start(today), next_month(today)
    lines = []
    for row in person.enrolments:
        scheme = Scheme(row.scheme)
        if scheme not in FLEXIBLE or (row.end_date is not None and row.end_date < effective):
            continue
        now_rule, next_rule = _rule(rules, scheme, this_month), _rule(rules, scheme, effective)
        if now_rule is None or next_rule is None:
            continue
        own = changes.get(row.id, [])
        current = flexible_quote(now_rule, base_on(row.base_fen, own, this_month) or 0)
        later = sorted(change for change in own if change[0] > this_month)
        upcoming_month = later[-1][0] if later else None
        upcoming = flexible_quote(_rule(rules, scheme, upcoming_month) or next_rule, later[-1][1]) if later else None
        preview = flexible_quote(next_rule, new_base_fen) if new_base_fen is not None else None
        lines.append(BaseLine(row.id, scheme, effective, next_rule.base_floor_fen, next_rule.base_cap_fen, current,
                              upcoming, upcoming_month, preview))
    return lines


def check_change(session: Session, person: Person, enrolment_ids: list[int], base_fen: int, today: dt.date,
                 terminal_id: int | None = None) -> list[BaseLine]:
    """The lines a change of ``enrolment_ids`` to ``base_fen`` would touch, or BaseChangeError:
    an id that is not one of this person's open flexible enrolments is refused outright."""
    if not enrolment_ids:
        raise BaseChangeError("nothing_selected")
    lines = {line.enrolment_id: line for line in base_lines(session, person, today, base_fen, terminal_id)}
    if any(enrolment_id not in lines for enrolment_id in enrolment_ids):
        raise BaseChangeError("not_yours")
    rules = rules_for(session, pricing_region(session, person, terminal_id))
    chosen = [lines[enrolment_id] for enrolment_id in dict.fromkeys(enrolment_ids)]
    for line in chosen:
        problem = check_new_base(_rule(rules, line.scheme, line.effective_month), base_fen)
        if problem is not None:
            raise BaseChangeError("out_of_range" if problem is BaseProblem.OUT_OF_RANGE else "no_rule")
    return chosen


def change_base(uow: UnitOfWork, person_id: int, enrolment_ids: list[int], base_fen: int, today: dt.date,
                terminal_id: int | None = None) -> dt.date:
    """The use case behind Confirm: the new base for each chosen enrolment, from next month
    (a change saved already for that month is replaced). Returns the month it applies from."""

    def work(session: Session) -> dt.date:
        person = session.get(Person, person_id)
        chosen = check_change(session, person, enrolment_ids, base_fen, today, terminal_id)
        effective = next_month(today)
        for line in chosen:
            existing = session.scalar(select(BaseChange).where(BaseChange.enrolment_id == line.enrolment_id,
                                                               BaseChange.effective_month == effective))
            if existing is None:
                session.add(BaseChange(enrolment_id=line.enrolment_id, effective_month=effective, base_fen=base_fen,
                                       terminal_id=terminal_id))
            else:
                existing.base_fen, existing.terminal_id = base_fen, terminal_id
        return effective

    return uow.run(work)
