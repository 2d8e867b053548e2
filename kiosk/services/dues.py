"""What a person may pay now: domain dues, frozen into bills, with their state."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.premiums import Category, Due, PremiumRule, Scheme, dues_for, late_fee, next_window
from ..models import Bill, PaymentOrder, PaymentOrderItem, Person, PremiumRuleRow, Terminal
from .enrolments import enrolments_of
from .rules import rule_of_row
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
class WindowNotice:
    """An annual scheme the person is enrolled in whose payment window is shut today."""

    scheme: Scheme
    coverage_year: int
    opens: dt.date
    closes: dt.date


@dataclass(frozen=True)
class PersonDues:
    """One person's group on the dues screen: the payer's first, then each family member's."""

    person: Person
    lines: list[DueLine]
    is_payer: bool
    window: WindowNotice | None = None  # an annual scheme of theirs whose payment window is shut today

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
    """The region's rules in force (active rows), each naming its row for the bills it prices."""
    rows = session.scalars(select(PremiumRuleRow).where(PremiumRuleRow.region_id == region_id,
                                                        PremiumRuleRow.active.is_(True)))
    return [rule_of_row(row) for row in rows]


def pricing_region(session: Session, person: Person, terminal_id: int | None) -> int:
    """Whose rules price the dues: the terminal's region; the person's where the terminal has none
    (a terminal registered before regions, or a use case with no terminal)."""
    if terminal_id is not None:
        region_id = session.scalar(select(Terminal.region_id).where(Terminal.id == terminal_id))
        if region_id is not None:
            return region_id
    return person.region_id


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
                    subsidy_fen=due.subsidy_fen, late_fee_per_10000_per_day=due.late_fee_per_10000_per_day,
                    rule_id=due.rule_id, waiting_months=due.waiting_months)
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


def due_lines(session: Session, person: Person, today: dt.date, may_take: TakeOverRule | None = None,
              terminal_id: int | None = None) -> list[DueLine]:
    """What ``person`` may pay on ``today`` at the terminal ``terminal_id`` (its region's rules,
    ``pricing_region``); bills seen for the first time are frozen (written), naming the rule that
    priced them. A bill held by an order that ``may_take`` allows to be taken over is shown payable."""
    return person_dues(session, person, today, may_take, terminal_id).lines


def person_dues(session: Session, person: Person, today: dt.date, may_take: TakeOverRule | None = None,
                terminal_id: int | None = None, is_payer: bool = True) -> PersonDues:
    """``due_lines`` as one person's group, with when their shut payment window opens, from the
    same read of their enrolments and the region's rules."""
    enrolments = enrolments_of(session, person)
    rules = rules_for(session, pricing_region(session, person, terminal_id))
    dues = dues_for(enrolments, rules, Category(person.category), today, _paid_periods(session, person.id))
    bills = _bills_for(session, person.id, dues)
    holders = {bill_id: order for bill_id, order in session.execute(
        select(PaymentOrderItem.bill_id, PaymentOrder).join(PaymentOrder, PaymentOrder.id == PaymentOrderItem.order_id)
        .where(PaymentOrderItem.bill_id.in_([b.id for b in bills]), PaymentOrderItem.live.is_(True))
    )}
    held = {bill_id for bill_id, order in holders.items() if may_take is None or not may_take(session, order)}
    found = next_window(enrolments, rules, today)
    return PersonDues(person, [DueLine(bill, bill_late_fee(bill, today), bill.id in held) for bill in bills], is_payer,
                      WindowNotice(*found) if found else None)


def freeze_dues(uow: UnitOfWork, person_id: int, today: dt.date, may_take: TakeOverRule | None = None,
                terminal_id: int | None = None) -> list[DueLine]:
    """The use case behind the dues screen: the lines, their new bills committed."""
    return uow.run(lambda session: due_lines(session, session.get(Person, person_id), today, may_take, terminal_id))
