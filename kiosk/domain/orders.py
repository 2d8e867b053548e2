"""The payment order's state machine: which state may follow which.

The server owns every state. PAID may follow a finished state too: money the provider
confirmed is never thrown away, even when it arrives after a cancel or expiry. REFUNDED
follows PAID when the provider gave the whole payment back (Alipay's cancel refunds a trade
paid a moment before it): the bills are due again.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum


class OrderStatus(str, Enum):
    PENDING = "pending"
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"
    REFUNDED = "refunded"

    @property
    def finished(self) -> bool:
        return self is not OrderStatus.PENDING


ALLOWED = {
    OrderStatus.PENDING: {OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FAILED},
    OrderStatus.CANCELLED: {OrderStatus.PAID},
    OrderStatus.EXPIRED: {OrderStatus.PAID},
    OrderStatus.FAILED: {OrderStatus.PAID},
    OrderStatus.PAID: {OrderStatus.REFUNDED},
    OrderStatus.REFUNDED: set(),
}


def sources_of(target: OrderStatus) -> set[OrderStatus]:
    """The states from which ``target`` may be reached (for compare-and-set updates)."""
    return {source for source, targets in ALLOWED.items() if target in targets}


def receipt_number(issued_local: dt.datetime, order_id: int) -> str:
    """R + local date + order id: unique because the order id is, readable over a counter."""
    return f"R{issued_local:%Y%m%d}{order_id:08d}"
