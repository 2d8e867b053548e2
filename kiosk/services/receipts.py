"""Receipts: printed once on arrival, again only when someone asks."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from ..models import PaymentOrder, PaymentOrderItem, Person, Receipt
from .uow import UnitOfWork


@dataclass(frozen=True)
class ReceiptGroup:
    """One insured person's items on a receipt, under their masked name and ID."""

    person: Person
    is_payer: bool
    items: list[PaymentOrderItem]

    @property
    def paid_fen(self) -> int:
        return sum(item.amount_fen for item in self.items)


def receipt_groups(order: PaymentOrder) -> list[ReceiptGroup]:
    """The order's settled items by insured person: the payer's first (when they had items),
    then the others in the order their items were added (the dues screen's order)."""
    by_person: dict[int, list[PaymentOrderItem]] = {}
    persons: dict[int, Person] = {}
    for item in order.items:
        if item.settled:
            by_person.setdefault(item.person_id, []).append(item)
            persons[item.person_id] = item.person
    order_of = sorted(by_person, key=lambda person_id: (person_id != order.payer_id, by_person[person_id][0].id))
    return [ReceiptGroup(persons[person_id], person_id == order.payer_id, by_person[person_id]) for person_id in order_of]


def mark_printed(uow: UnitOfWork, receipt_id: int, *, first_only: bool = False) -> bool:
    """Count one print. ``first_only``: only if it was never printed (a reload must not print it
    again, even when two requests race). Returns whether it should print."""
    with uow:
        query = update(Receipt).where(Receipt.id == receipt_id)
        if first_only:
            query = query.where(Receipt.print_count == 0)
        counted = uow.session.execute(query.values(print_count=Receipt.print_count + 1)
                                      .execution_options(synchronize_session=False)).rowcount
        uow.commit()
    return bool(counted)
