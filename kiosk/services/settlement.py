"""Recording what the provider says: paid exactly once, never lost, every step audited.

Every state change goes through :func:`move`, a compare-and-set ``UPDATE ... WHERE status IN
(...)`` whose allowed states come from the domain's transition table, so double taps,
retried callbacks, pollers, sweeps and racing app instances all agree on one outcome; the
partial unique index on settled items is the last word on "a bill is paid at most once".
Nothing here commits: the use case that calls it owns the transaction.
"""
from __future__ import annotations

import datetime as dt
import logging
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain.clock import to_local, utcnow
from ..domain.idnumber import mask_name
from ..domain.orders import OrderStatus, Source, from_states, receipt_number
from ..models import PaymentEvent, PaymentOrder, PaymentOrderItem, Receipt
from .uow import UnitOfWork

log = logging.getLogger(__name__)


class Recorded(str, Enum):
    """What became of a payment the provider reported."""

    RECORDED = "recorded"  # this call recorded it
    ALREADY = "already"  # an earlier call did
    MISMATCH = "mismatch"  # another amount than the order's: never settled, left for an operator
    REFUSED = "refused"  # the order is in a state this source may not record from (closing, refunded)


def log_event(session: Session, order_id: int | None, kind: str, source: Source | str, detail: str = "") -> None:
    session.add(PaymentEvent(order_id=order_id, kind=kind, source=getattr(source, "value", source), detail=detail[:400]))


def move(session: Session, order_id: int, target: OrderStatus, source: Source, *, only_if=None, **values) -> bool:
    """Compare-and-set: the order goes to ``target`` only from a state the table lets ``source``
    move it from (and, with ``only_if``, a further condition on the row holds). False when another
    source got there first."""
    allowed = [state.value for state in from_states(source, target)]
    conditions = [PaymentOrder.id == order_id, PaymentOrder.status.in_(allowed)]
    if only_if is not None:
        conditions.append(only_if)
    return bool(session.execute(
        update(PaymentOrder).where(*conditions)
        .values(status=target.value, **values).execution_options(synchronize_session=False)
    ).rowcount)


def release_bills(session: Session, order_id: int) -> None:
    """The order no longer holds its bills: another order may take them."""
    session.execute(update(PaymentOrderItem).where(PaymentOrderItem.order_id == order_id).values(live=False)
                    .execution_options(synchronize_session=False))


def reopen_bills(session: Session, order_id: int, now: dt.datetime) -> None:
    """The order's money went back: its bills are unpaid again and free for a new order, and its
    receipt (kept for the record) is void."""
    session.execute(update(PaymentOrderItem).where(PaymentOrderItem.order_id == order_id).values(live=False, settled=False)
                    .execution_options(synchronize_session=False))
    session.execute(update(Receipt).where(Receipt.order_id == order_id, Receipt.voided_at.is_(None)).values(voided_at=now)
                    .execution_options(synchronize_session=False))


def status_of(session: Session, order_id: int) -> OrderStatus:
    return OrderStatus(session.scalar(select(PaymentOrder.status).where(PaymentOrder.id == order_id)))


def record_payment(uow: UnitOfWork, order_id: int, *, trade_no: str | None, amount_fen: int | None, source: Source,
                   now: dt.datetime | None = None) -> Recorded:
    """The use case: the provider says the order is paid. Safe to call any number of times."""
    now = now or utcnow()
    return uow.run(lambda session: _record(session, order_id, trade_no, amount_fen, source, now))


def _record(session: Session, order_id: int, trade_no, amount_fen, source: Source, now: dt.datetime) -> Recorded:
    total = session.scalar(select(PaymentOrder.total_fen).where(PaymentOrder.id == order_id))
    if amount_fen is not None and amount_fen != total:
        log_event(session, order_id, "amount_mismatch", source, f"provider {amount_fen} fen, order {total} fen")
        return Recorded.MISMATCH
    if not move(session, order_id, OrderStatus.PAID, source, paid_at=now, finished_at=now, provider_trade_no=trade_no,
                trade_open=False):
        return Recorded.ALREADY if status_of(session, order_id) is OrderStatus.PAID else Recorded.REFUSED
    order = session.get(PaymentOrder, order_id, populate_existing=True)
    bill_ids = [item.bill_id for item in order.items]
    taken = set(session.scalars(
        select(PaymentOrderItem.bill_id).where(PaymentOrderItem.bill_id.in_(bill_ids), PaymentOrderItem.settled.is_(True),
                                               PaymentOrderItem.order_id != order.id)
    ))
    refund = 0
    for item in order.items:
        if item.bill_id in taken:
            refund += item.amount_fen
        else:
            item.settled = True
    order.refund_due_fen = refund
    if refund:
        log_event(session, order.id, "refund_due", source, f"{refund} fen paid for bills another order had paid")
    if refund < order.total_fen:
        person = order.person
        session.add(Receipt(
            number=receipt_number(to_local(now), order.id), order_id=order.id, payer_masked=mask_name(person.name),
            id_masked=person.id_masked, terminal_code=order.terminal.code, agency_name=person.region.agency_name, issued_at=now,
        ))
    log_event(session, order.id, "paid", source, f"trade {trade_no}")
    session.flush()  # a bill settled by a racing order fails here, inside the retry
    return Recorded.RECORDED


def end_unpaid(session: Session, order_id: int, target: OrderStatus, source: Source, detail: str, now: dt.datetime,
               trade_open: bool = False) -> bool:
    """-> CANCELLED, EXPIRED or FAILED: the bills are free for another order. False if too late."""
    won = move(session, order_id, target, source, finished_at=now, trade_open=trade_open, closing_at=None)
    if won:
        release_bills(session, order_id)
        log_event(session, order_id, target.value, source, detail)
    return won


def mark_failed(uow: UnitOfWork, order_id: int, source: Source, detail: str, now: dt.datetime | None = None) -> bool:
    """The use case: the provider says the trade closed unpaid (or it could not be made)."""
    now = now or utcnow()
    with uow:
        won = end_unpaid(uow.session, order_id, OrderStatus.FAILED, source, detail, now)
        uow.commit()
    return won

