"""Refunds: money given back through the provider, never twice and never more than was paid.

A refund is two units of work around one call to the provider:

1. the ``Refund`` row is written (``processing``) and committed, after checking the amount
   against what is still refundable, with the order row locked so that racing requests see
   each other; a crash after this leaves a row for :func:`follow_refunds`;
2. the provider is asked, under our request number (the same number never refunds twice);
3. its answer is recorded. When the refunds that succeeded reach the order's total, the order
   becomes REFUNDED: its bills are unpaid again (free for a new order) and its receipt void.

A provider that cannot be reached leaves the refund ``processing``: we do not know whether the
money went back, so :func:`follow_refunds` asks about it later.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..domain.clock import utcnow
from ..domain.orders import OrderStatus, Source
from ..models import PaymentAttempt, PaymentOrder, Refund
from ..payments.base import PaymentProvider, ProviderError, RefundState, RefundStatus
from .settlement import lock_order, log_event, move, reopen_bills
from .uow import UnitOfWork

log = logging.getLogger(__name__)

# a processing refund younger than this may still be waiting for the provider's answer in its
# own request: follow_refunds leaves it alone
FOLLOW_AFTER = dt.timedelta(minutes=1)
AUTOMATIC_REASON = "paid twice: money for bills already paid"


class RefundRefused(Exception):
    """A refund that may not be asked for. ``code``: not_found, other_provider, not_paid,
    nothing_left, bad_amount, too_much, other_order."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


def automatic_request_no(attempt_id: int) -> str:
    """The request number of the automatic refund of an attempt's money: one per attempt, so a
    second run of the sweep asks for the same refund again, never another."""
    return f"AUTO-{attempt_id}"


def _refunded_fen(session: Session, attempt_id: int, *, succeeded_only: bool = False) -> int:
    """The refunds of an attempt: those that succeeded, or (by default) all but the failed ones."""
    state = Refund.state == RefundState.SUCCESS.value if succeeded_only else Refund.state != RefundState.FAILED.value
    return session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(Refund.attempt_id == attempt_id, state))


def _left_to_refund(session: Session, attempt: PaymentAttempt) -> int:
    """A paid attempt's amount minus its refunds that did not fail (what the provider could still give back)."""
    return attempt.amount_fen - _refunded_fen(session, attempt.id)


def available_fen(session: Session, order_id: int) -> int:
    """What may still be refunded of an order: its winning payment minus its refunds that did not fail."""
    order = session.get(PaymentOrder, order_id, populate_existing=True)
    if order is None or order.paid_attempt_id is None:
        return 0
    attempt = session.get(PaymentAttempt, order.paid_attempt_id, populate_existing=True)
    if attempt.status != OrderStatus.PAID.value:
        return 0
    return max(_left_to_refund(session, attempt), 0)


