"""Staff refunds and voids with four eyes: one member of staff asks, a supervisor who is not the
same person approves (no flask, no database).

- A **refund** gives back part or all of a payment, any day, up to what is still refundable.
- A **void** cancels a payment on the day it was taken: all of it, before any refund.
- Either is carried out once approved: through the provider's refund for a QR payment, or as
  cash out of the counter's drawer for a payment taken at a counter.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

APPROVER_ROLES = frozenset({"supervisor"})
MAX_REASON_LENGTH = 200


class RequestKind(str, Enum):
    REFUND = "refund"
    VOID = "void"


class RequestState(str, Enum):
    REQUESTED = "requested"  # waiting for a supervisor
    REJECTED = "rejected"
    APPROVED = "approved"  # being carried out
    DONE = "done"  # the money went back
    FAILED = "failed"  # the provider refused: the payment stands, a new request may be made


OPEN_STATES = frozenset({RequestState.REQUESTED, RequestState.APPROVED})


class RefundRuleBroken(ValueError):
    """A request or a decision the rules do not allow; ``code`` picks the message:
    own (approving one's own request), role (not a supervisor), reason (none given),
    amount (not more than 0), too_much (above what is refundable), void_day (a void on a later
    day), void_closed (a void of a payment in a closed day), void_partial (a void of part of a payment, or after a refund), not_paid, open
    (another request for the payment is open), decided (someone decided already)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def check_approver(requested_by: int, approver_id: int, approver_role: str) -> None:
    """Four eyes: a supervisor, and never the one who asked."""
    if approver_role not in APPROVER_ROLES:
        raise RefundRuleBroken("role")
    if approver_id == requested_by:
        raise RefundRuleBroken("own")


def check_request(kind: RequestKind, amount_fen: int, refundable_fen: int, paid_fen: int, reason: str,
                  paid_on: dt.date, today: dt.date, day_closed: bool = False) -> None:
    """What a request must be: a reason; an amount above 0 and within what is refundable; a void
    only on the day of the payment, for all of it, before any refund, and before that day is
    closed (``day_closed``: a closed day never changes; a refund goes into the next day)."""
    if not reason.strip():
        raise RefundRuleBroken("reason")
    if refundable_fen <= 0:
        raise RefundRuleBroken("not_paid")
    if kind is RequestKind.VOID:
        if paid_on != today:
            raise RefundRuleBroken("void_day")
        if day_closed:
            raise RefundRuleBroken("void_closed")
        if amount_fen != paid_fen or refundable_fen != paid_fen:
            raise RefundRuleBroken("void_partial")
    if amount_fen <= 0:
        raise RefundRuleBroken("amount")
    if amount_fen > refundable_fen:
        raise RefundRuleBroken("too_much")
