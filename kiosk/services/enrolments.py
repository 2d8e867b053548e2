"""A person's enrolments as the domain prices them: each cut at its changes of chosen base."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.contributions import with_base_changes
from ..domain.premiums import Enrolment, Scheme
from ..models import BaseChange, Person


def base_changes_of(session: Session, person: Person) -> dict[int, list[tuple]]:
    """enrolment id -> [(effective month, base in fen)], in one read."""
    ids = [enrolment.id for enrolment in person.enrolments]
    changes: dict[int, list[tuple]] = defaultdict(list)
    if ids:
        for row in session.execute(select(BaseChange.enrolment_id, BaseChange.effective_month, BaseChange.base_fen)
                                   .where(BaseChange.enrolment_id.in_(ids))):
            changes[row.enrolment_id].append((row.effective_month, row.base_fen))
    return changes


def enrolments_of(session: Session, person: Person) -> list[Enrolment]:
    """The domain enrolments behind ``premiums.dues_for``: a month is priced on the base in force in it."""
    changes = base_changes_of(session, person)
    return [piece for row in person.enrolments
            for piece in with_base_changes(Enrolment(Scheme(row.scheme), row.start_date, row.end_date, row.base_fen, row.gap_years or 0),
                                           changes.get(row.id, ()))]
