"""Recording what the provider says: paid exactly once, never lost, every step audited.

Every state change of an attempt (a provider trade) goes through :func:`move`, a
compare-and-set ``UPDATE ... WHERE status IN (...)`` whose allowed states come from the
domain's transition table, so double taps,
retried callbacks, pollers, sweeps and racing app instances all agree on one outcome. The
first attempt of an order recorded paid wins the order (``paid_attempt_id``, set with the
order row locked); a second one is owed back. The partial unique index on settled items is
the last word on "a bill is paid at most once".
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
from ..domain.verification import new_serial
from ..models import PaymentAttempt, PaymentEvent, PaymentOrder, PaymentOrderItem, Receipt
from .uow import UnitOfWork

log = logging.getLogger(__name__)


class Recorded(str, Enum):
    """What became of a payment the provider reported."""

    RECORDED = "recorded"  # this call recorded it (as the order's payment, or as a second one to give back)
    ALREADY = "already"  # an earlier call did
    MISMATCH = "mismatch"  # another amount than the attempt's: never settled, left for an operator
    REFUSED = "refused"  # the attempt is in a state this source may not record from (closing, refunded)


def log_event(session: Session, order_id: int | None, kind: str, source: Source | str, detail: str = "",
              attempt_id: int | None = None) -> None:
    session.add(PaymentEvent(order_id=order_id, attempt_id=attempt_id, kind=kind, source=getattr(source, "value", source),
                             detail=detail[:400]))


def move(session: Session, attempt_id: int, target: OrderStatus, source: Source, *, only_if=None, **values) -> bool:
    """Compare-and-set: the attempt goes to ``target`` only from a state the table lets ``source``
    move it from (and, with ``only_if``, a further condition on the row holds). False when another
    source got there first."""
    allowed = [state.value for state in from_states(source, target)]
    conditions = [PaymentAttempt.id == attempt_id, PaymentAttempt.status.in_(allowed)]
    if only_if is not None:
        conditions.append(only_if)
    return bool(session.execute(
        update(PaymentAttempt).where(*conditions)
        .values(status=target.value, **values).execution_options(synchronize_session=False)
    ).rowcount)


def lock_order(session: Session, order_id: int) -> PaymentOrder | None:
    """The order row, locked until the commit (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers): what is decided about the order as a whole (who won, whether it still
    holds its bills, what is left to refund) sees every racing attempt's change."""
    return session.scalar(select(PaymentOrder).where(PaymentOrder.id == order_id).with_for_update()
                          .execution_options(populate_existing=True))


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


def status_of(session: Session, attempt_id: int) -> OrderStatus:
    return OrderStatus(session.scalar(select(PaymentAttempt.status).where(PaymentAttempt.id == attempt_id)))


def order_of(session: Session, attempt_id: int) -> int:
    return session.scalar(select(PaymentAttempt.order_id).where(PaymentAttempt.id == attempt_id))


def record_payment(uow: UnitOfWork, attempt_id: int, *, trade_no: str | None, amount_fen: int | None, source: Source,
                   now: dt.datetime | None = None, because: tuple[str, str] | None = None) -> Recorded:
    """The use case: the provider says the attempt's trade is paid. Safe to call any number of times.
    ``because`` (event kind, detail) is logged in the same transaction when this call records it."""
    now = now or utcnow()

    def work(session: Session) -> Recorded:
        outcome = settle(session, attempt_id, trade_no, amount_fen, source, now)
        if outcome is Recorded.RECORDED and because:
            log_event(session, order_of(session, attempt_id), because[0], source, because[1], attempt_id)
        return outcome

    return uow.run(work)


def settle(session: Session, attempt_id: int, trade_no, amount_fen, source: Source, now: dt.datetime) -> Recorded:
    """``record_payment`` inside the caller's unit of work (a counter payment records its attempt
    paid in the transaction that makes it)."""
    order_id, amount = session.execute(select(PaymentAttempt.order_id, PaymentAttempt.amount_fen)
                                       .where(PaymentAttempt.id == attempt_id)).one()
    if amount_fen is not None and amount_fen != amount:
        log_event(session, order_id, "amount_mismatch", source, f"provider {amount_fen} fen, attempt {amount} fen", attempt_id)
        return Recorded.MISMATCH
    if not move(session, attempt_id, OrderStatus.PAID, source, paid_at=now, finished_at=now, provider_trade_no=trade_no,
                trade_open=False):
        return Recorded.ALREADY if status_of(session, attempt_id) is OrderStatus.PAID else Recorded.REFUSED
    order = lock_order(session, order_id)
    attempt = session.get(PaymentAttempt, attempt_id, populate_existing=True)
    if order.paid_attempt_id is not None:
        # the order was paid through another app first (both QR codes were scanned): this money goes back
        attempt.refund_due_fen = attempt.amount_fen
        log_event(session, order.id, "paid", source, f"trade {trade_no}", attempt_id)
        log_event(session, order.id, "refund_due", source, f"{attempt.amount_fen} fen: a second payment of a paid order", attempt_id)
        return Recorded.RECORDED
    order.paid_attempt_id = attempt_id
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
    attempt.refund_due_fen = refund
    if refund:
        log_event(session, order.id, "refund_due", source, f"{refund} fen paid for bills another order had paid", attempt_id)
    if refund < order.total_fen:
        payer = order.payer  # the receipt lists each insured person's items under them (``receipts.receipt_groups``)
        # the agency of the region whose rules priced the bills (``dues.pricing_region``): the terminal's,
        # the payer's where the terminal has none
        collector = order.terminal.region or payer.region
        session.add(Receipt(
            number=receipt_number(to_local(now), order.id), order_id=order.id, payer_masked=mask_name(payer.name),
            id_masked=payer.id_masked, terminal_code=order.terminal.code, agency_name=collector.agency_name, issued_at=now,
            verify_serial=new_serial(),  # its QR code opens the electronic receipt (/verify/<code>)
        ))
    log_event(session, order.id, "paid", source, f"trade {trade_no}", attempt_id)
    session.flush()  # a bill settled or held by a racing order fails here, inside the retry
    return Recorded.RECORDED


def end_unpaid(session: Session, attempt_id: int, target: OrderStatus, source: Source, detail: str, now: dt.datetime,
               trade_open: bool = False) -> bool:
    """-> CANCELLED, EXPIRED or FAILED. The order frees its bills for another order once none of
    its attempts can be paid any more and none won. False if too late."""
    won = move(session, attempt_id, target, source, finished_at=now, trade_open=trade_open, closing_at=None)
    if won:
        order_id = order_of(session, attempt_id)
        log_event(session, order_id, target.value, source, detail, attempt_id)
        release_if_done(session, order_id)
    return won


LIVE = (OrderStatus.PENDING.value, OrderStatus.CLOSING.value)


def release_if_done(session: Session, order_id: int) -> None:
    """Free the order's bills if no attempt won and none is live (with the order locked, so two
    attempts ending at once cannot each count on the other)."""
    order = lock_order(session, order_id)
    live = session.scalar(select(PaymentAttempt.id).where(PaymentAttempt.order_id == order_id, PaymentAttempt.status.in_(LIVE))
                          .limit(1))
    if order.paid_attempt_id is None and live is None:
        release_bills(session, order_id)


def mark_failed(uow: UnitOfWork, attempt_id: int, source: Source, detail: str, now: dt.datetime | None = None) -> bool:
    """The use case: the provider says the trade closed unpaid (or it could not be made)."""
    now = now or utcnow()
    with uow:
        won = end_unpaid(uow.session, attempt_id, OrderStatus.FAILED, source, detail, now)
        uow.commit()
    return won
