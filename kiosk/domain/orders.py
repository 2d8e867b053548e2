"""The payment's state machine: which source may move a payment attempt from which state to which.

An order (one checkout) is paid through attempts: one provider trade each, with its own QR
code, several side by side when a terminal offers several apps, and a new round of them when
the QR codes expired. Each attempt runs this machine; the order's state is derived from its
attempts (:func:`order_state`): the first attempt paid wins, and any other payment is given back.

The server owns every state, and this table is the one place that says how an attempt may
change. Every change in the services is a compare-and-set ``UPDATE ... WHERE status IN
(the states this source may move from)``, so the database applies the table even when
notifications, polls, sweeps and cancels race each other.

Why the table looks as it does:

- Closing an unpaid order takes two calls to the provider (query, then cancel) and the
  buyer may pay between them. So a closer first claims the order (PENDING -> CLOSING) and
  only the closer ends it: while it is CLOSING no notification or poll may record a payment,
  because the closer's cancel may be about to give that very payment back (Alipay refunds a
  trade paid a moment before its cancel). The cancel's answer decides: closed unpaid ->
  CANCELLED or EXPIRED; refunded -> REFUNDED; found paid before cancelling -> PAID.
- REFUNDED is final: a trade the provider refunded can never settle bills.
- A late payment of a trade whose cancel failed at the provider (``trade_open``) is money
  the provider holds: it may still be recorded (CANCELLED/EXPIRED/FAILED -> PAID), but only
  after the provider confirms it, and the sweep may claim such an order again to close its
  trade (-> CLOSING, which ends in the same state, PAID or REFUNDED).
- A paid order becomes REFUNDED when the refund service has given all its money back
  (``services.refunds``); staff ask for it and a supervisor approves (``services.staff_refunds``).
"""
from __future__ import annotations

import datetime as dt
from enum import Enum


class OrderStatus(str, Enum):
    PENDING = "pending"
    CLOSING = "closing"  # a closer is cancelling the trade; only it may end the order
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"
    REFUNDED = "refunded"

    @property
    def finished(self) -> bool:
        """Nothing more will happen unless the provider reports a late payment (GOV.UK Pay's flag)."""
        return self not in (OrderStatus.PENDING, OrderStatus.CLOSING)

    @property
    def closed_unpaid(self) -> bool:
        return self in UNPAID_ENDS


class Source(str, Enum):
    """Who asks for a change. Each is a separate path in the code that may race the others."""

    CHECKOUT = "checkout"  # the terminal making the order (precreate failed)
    NOTIFY = "notify"  # the provider's signed callback
    POLL = "poll"  # the QR screen asking the provider every few seconds
    RECONCILE = "reconcile"  # the operator's sweep (``flask reconcile``) asking about an unfinished order
    SWEEP_CLOSE = "sweep_close"  # the same sweep closing: a forgotten order past its deadline, a close
    # whose closer died, a trade whose cancel failed. Two sources, because a recorder must never
    # end an order that a live closer has claimed (the sweep recorded a payment the closer refunded)
    CANCEL = "cancel"  # the citizen's Cancel, or the terminal cancelling an order paid elsewhere
    EXPIRY = "expiry"  # the QR's deadline, noticed by the poll
    STAFF = "staff"  # a cashier at a counter recording the payment they took (``services.counter``)
    REFUND = "refund"  # the refund service, on behalf of a person or the system, once the money is all back


S = OrderStatus
UNPAID_ENDS = frozenset({S.CANCELLED, S.EXPIRED, S.FAILED})
RECORDERS = frozenset({Source.NOTIFY, Source.POLL, Source.RECONCILE})
CLOSERS = frozenset({Source.CANCEL, Source.EXPIRY, Source.SWEEP_CLOSE})

# (from, to) -> the sources that may make that move
TRANSITIONS: dict[tuple[OrderStatus, OrderStatus], frozenset[Source]] = {
    (S.PENDING, S.PAID): RECORDERS | {Source.STAFF},
    (S.PENDING, S.FAILED): frozenset({Source.CHECKOUT, Source.NOTIFY, Source.POLL, Source.RECONCILE}),
    (S.PENDING, S.CLOSING): CLOSERS,
    # only a closer ends a close; the sweep takes over one whose closer died
    (S.CLOSING, S.PAID): CLOSERS,
    (S.CLOSING, S.CANCELLED): frozenset({Source.CANCEL, Source.SWEEP_CLOSE}),
    (S.CLOSING, S.EXPIRED): frozenset({Source.EXPIRY, Source.SWEEP_CLOSE}),
    (S.CLOSING, S.FAILED): frozenset({Source.SWEEP_CLOSE}),
    (S.CLOSING, S.REFUNDED): CLOSERS,
    # a late payment of a trade the cancel could not close, once the provider confirms it
    **{(end, S.PAID): RECORDERS for end in UNPAID_ENDS},
    # the sweep closes such a trade again (and may find it paid or refund it)
    **{(end, S.CLOSING): frozenset({Source.SWEEP_CLOSE}) for end in UNPAID_ENDS},
    (S.PAID, S.REFUNDED): frozenset({Source.STAFF, Source.REFUND}),
}


class IllegalTransition(Exception):
    """A service asked for a move the table does not allow from any state: a bug, not a race."""


def may(source: Source, current: OrderStatus, target: OrderStatus) -> bool:
    return source in TRANSITIONS.get((current, target), ())


def from_states(source: Source, target: OrderStatus) -> frozenset[OrderStatus]:
    """The states from which ``source`` may move an order to ``target`` (the compare-and-set's
    ``WHERE status IN``). Raises ``IllegalTransition`` when there are none."""
    states = frozenset(current for (current, to), sources in TRANSITIONS.items() if to is target and source in sources)
    if not states:
        raise IllegalTransition(f"{source.value} may never move an order to {target.value}")
    return states


# when no attempt won: what the current round's attempts say, the liveliest first
_ROUND_ORDER = (S.PENDING, S.CLOSING, S.PAID, S.REFUNDED, S.CANCELLED, S.EXPIRED, S.FAILED)


def order_state(winner: str | OrderStatus | None, current_round: list[str] | list[OrderStatus]) -> OrderStatus:
    """An order's state from its attempts.

    - An attempt won (it was paid first): the order is as that attempt is, PAID or, once all
      its money went back, REFUNDED. Other attempts of the order do not matter to the citizen:
      they are closed, and any money they took is given back.
    - Otherwise the current round decides: PENDING while one of its QR codes can be paid,
      CLOSING while a closer is at work, then how the round ended (REFUNDED: a cancel gave a
      payment back; CANCELLED; EXPIRED; FAILED: no provider could open a trade).
    - PAID without a winner cannot be (a paid attempt either wins or is refunded), but an
      attempt recorded paid a moment before its order's winner is set is shown as PAID.
    """
    if winner is not None:
        return OrderStatus(winner)
    states = {OrderStatus(state) for state in current_round}
    for state in _ROUND_ORDER:
        if state in states:
            return state
    return OrderStatus.FAILED


def receipt_number(issued_local: dt.datetime, order_id: int) -> str:
    """R + local date + order id: unique because the order id is, readable over a counter."""
    return f"R{issued_local:%Y%m%d}{order_id:08d}"
