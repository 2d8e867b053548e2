"""Refunds and voids that staff ask for and a supervisor approves (four eyes), carried out
through ``services.refunds``: the provider's refund for a QR payment, or cash out of the
counter's drawer for a payment taken at a counter. Every step is in the audit log.

1. ``ask``: a cashier (or supervisor) asks, with a reason; the amount is checked against what is
   still refundable, with the order locked; at most one request per order is open.
2. ``decide``: a supervisor who did not ask approves or rejects, by compare-and-set on the
   request's state, so two supervisors deciding at once decide once.
3. Approved, it is carried out under the request number ``S<request id>``: the provider never
   refunds the same number twice, and a cash refund is one transaction with its drawer entry.
   When all the money is back the bills are due again and the receipt is void (``refunds``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.clock import local_today, to_local, utcnow
from ..domain.counter import COUNTER_METHODS, DrawerKind
from ..domain.orders import OrderStatus, Source
from ..domain.refunds import RefundRuleBroken, RequestKind, RequestState, check_approver, check_request
from ..models import DrawerEntry, PaymentAttempt, PaymentOrder, Receipt, Refund, RefundRequest, StaffUser, Terminal
from ..payments.base import PaymentProvider, RefundState, RefundStatus
from . import refunds
from .counter import drawer_balance
from .reports import closed_until
from .settlement import lock_order
from .staff import audit
from .uow import UnitOfWork


def request_no(request_id: int) -> str:
    """The refund's request number at the provider: one per staff request, never refunded twice."""
    return f"S{request_id}"


def order_by_receipt(session: Session, number: str) -> PaymentOrder | None:
    order_id = session.scalar(select(Receipt.order_id).where(Receipt.number == number.strip().upper()))
    return session.get(PaymentOrder, order_id) if order_id is not None else None


def refundable_fen(session: Session, order_id: int) -> int:
    return refunds.available_fen(session, order_id)


def _code_of(session: Session, terminal_id: int) -> str:
    return session.scalar(select(Terminal.code).where(Terminal.id == terminal_id))


def _snapshot(request: RefundRequest) -> dict:
    return {"request_id": request.id, "order_id": request.order_id, "kind": request.kind, "amount_fen": request.amount_fen,
            "state": request.state}


def ask(uow: UnitOfWork, order_id: int, kind: RequestKind, amount_fen: int | None, reason: str, staff_id: int,
        terminal_id: int, now: dt.datetime | None = None) -> int:
    """A refund or void asked for; returns the request's id. ``amount_fen`` None: all that is
    refundable. Raises ``RefundRuleBroken``; nothing is written then."""
    now = now or utcnow()
    reason = reason.strip()[:200]

    def work(session: Session) -> int:
        order = lock_order(session, order_id)
        attempt = session.get(PaymentAttempt, order.paid_attempt_id) if order and order.paid_attempt_id else None
        if attempt is None or attempt.status != OrderStatus.PAID.value:
            raise RefundRuleBroken("not_paid")
        refundable = refundable_fen(session, order_id)
        amount = refundable if amount_fen is None else amount_fen
        closed = closed_until(session)
        check_request(kind, amount, refundable, attempt.amount_fen, reason, to_local(attempt.paid_at).date(), local_today(now),
                      day_closed=closed is not None and attempt.paid_at <= closed)
        request = RefundRequest(order_id=order_id, kind=kind.value, amount_fen=amount, reason=reason,
                                state=RequestState.REQUESTED.value, requested_by=staff_id, requested_at=now, terminal_id=terminal_id)
        session.add(request)
        session.flush()  # another open request for the order fails here
        audit(session, f"{kind.value}.request", staff_id, _code_of(session, terminal_id), now=now, after=_snapshot(request),
              detail=reason)
        return request.id

    try:
        return uow.run(work, retries=1)
    except IntegrityError:
        raise RefundRuleBroken("open") from None


