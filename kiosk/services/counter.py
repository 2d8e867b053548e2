"""Payments taken by a cashier at a counter: cash, a bank card on the POS terminal, or a social
security card.

The citizen's dues are the kiosk's: the cashier's browser holds a visit at the counter's terminal,
with the same look-up, family members and lines. Taking the payment is one unit of work: the
order and its one attempt are made, the attempt is recorded paid by ``Source.STAFF`` through
the same transition table and settlement as a kiosk's payment (``settlement.settle``), and how it
was taken (``CounterPayment``), the cash drawer's entry and the audit entry are written, all in
one commit. So a bill another channel holds or has paid is refused, and a form sent twice takes
the money once (the visit's checkout key is the order's idempotency key).
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.clock import utcnow
from ..domain.counter import CounterMethod, CounterProblem, DrawerKind, change_due, mask_card_number, pos_reference
from ..domain.orders import OrderStatus, Source
from ..models import CounterPayment, DrawerEntry, PaymentAttempt, PaymentOrder, Terminal, Visit
from .checkout import CheckoutError, check_choice, chosen_lines, new_order, order_with_key, refusal_of
from .settlement import Recorded, log_event, settle
from .staff import audit
from .uow import UnitOfWork


@dataclass(frozen=True)
class Tender:
    """What the cashier entered about the money: the cash handed over, or the slip's reference
    and, for a social security card, its number (kept masked only)."""

    method: CounterMethod
    tendered_fen: int | None = None
    reference: str | None = None
    card_number: str | None = None


@dataclass(frozen=True)
class CounterReceipt:
    """A counter payment as its result screen shows it."""

    order_id: int
    total_fen: int
    method: CounterMethod
    change_fen: int | None
    again: bool  # the form was sent again: this is the payment the first one took


def _details(tender: Tender, total_fen: int) -> dict:
    """The ``CounterPayment`` columns for ``tender``; ``CounterProblem`` for what cannot be taken."""
    if tender.method.takes_cash:
        if tender.tendered_fen is None:
            raise CounterProblem("tendered")
        return {"tendered_fen": tender.tendered_fen, "change_fen": change_due(total_fen, tender.tendered_fen)}
    details = {"reference": pos_reference(tender.reference)}
    if tender.method.needs_card_number:
        details["card_masked"] = mask_card_number(tender.card_number)
    return details


def taken(session: Session, order_id: int) -> CounterPayment | None:
    """How the order was paid at the counter (None: not a counter payment)."""
    return session.scalar(select(CounterPayment).join(PaymentAttempt, PaymentAttempt.id == CounterPayment.attempt_id)
                          .where(PaymentAttempt.order_id == order_id))


def _result(session: Session, order: PaymentOrder, again: bool) -> CounterReceipt:
    payment = taken(session, order.id)
    if payment is None:  # the key made a kiosk order (cannot be: counter visits have their own keys)
        raise CheckoutError("stale")
    return CounterReceipt(order.id, order.total_fen, CounterMethod(payment.method), payment.change_fen, again)


def take_payment(uow: UnitOfWork, visit_id: int, bill_ids: list[int], key: str, tender: Tender, staff_id: int,
                 now: dt.datetime | None = None) -> CounterReceipt:
    """Take the payment of the chosen bills at the counter, in one commit. Raises
    ``CheckoutError`` (stale, nothing_selected, not_payable, held_elsewhere) or ``CounterProblem``
    (short, tendered, reference, card): nothing is written then. The same key again returns the
    payment the first request took."""
    now = now or utcnow()
    session = uow.session
    try:
        with uow:
            visit = session.get(Visit, visit_id)
            existing = order_with_key(session, key, visit.person_id)
            if existing is not None:
                return _result(session, existing, again=True)
            check_choice(session, visit, bill_ids, key)
            chosen = chosen_lines(session, visit, bill_ids, now)
            refusal = refusal_of(chosen)
            if refusal:
                raise CheckoutError(refusal)
            order = new_order(visit, key, chosen, now, expires_at=now, staff_id=staff_id)
            details = _details(tender, order.total_fen)
            attempt = PaymentAttempt(order=order, provider=tender.method.value, amount_fen=order.total_fen,
                                     out_trade_no=f"C{now:%Y%m%d%H%M%S}{secrets.token_hex(6)}",
                                     status=OrderStatus.PENDING.value, created_at=now, expires_at=now)
            session.add_all([order, attempt])
            session.flush()  # a bill another order holds (a kiosk's QR being paid) fails here
            log_event(session, order.id, "created", Source.STAFF, f"{len(order.items)} items, {order.total_fen} fen at the counter")
            if settle(session, attempt.id, details.get("reference") or f"CASH-{order.id}", order.total_fen, Source.STAFF,
                      now) is not Recorded.RECORDED:
                raise CheckoutError("not_payable")
            session.add(CounterPayment(attempt_id=attempt.id, method=tender.method.value, staff_id=staff_id,
                                       terminal_id=visit.terminal_id, at=now, **details))
            if tender.method.takes_cash:
                session.add(DrawerEntry(terminal_id=visit.terminal_id, staff_id=staff_id, kind=DrawerKind.SALE.value,
                                        amount_fen=order.total_fen, order_id=order.id, at=now))
            terminal_code = session.scalar(select(Terminal.code).where(Terminal.id == visit.terminal_id))
            audit(session, "counter.payment", staff_id, terminal_code, now=now,
                  after={"order_id": order.id, "total_fen": order.total_fen, "method": tender.method.value,
                         "items": len(order.items), **{k: v for k, v in details.items() if k != "reference"}})
            visit.order_id = order.id
            session.flush()
            result = _result(session, order, again=False)
            uow.commit()
            return result
    except IntegrityError:
        # the same form sent twice at once (the key is taken), or a bill held or paid by another order
        with uow:
            existing = order_with_key(session, key, session.get(Visit, visit_id).person_id)
            if existing is not None:
                return _result(session, existing, again=True)
        raise CheckoutError("held_elsewhere") from None


def drawer_balance(session: Session, terminal_id: int) -> int:
    """What the counter's cash drawer should hold: the float put in, cash taken, cash given back."""
    return session.scalar(select(func.coalesce(func.sum(DrawerEntry.amount_fen), 0))
                          .where(DrawerEntry.terminal_id == terminal_id))


def put_float(uow: UnitOfWork, terminal_id: int, amount_fen: int, staff_id: int, now: dt.datetime | None = None) -> int:
    """Cash put into the drawer as change (the morning's float); returns the expected balance."""
    if amount_fen <= 0:
        raise CounterProblem("float")
    now = now or utcnow()

    def work(session: Session) -> int:
        before = drawer_balance(session, terminal_id)
        session.add(DrawerEntry(terminal_id=terminal_id, staff_id=staff_id, kind=DrawerKind.FLOAT.value, amount_fen=amount_fen, at=now))
        code = session.scalar(select(Terminal.code).where(Terminal.id == terminal_id))
        audit(session, "drawer.float", staff_id, code, before={"balance_fen": before},
              after={"balance_fen": before + amount_fen}, now=now)
        return before + amount_fen

    return uow.run(work)
