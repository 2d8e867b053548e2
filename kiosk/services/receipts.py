"""Receipts: printed once on arrival, again only when someone asks."""
from __future__ import annotations

from sqlalchemy import update

from ..models import Receipt
from .uow import UnitOfWork


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