def decide(uow: UnitOfWork, request_id: int, approver_id: int, approve: bool, providers: Mapping[str, PaymentProvider],
           terminal_code: str = "", now: dt.datetime | None = None) -> RefundRequest:
    """A supervisor's decision; approved, the refund is carried out at once. Raises
    ``RefundRuleBroken`` (role, own, decided, drawer) with nothing changed."""
    now = now or utcnow()

    def work(session: Session) -> str:
        request = session.get(RefundRequest, request_id, populate_existing=True)
        approver = session.get(StaffUser, approver_id)
        if request is None or request.state != RequestState.REQUESTED.value:
            raise RefundRuleBroken("decided")
        check_approver(request.requested_by, approver_id, approver.role)
        provider = session.scalar(select(PaymentAttempt.provider).join(PaymentOrder, PaymentOrder.paid_attempt_id == PaymentAttempt.id)
                                  .where(PaymentOrder.id == request.order_id))
        if approve and provider in COUNTER_METHODS and drawer_balance(session, request.terminal_id) < request.amount_fen:
            raise RefundRuleBroken("drawer")  # the cash is not in the drawer to hand back
        before = _snapshot(request)
        target = RequestState.APPROVED if approve else RequestState.REJECTED
        decided = session.execute(
            update(RefundRequest).where(RefundRequest.id == request_id, RefundRequest.state == RequestState.REQUESTED.value)
            .values(state=target.value, decided_by=approver_id, decided_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if not decided:
            raise RefundRuleBroken("decided")  # another supervisor decided a moment before
        session.refresh(request)
        audit(session, f"{request.kind}.{'approve' if approve else 'reject'}", approver_id, terminal_code, now=now,
              before=before, after=_snapshot(request))
        return provider

    provider_name = uow.run(work, retries=1)
    if approve:
        _carry_out(uow, request_id, provider_name, providers, approver_id, terminal_code, now)
    return uow.session.get(RefundRequest, request_id, populate_existing=True)


def _carry_out(uow: UnitOfWork, request_id: int, provider_name: str, providers: Mapping[str, PaymentProvider],
               staff_id: int, terminal_code: str, now: dt.datetime) -> None:
    session = uow.session
    request = session.get(RefundRequest, request_id)
    order_id, amount, reason = request.order_id, request.amount_fen, request.reason
    if provider_name in COUNTER_METHODS:
        uow.run(lambda s: _cash_back(s, request_id, provider_name, staff_id, terminal_code, now), retries=1)
        return
    provider = providers.get(provider_name)
    try:
        if provider is None:
            raise refunds.RefundRefused("other_provider", f"{provider_name} is not configured here")
        refund = refunds.request_refund(uow, order_id, amount, reason, Source.STAFF, provider,
                                        out_request_no=request_no(request_id), now=now)
    except refunds.RefundRefused as refused:
        why = str(refused)
        uow.run(lambda s: _end(s, request_id, None, RequestState.FAILED, staff_id, terminal_code, now, why))
        return
    state = {RefundState.SUCCESS.value: RequestState.DONE, RefundState.FAILED.value: RequestState.FAILED}.get(refund.state)
    refund_id = refund.id
    uow.run(lambda s: _end(s, request_id, refund_id, state, staff_id, terminal_code, now))


def _cash_back(session: Session, request_id: int, method: str, staff_id: int, terminal_code: str, now: dt.datetime) -> None:
    """A counter payment's refund (``method``: how it was taken): the refund recorded done and the
    cash out of the drawer, together."""
    request = session.get(RefundRequest, request_id, populate_existing=True)
    refund, _ = refunds.open_refund(session, request.order_id, request.amount_fen, request.reason, Source.STAFF, method,
                                    request_no(request_id), now)
    refunds.finish_refund(session, refund.id, RefundStatus(refund.out_request_no, RefundState.SUCCESS, refund.amount_fen), now)
    session.add(DrawerEntry(terminal_id=request.terminal_id, staff_id=staff_id, kind=DrawerKind.REFUND.value,
                            amount_fen=-request.amount_fen, order_id=request.order_id, at=now))
    _end(session, request_id, refund.id, RequestState.DONE, staff_id, terminal_code, now)


def _end(session: Session, request_id: int, refund_id: int | None, state: RequestState | None, staff_id: int,
         terminal_code: str, now: dt.datetime, detail: str = "") -> None:
    """Note what became of an approved request (``state`` None: the provider has not answered yet;
    ``follow_requests`` finishes it)."""
    request = session.get(RefundRequest, request_id, populate_existing=True)
    before = _snapshot(request)
    request.refund_id = refund_id or request.refund_id
    if state is not None:
        request.state = state.value
        audit(session, f"{request.kind}.{state.value}", staff_id, terminal_code, now=now, before=before,
              after=_snapshot(request), detail=detail[:200])


def follow_requests(uow: UnitOfWork, now: dt.datetime | None = None) -> int:
    """Approved requests whose provider refund has since ended (``flask refunds`` followed it up):
    done or failed. Returns how many it finished."""
    now = now or utcnow()
    ends = {RefundState.SUCCESS.value: RequestState.DONE, RefundState.FAILED.value: RequestState.FAILED}

    def work(session: Session) -> int:
        rows = session.execute(select(RefundRequest.id, Refund.state, RefundRequest.decided_by)
                               .join(Refund, Refund.id == RefundRequest.refund_id)
                               .where(RefundRequest.state == RequestState.APPROVED.value, Refund.state.in_(list(ends)))).all()
        for request_id, refund_state, decided_by in rows:
            _end(session, request_id, None, ends[refund_state], decided_by, "", now)
        return len(rows)

    return uow.run(work)


def requests_to_show(session: Session, limit: int = 50) -> list[RefundRequest]:
    """Open requests first (oldest first: the longest waiting), then the latest decided ones."""
    open_ = list(session.scalars(select(RefundRequest).where(RefundRequest.state == RequestState.REQUESTED.value)
                                 .order_by(RefundRequest.id)))
    recent = list(session.scalars(select(RefundRequest).where(RefundRequest.state != RequestState.REQUESTED.value)
                                  .order_by(RefundRequest.id.desc()).limit(limit)))
    return open_ + recent
