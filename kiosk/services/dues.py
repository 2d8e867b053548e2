"""What a person may pay now: domain dues, frozen into bills, with their state."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.premiums import Category, Due, Enrolment, PremiumRule, Scheme, dues_for, late_fee
from ..models import Bill, PaymentOrder, PaymentOrderItem, Person, PremiumRuleRow
from .uow import UnitOfWork


@dataclass(frozen=True)
class DueLine:
    """A bill as the dues screen shows it (amounts already computed for ``today``)."""

    bill: Bill
    late_fee_fen: int
    held_elsewhere: bool  # another open order holds it right now, and may not be taken over

    @property
    def amount_fen(self) -> int:
        return self.bill.principal_fen - self.bill.subsidy_fen + self.late_fee_fen

    @property
    def payable(self) -> bool:
        return self.amount_fen > 0 and not self.held_elsewhere


@dataclass(frozen=True)
class PersonDues:
    """One person's group on the dues screen: the payer's first, then each family member's."""

    person: Person
    lines: list[DueLine]
    is_payer: bool

    @property
    def payable(self) -> list[DueLine]:
        return [line for line in self.lines if line.payable]

    @property
    def employer_only(self) -> list[Scheme]:
        """Schemes the person is insured under that only an employer pays (the reason nothing shows for them)."""
        return [scheme for scheme in schemes_of(self.person) if not scheme.payable_at_kiosk]


def all_lines(groups: list[PersonDues]) -> list[DueLine]:
    return [line for group in groups for line in group.lines]


def total_of(lines: list[DueLine], bill_ids) -> int:
    """What ticking ``bill_ids`` costs: payable lines only, each counted once."""
    chosen = set(bill_ids)
    return sum(line.amount_fen for line in lines if line.payable and line.bill.id in chosen)


def rules_for(session: Session, region_id: int) -> list[PremiumRule]:
    rows = session.scalars(select(PremiumRuleRow).where(PremiumRuleRow.region_id == region_id))
    return [
        PremiumRule(
            scheme=Scheme(row.scheme), valid_from=row.valid_from, valid_to=row.valid_to, flat_fen=row.flat_fen,
            rate_per_10000=row.rate_per_10000, base_floor_fen=row.base_floor_fen, base_cap_fen=row.base_cap_fen,
            late_fee_per_10000_per_day=row.late_fee_per_10000_per_day, rounding=row.rounding,
            window_opens_months_before=row.window_opens_months_before,
            window_closes_months_after=row.window_closes_months_after,
            max_arrears_months=row.max_arrears_months, subsidy_percent=dict(row.subsidy_percent or {}),
        )
        for row in rows
    ]


def schemes_of(person: Person) -> list[Scheme]:
    return list(dict.fromkeys(Scheme(enrolment.scheme) for enrolment in person.enrolments))


def bill_late_fee(bill: Bill, today: dt.date) -> int:
    return late_fee(bill.principal_fen - bill.subsidy_fen, bill.due_date, today, bill.late_fee_per_10000_per_day)


def _paid_periods(session: Session, person_id: int) -> set[tuple[str, dt.date]]:
    rows = session.execute(
        select(Bill.scheme, Bill.period_start).join(PaymentOrderItem, PaymentOrderItem.bill_id == Bill.id)
        .where(Bill.person_id == person_id, PaymentOrderItem.settled.is_(True))
    )
    return {(scheme, start) for scheme, start in rows}


def _bill_for(session: Session, person_id: int, due: Due, known_missing: bool = False) -> Bill:
    """The bill for ``due``, created on first sight; a racing terminal's insert wins harmlessly
    (inside a savepoint, so the caller's transaction goes on). ``known_missing``: this
    transaction has just looked and found none."""
    query = select(Bill).where(Bill.person_id == person_id, Bill.scheme == due.scheme.value, Bill.period_start == due.period_start)
    bill = None if known_missing else session.scalar(query)
    if bill is None:
        bill = Bill(person_id=person_id, scheme=due.scheme.value, period_start=due.period_start,
                    period_end=due.period_end, due_date=due.due_date, principal_fen=due.principal_fen,
                    subsidy_fen=due.subsidy_fen, late_fee_per_10000_per_day=due.late_fee_per_10000_per_day)
        try:
            with session.begin_nested():
                session.add(bill)
        except IntegrityError:
            bill = session.scalar(query)  # the racing terminal's
    return bill


def _bills_for(session: Session, person_id: int, dues: list[Due]) -> list[Bill]:
    """The bills for ``dues``, in their order: those frozen already in one read, the others
    created on first sight (``_bill_for``)."""
    if not dues:
        return []
    rows = session.scalars(select(Bill).where(
        Bill.person_id == person_id, Bill.scheme.in_({due.scheme.value for due in dues}),
        Bill.period_start.in_({due.period_start for due in dues})))
    found = {(bill.scheme, bill.period_start): bill for bill in rows}
    return [found.get((due.scheme.value, due.period_start)) or _bill_for(session, person_id, due, known_missing=True) for due in dues]


# may this order's bills be taken over (``checkout.take_over_rule``)? Without one, none may.
TakeOverRule = Callable[[Session, PaymentOrder], bool]


def due_lines(session: Session, person: Person, today: dt.date, may_take: TakeOverRule | None = None) -> list[DueLine]:
    """What ``person`` may pay on ``today``; bills seen for the first time are frozen (written).
    A bill held by an order that ``may_take`` allows to be taken over is shown payable."""
    enrolments = [Enrolment(Scheme(e.scheme), e.start_date, e.end_date, e.base_fen) for e in person.enrolments]
    dues = dues_for(enrolments, rules_for(session, person.region_id), Category(person.category), today,
                    _paid_periods(session, person.id))
    bills = _bills_for(session, person.id, dues)
    holders = {bill_id: order for bill_id, order in session.execute(
        select(PaymentOrderItem.bill_id, PaymentOrder).join(PaymentOrder, PaymentOrder.id == PaymentOrderItem.order_id)
        .where(PaymentOrderItem.bill_id.in_([b.id for b in bills]), PaymentOrderItem.live.is_(True))
    )}
    held = {bill_id for bill_id, order in holders.items() if may_take is None or not may_take(session, order)}
    return [DueLine(bill, bill_late_fee(bill, today), bill.id in held) for bill in bills]


def freeze_dues(uow: UnitOfWork, person_id: int, today: dt.date, may_take: TakeOverRule | None = None) -> list[DueLine]:
    """The use case behind the dues screen: the lines, their new bills committed."""
    return uow.run(lambda session: due_lines(session, session.get(Person, person_id), today, may_take))
