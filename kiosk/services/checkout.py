"""Turning selected bills into a payment order, and following it to its end."""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..domain.clock import local_today, utcnow
from ..domain.orders import OrderStatus
from ..extensions import db
from ..models import PaymentOrder, PaymentOrderItem, Visit
from ..payments.base import PaymentProvider, ProviderError, TradeState
from .dues import due_lines
from .settle import AmountMismatch, finish_unpaid, log_event, record_paid, undo_refunded_payment

log = logging.getLogger(__name__)


class CheckoutError(Exception):
    """Why no order was made; ``reason`` picks the message shown to the person."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CheckoutSettings:
    ttl: dt.timedelta
    query_interval: dt.timedelta
    notify_url: str
    public_base_url: str
    subject: str


def qr_svg(payload: str) -> str:
    """The QR code as inline SVG; made once per order (about 13 ms) and stored with it."""
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode")


def new_checkout_key(visit: Visit) -> str:
    """A fresh key each time the dues are shown: two taps on one screen share it."""
    visit.checkout_key = secrets.token_hex(16)
    db.session.commit()
    return visit.checkout_key


def _order_with_key(key: str, person_id: int) -> PaymentOrder | None:
    """The order an earlier tap with this checkout key made for this person, if any."""
    order = db.session.scalar(select(PaymentOrder).where(PaymentOrder.idempotency_key == key))
    return order if order is not None and order.person_id == person_id else None


def create_order(visit: Visit, bill_ids: list[int], key: str, provider: PaymentProvider, settings: CheckoutSettings,
                 now: dt.datetime | None = None) -> PaymentOrder:
    """The order for ``key``: made once, whatever number of taps or racing requests ask for it."""
    now = now or utcnow()
    existing = _order_with_key(key, visit.person_id)
    if existing is not None:
        return existing
    if not key or key != visit.checkout_key:
        raise CheckoutError("stale")
    if not bill_ids:
        raise CheckoutError("nothing_selected")
    lines = {line.bill.id: line for line in due_lines(visit.person, local_today(now))}
    chosen = [lines.get(bill_id) for bill_id in dict.fromkeys(bill_ids)]
    if any(line is None or not line.payable for line in chosen):
        # a racing tap with the same key may have made the order (and taken the bills) since we looked
        existing = _order_with_key(key, visit.person_id)
        if existing is not None:
            return existing
        raise CheckoutError("not_payable")
    order = PaymentOrder(
        out_trade_no=f"K{now:%Y%m%d%H%M%S}{secrets.token_hex(6)}", idempotency_key=key, person_id=visit.person_id,
        terminal_id=visit.terminal_id, provider=provider.name, status=OrderStatus.PENDING.value,
        total_fen=sum(line.amount_fen for line in chosen), expires_at=now + settings.ttl, created_at=now,
        items=[PaymentOrderItem(bill_id=line.bill.id, principal_fen=line.bill.principal_fen, subsidy_fen=line.bill.subsidy_fen,
                                late_fee_fen=line.late_fee_fen, amount_fen=line.amount_fen) for line in chosen],
    )
    db.session.add(order)
    try:
        db.session.flush()
        log_event(order.id, "created", "kiosk", f"{len(chosen)} items, {order.total_fen} fen")
        db.session.commit()
    except IntegrityError:
        # a racing tap with the same key won, or another terminal holds one of the bills
        db.session.rollback()
        existing = _order_with_key(key, visit.person_id)
        if existing is not None:
            return existing
        raise CheckoutError("held_elsewhere") from None
    visit.order_id = order.id
    db.session.commit()
    try:
        payload = provider.precreate(out_trade_no=order.out_trade_no, amount_fen=order.total_fen, subject=settings.subject,
                                     expires_at=order.expires_at, notify_url=settings.notify_url,
                                     public_base_url=settings.public_base_url)
    except ProviderError as exc:
        finish_unpaid(order.id, OrderStatus.FAILED, "kiosk", f"precreate failed: {exc}", now)
        return db.session.get(PaymentOrder, order.id, populate_existing=True)
    order.qr_payload, order.qr_svg = payload, qr_svg(payload)
    db.session.commit()
    return order


def refresh(order: PaymentOrder, provider: PaymentProvider, settings: CheckoutSettings, now: dt.datetime | None = None) -> PaymentOrder:
    """Called by the page's poller: expire at the deadline, and ask the provider every few seconds,
    so a payment whose notification never arrives is still found."""
    now = now or utcnow()
    if order.status != OrderStatus.PENDING.value:
        return order
    if now >= order.expires_at:
        return close(order, OrderStatus.EXPIRED, provider, "timeout", now)
    if order.last_queried_at is None or now - order.last_queried_at >= settings.query_interval:
        # claim this query so that two pollers do not both ask the provider
        seen = order.last_queried_at
        unchanged = PaymentOrder.last_queried_at.is_(None) if seen is None else PaymentOrder.last_queried_at == seen
        claimed = db.session.execute(
            update(PaymentOrder).where(PaymentOrder.id == order.id, unchanged)
            .values(last_queried_at=now).execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if claimed:
            if _paid_by_another_order(order):
                # a late payment of an earlier QR settled these bills: do not let them be paid twice
                return close(order, OrderStatus.CANCELLED, provider, "paid_elsewhere", now)
            apply_provider_state(order, provider, "query", now)
    return db.session.get(PaymentOrder, order.id, populate_existing=True)


def _paid_by_another_order(order: PaymentOrder) -> bool:
    bill_ids = select(PaymentOrderItem.bill_id).where(PaymentOrderItem.order_id == order.id)
    return db.session.scalar(select(PaymentOrderItem.id).where(
        PaymentOrderItem.bill_id.in_(bill_ids), PaymentOrderItem.settled.is_(True), PaymentOrderItem.order_id != order.id
    ).limit(1)) is not None


def apply_provider_state(order: PaymentOrder, provider: PaymentProvider, source: str, now: dt.datetime) -> TradeState | None:
    try:
        status = provider.query(order.out_trade_no)
    except ProviderError as exc:
        log.warning("provider query failed for order %s: %s", order.id, exc)
        return None
    if status.state is TradeState.PAID:
        try:
            record_paid(order.id, trade_no=status.trade_no, amount_fen=status.amount_fen, source=source, now=now)
        except AmountMismatch:
            return None  # logged by record_paid; the order stays as it was for an operator to look at
    elif status.state in (TradeState.CLOSED, TradeState.FAILED):
        finish_unpaid(order.id, OrderStatus.FAILED, source, "closed at the provider", now)
    return status.state


def close(order: PaymentOrder, target: OrderStatus, provider: PaymentProvider, source: str, now: dt.datetime | None = None) -> PaymentOrder:
    """Cancel or expire an unpaid order: ask first (it may have just been paid), then close the trade."""
    now = now or utcnow()
    if order.status == OrderStatus.PENDING.value:
        if apply_provider_state(order, provider, source, now) is not TradeState.PAID:
            try:
                outcome = provider.cancel(order.out_trade_no)
            except ProviderError as exc:
                outcome = None
                log.warning("provider cancel failed for order %s: %s", order.id, exc)
            refunded = bool(outcome and outcome.refunded)
            detail = "the provider refunded a payment made while closing" if refunded else ""
            # a trade the provider did not close stays payable: flask reconcile keeps asking about it
            if not finish_unpaid(order.id, target, source, detail, now, trade_open=outcome is None) and refunded:
                # paid (and recorded) between our query and the cancel, which then refunded it:
                # no money, so the bills must not stay paid
                undo_refunded_payment(order.id, source, now)
    return db.session.get(PaymentOrder, order.id, populate_existing=True)


# how long after closing an order its trade is still asked about: Alipay notifies for 25 h
LATE_PAYMENT_WINDOW = dt.timedelta(hours=25)


def _trade_closed(order_id: int) -> None:
    db.session.execute(update(PaymentOrder).where(PaymentOrder.id == order_id).values(trade_open=False)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def reconcile(provider: PaymentProvider, now: dt.datetime | None = None) -> int:
    """Follow every pending order to its end (run by ``flask reconcile`` on a timer): the
    safety net for a kiosk that went away and a notification that never came.

    Orders closed here whose cancel failed at the provider (``trade_open``, up to 25 hours
    back) are asked about too: their QR may still be paid, and that money must be found even
    if its notification is lost. Only those: a trade the provider closed cannot be paid."""
    now = now or utcnow()
    orders = db.session.scalars(select(PaymentOrder).where(
        PaymentOrder.provider == provider.name,
        (PaymentOrder.status == OrderStatus.PENDING.value)
        | (PaymentOrder.trade_open.is_(True) & (PaymentOrder.finished_at >= now - LATE_PAYMENT_WINDOW)),
    )).all()
    for order in orders:
        try:
            if order.status != OrderStatus.PENDING.value:
                state = apply_provider_state(order, provider, "reconcile", now)
                if state in (TradeState.WAITING, TradeState.NOT_FOUND):
                    provider.cancel(order.out_trade_no)  # close the trade the first cancel could not
                if state is not None:
                    _trade_closed(order.id)
            elif now >= order.expires_at:
                close(order, OrderStatus.EXPIRED, provider, "reconcile", now)
            else:
                apply_provider_state(order, provider, "reconcile", now)
        except Exception:  # noqa: BLE001 - one troubled order must not hide the payments of the others
            db.session.rollback()
            log.exception("reconcile: order %s left for the next sweep", order.id)
    return len(orders)


def mark_printed(receipt) -> None:
    receipt.print_count += 1
    db.session.commit()