def open_refund(session: Session, order_id: int, amount_fen: int, reason: str, source: Source, provider_name: str,
                out_request_no: str | None, now: dt.datetime, attempt_id: int | None = None) -> tuple[Refund, bool]:
    """Unit of work 1: the Refund row, or the earlier one of the same request number. Returns
    (refund, whether it is new)."""
    if out_request_no is not None:
        earlier = session.scalar(select(Refund).where(Refund.out_request_no == out_request_no))
        if earlier is not None:
            if earlier.order_id != order_id:
                raise RefundRefused("other_order", f"{out_request_no} belongs to another order")
            return earlier, False
    order = lock_order(session, order_id)
    if order is None:
        raise RefundRefused("not_found", f"no order {order_id}")
    attempt_id = attempt_id or order.paid_attempt_id
    attempt = session.get(PaymentAttempt, attempt_id, populate_existing=True) if attempt_id is not None else None
    if attempt is None or attempt.order_id != order_id:
        raise RefundRefused("not_paid", f"order {order_id} has no payment to give back")
    if attempt.provider != provider_name:
        raise RefundRefused("other_provider", f"order {order_id} was paid through {attempt.provider}")
    if attempt.status != OrderStatus.PAID.value:
        raise RefundRefused("not_paid", f"order {order_id} is {order.status}")
    available = _left_to_refund(session, attempt)
    if available <= 0:
        raise RefundRefused("nothing_left", f"order {order_id} has nothing left to refund")
    if amount_fen <= 0:
        raise RefundRefused("bad_amount", "a refund is more than 0 fen")
    if amount_fen > available:
        raise RefundRefused("too_much", f"{amount_fen} fen asked, {available} fen refundable")
    if out_request_no is None:
        count = session.scalar(select(func.count(Refund.id)).where(Refund.order_id == order_id))
        out_request_no = f"R{order_id}-{count + 1}"
    refund = Refund(order_id=order_id, attempt_id=attempt.id, out_request_no=out_request_no, amount_fen=amount_fen,
                    reason=reason[:200], source=source.value, state=RefundState.PROCESSING.value, created_at=now)
    session.add(refund)
    log_event(session, order_id, "refund_requested", source, f"{out_request_no}: {amount_fen} fen, {reason}", attempt.id)
    session.flush()  # a racing request of the same number fails here, inside the retry
    return refund, True


def finish_refund(session: Session, refund_id: int, answer: RefundStatus, now: dt.datetime) -> Refund:
    """Unit of work 2: record the provider's answer; the attempt is REFUNDED once all its money is
    back, and with the order's winning payment gone the order's bills are unpaid again.

    The provider's word wins: a refund it reports as done counts even if we had marked it failed
    (an answer that arrived after a follow-up found nothing)."""
    refund = session.get(Refund, refund_id, populate_existing=True)
    if answer.state is RefundState.PROCESSING:
        return refund
    if answer.state is RefundState.FAILED:
        changed = session.execute(update(Refund).where(Refund.id == refund_id, Refund.state == RefundState.PROCESSING.value)
                                  .values(state=RefundState.FAILED.value, finished_at=now)
                                  .execution_options(synchronize_session=False)).rowcount
        if changed:
            log_event(session, refund.order_id, "refund_failed", Source.REFUND, f"{refund.out_request_no}: {refund.amount_fen} fen",
                      refund.attempt_id)
        session.refresh(refund)
        return refund
    changed = session.execute(update(Refund).where(Refund.id == refund_id, Refund.state != RefundState.SUCCESS.value)
                              .values(state=RefundState.SUCCESS.value, finished_at=now)
                              .execution_options(synchronize_session=False)).rowcount
    session.refresh(refund)
    if not changed:
        return refund
    attempt = session.get(PaymentAttempt, refund.attempt_id, populate_existing=True)
    if refund.out_request_no == automatic_request_no(attempt.id):
        attempt.refund_due_fen = 0
    refunded = _refunded_fen(session, attempt.id, succeeded_only=True)
    if refunded >= attempt.amount_fen and move(session, attempt.id, OrderStatus.REFUNDED, Source.REFUND, finished_at=now):
        order = lock_order(session, refund.order_id)
        if order.paid_attempt_id == attempt.id:
            reopen_bills(session, order.id, now)
        log_event(session, order.id, "refunded", Source.REFUND, f"{refund.out_request_no}: {refunded} fen in all", attempt.id)
    else:
        log_event(session, refund.order_id, "refund", Source.REFUND, f"{refund.out_request_no}: {refund.amount_fen} fen",
                  attempt.id)
    return refund


def _record(uow: UnitOfWork, refund_id: int, answer: RefundStatus, now: dt.datetime) -> Refund:
    return uow.run(lambda session: finish_refund(session, refund_id, answer, now))


