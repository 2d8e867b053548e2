"""Recording what the provider says: paid exactly once, never lost, every step audited.

Every state change is a compare-and-set ``UPDATE ... WHERE status IN (...)``, so double
taps, retried callbacks, pollers and racing app instances all agree on one outcome; the
partial unique index on settled items is the last word on "a bill is paid at most once".
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..domain.clock import to_local, utcnow
from ..domain.idnumber import mask_name
from ..domain.orders import OrderStatus, receipt_number, sources_of
from ..extensions import db
from ..models import CallbackRefusal, PaymentEvent, PaymentOrder, PaymentOrderItem, Receipt
from ..payments.base import InvalidNotification, TradeState

log = logging.getLogger(__name__)


class AmountMismatch(Exception):
    """The provider reports a different amount from the order's: never settle on it."""


def log_event(order_id: int | None, kind: str, source: str, detail: str = "") -> None:
    db.session.add(PaymentEvent(order_id=order_id, kind=kind, source=source, detail=detail[:400]))


def _move(order_id: int, target: OrderStatus, **values) -> bool:
    """Compare-and-set: the order goes to ``target`` only from a state that may precede it."""
    return bool(db.session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.id == order_id, PaymentOrder.status.in_([s.value for s in sources_of(target)]))
        .values(status=target.value, **values)
        .execution_options(synchronize_session=False)
    ).rowcount)


def record_paid(order_id: int, *, trade_no: str | None, amount_fen: int | None, source: str, now: dt.datetime | None = None) -> PaymentOrder:
    """Mark the order paid and settle its bills, in one transaction; safe to call any number of times."""
    for _attempt in range(3):
        try:
            return _record_paid_once(order_id, trade_no, amount_fen, source, now or utcnow())
        except IntegrityError:
            # another order settled one of these bills at the same moment: look again
            db.session.rollback()
    raise RuntimeError("could not settle order after repeated conflicts")


def _record_paid_once(order_id, trade_no, amount_fen, source, now) -> PaymentOrder:
    total = db.session.scalar(select(PaymentOrder.total_fen).where(PaymentOrder.id == order_id))
    if amount_fen is not None and amount_fen != total:
        db.session.rollback()
        log_event(order_id, "amount_mismatch", source, f"provider {amount_fen} fen, order {total} fen")
        db.session.commit()
        raise AmountMismatch(order_id)
    won = _move(order_id, OrderStatus.PAID, paid_at=now, finished_at=now, provider_trade_no=trade_no)
    if not won:
        db.session.rollback()  # already paid: the first caller did all the work
        return db.session.get(PaymentOrder, order_id, populate_existing=True)
    order = db.session.get(PaymentOrder, order_id, populate_existing=True)
    bill_ids = [item.bill_id for item in order.items]
    taken = set(db.session.scalars(
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
        log_event(order.id, "refund_due", source, f"{refund} fen paid for bills another order had paid")
    if refund < order.total_fen:
        person = order.person
        db.session.add(Receipt(
            number=receipt_number(to_local(now), order.id), order_id=order.id, payer_masked=mask_name(person.name),
            id_masked=person.id_masked, terminal_code=order.terminal.code, agency_name=person.region.agency_name, issued_at=now,
        ))
    log_event(order.id, "paid", source, f"trade {trade_no}")
    db.session.commit()
    return order


def finish_unpaid(order_id: int, target: OrderStatus, source: str, detail: str = "", now: dt.datetime | None = None,
                  trade_open: bool = False) -> bool:
    """PENDING -> CANCELLED, EXPIRED or FAILED; frees the bills for another order. False if too late.

    ``trade_open``: the provider did not confirm closing the trade, so it may still be paid."""
    now = now or utcnow()
    won = _move(order_id, target, finished_at=now, trade_open=trade_open)
    if won:
        db.session.execute(update(PaymentOrderItem).where(PaymentOrderItem.order_id == order_id).values(live=False)
                           .execution_options(synchronize_session=False))
        log_event(order_id, target.value, source, detail)
    db.session.commit()
    return won


def undo_refunded_payment(order_id: int, source: str, now: dt.datetime | None = None) -> bool:
    """PAID -> REFUNDED: the provider gave the whole payment back after we recorded it.

    The bills are due again, the receipt is kept but void, nothing is left to refund. False if
    the order was not PAID (nothing recorded, or already undone)."""
    now = now or utcnow()
    won = _move(order_id, OrderStatus.REFUNDED, refund_due_fen=0, trade_open=False)
    if won:
        db.session.execute(update(PaymentOrderItem).where(PaymentOrderItem.order_id == order_id)
                           .values(settled=False, live=False).execution_options(synchronize_session=False))
        db.session.execute(update(Receipt).where(Receipt.order_id == order_id).values(voided_at=now)
                           .execution_options(synchronize_session=False))
        log_event(order_id, "refunded_at_provider", source, "recorded as paid, then the provider's cancel refunded it")
    db.session.commit()
    return won


def count_refusal(provider_name: str, reason: str, now: dt.datetime | None = None) -> None:
    """A refused callback: one log line without its content, and one more in today's count.

    Counted in one row per day, provider and reason, so that a flood of garbage cannot grow
    the database (a row per callback did: 3,330 rows in 10 s)."""
    now = now or utcnow()
    log.warning("refused a %s callback: %s", provider_name, reason)
    day = now.date()
    match = (CallbackRefusal.day == day, CallbackRefusal.provider == provider_name, CallbackRefusal.reason == reason)
    for _attempt in range(3):
        bumped = db.session.execute(update(CallbackRefusal).where(*match)
                                    .values(count=CallbackRefusal.count + 1, last_at=now)
                                    .execution_options(synchronize_session=False)).rowcount
        if not bumped:
            db.session.add(CallbackRefusal(day=day, provider=provider_name, reason=reason, count=1, last_at=now))
        try:
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()  # a racing refusal made today's row first: count on it


def handle_notification(provider, form) -> bool:
    """A provider's callback. True means: acknowledge it (it is recorded, or was already).

    A forged, malformed or unknown one is logged and refused; an exception on the way
    propagates, the transaction is rolled back and the provider will send it again. A payment
    for an order already closed is checked with the provider first: the cancel may have refunded it.
    """
    try:
        note = provider.parse_notification(form)
    except InvalidNotification as exc:
        count_refusal(provider.name, exc.reason)
        return False
    order_id = db.session.scalar(select(PaymentOrder.id).where(PaymentOrder.out_trade_no == note.out_trade_no,
                                                               PaymentOrder.provider == provider.name))
    if order_id is None:
        count_refusal(provider.name, "unknown_order")
        return False
    if note.state is TradeState.PAID:
        status = db.session.scalar(select(PaymentOrder.status).where(PaymentOrder.id == order_id))
        if status not in (OrderStatus.PENDING.value, OrderStatus.PAID.value) and provider.query(note.out_trade_no).state is TradeState.CLOSED:
            # a closed order's payment that the provider has closed since: the cancel refunded it
            # (Alipay may refund instead of closing), so there is no money to settle with
            log_event(order_id, "refunded_at_provider", provider.name, f"trade {note.trade_no} paid, then refunded by the cancel")
            db.session.commit()
            return True
        try:
            record_paid(order_id, trade_no=note.trade_no, amount_fen=note.amount_fen, source="notify")
        except AmountMismatch:
            return False
    elif note.state in (TradeState.CLOSED, TradeState.FAILED):
        finish_unpaid(order_id, OrderStatus.FAILED, "notify", "closed at the provider")
    return True