def request_refund(uow: UnitOfWork, order_id: int, amount_fen: int, reason: str, source: Source, provider: PaymentProvider,
                   out_request_no: str | None = None, now: dt.datetime | None = None, attempt_id: int | None = None) -> Refund:
    """The use case: give ``amount_fen`` of ``order_id`` back: of its winning payment, or of the
    attempt ``attempt_id`` (a second payment). Raises :class:`RefundRefused`.

    The same ``out_request_no`` again returns the refund it made, without asking the provider."""
    now = now or utcnow()
    refund, new = uow.run(lambda session: open_refund(session, order_id, amount_fen, reason, source, provider.name, out_request_no, now,
                                                attempt_id))
    if not new:
        return refund
    attempt = uow.session.get(PaymentAttempt, refund.attempt_id)
    refund_id, request_no, amount, out_trade_no, total_fen = (refund.id, refund.out_request_no, refund.amount_fen,
                                                              attempt.out_trade_no, attempt.amount_fen)
    uow.idle()
    try:
        answer = provider.refund(out_trade_no, out_request_no=request_no, amount_fen=amount, total_fen=total_fen, reason=reason)
    except ProviderError as exc:
        # we do not know whether the money went back: follow_refunds asks later
        log.warning("refund %s: provider did not answer (%s); left processing", request_no, exc)
        return uow.session.get(Refund, refund_id)
    return _record(uow, refund_id, answer, utcnow())


def follow_refunds(uow: UnitOfWork, provider: PaymentProvider, now: dt.datetime | None = None) -> int:
    """Ask the provider about every refund still processing (one a crash or a timeout left
    behind) and record its end. Returns how many it asked about."""
    now = now or utcnow()
    session = uow.session
    rows = session.execute(select(Refund.id, Refund.out_request_no, PaymentAttempt.out_trade_no)
                           .join(PaymentAttempt, PaymentAttempt.id == Refund.attempt_id)
                           .where(Refund.state == RefundState.PROCESSING.value, Refund.created_at <= now - FOLLOW_AFTER,
                                  PaymentAttempt.provider == provider.name).order_by(Refund.id)).all()
    uow.idle()
    for refund_id, out_request_no, out_trade_no in rows:
        try:
            answer = provider.query_refund(out_trade_no, out_request_no)
            _record(uow, refund_id, answer, now)
        except Exception:  # noqa: BLE001 - one troubled refund must not hide the others
            session.rollback()
            log.exception("follow_refunds: refund %s left for the next run", out_request_no)
    return len(rows)


def refund_what_is_due(uow: UnitOfWork, provider: PaymentProvider, now: dt.datetime | None = None) -> int:
    """Give back, automatically, money the citizen should not have paid (``refund_due_fen``): a
    second payment of an order paid through another app, or the part paid for bills another
    order had paid. One refund per attempt under a fixed request number, so running this twice
    refunds once. Returns how many attempts it asked a refund for."""
    now = now or utcnow()
    session = uow.session
    rows = session.execute(select(PaymentAttempt.order_id, PaymentAttempt.id, PaymentAttempt.refund_due_fen).where(
        PaymentAttempt.provider == provider.name, PaymentAttempt.status == OrderStatus.PAID.value,
        PaymentAttempt.refund_due_fen > 0,
    ).order_by(PaymentAttempt.id)).all()
    uow.idle()
    asked = 0
    for order_id, attempt_id, due in rows:
        try:
            refund = request_refund(uow, order_id, due, AUTOMATIC_REASON, Source.REFUND, provider,
                                    out_request_no=automatic_request_no(attempt_id), now=now, attempt_id=attempt_id)
            if refund.state == RefundState.FAILED.value:
                log.warning("refund_what_is_due: refund %s failed; an operator must look at order %s", refund.out_request_no, order_id)
            asked += 1
        except RefundRefused as exc:
            log.warning("refund_what_is_due: order %s: %s", order_id, exc)
        except Exception:  # noqa: BLE001
            session.rollback()
            log.exception("refund_what_is_due: order %s left for the next run", order_id)
    return asked
