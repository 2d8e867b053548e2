"""What the app needs from a payment provider. Sandbox now; Alipay and WeChat Pay later.

States are mapped onto :class:`TradeState` by each provider, so services never see
``TRADE_SUCCESS`` or ``NOTPAY``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class TradeState(str, Enum):
    NOT_FOUND = "not_found"  # Alipay: no trade until the QR is scanned
    WAITING = "waiting"
    PAID = "paid"
    CLOSED = "closed"
    FAILED = "failed"


class ProviderError(Exception):
    """The provider could not be reached or refused the call; nothing changed on our side."""


class InvalidNotification(Exception):
    """A callback whose signature or shape does not check out: never acted on.

    ``reason`` is a short code (``bad_signature``, ``malformed``) that is counted, never the
    callback's content."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TradeStatus:
    state: TradeState
    trade_no: str | None = None
    amount_fen: int | None = None


@dataclass(frozen=True)
class Notification:
    out_trade_no: str
    state: TradeState
    trade_no: str
    amount_fen: int
    notify_id: str


@dataclass(frozen=True)
class CancelOutcome:
    refunded: bool  # the provider refunded a paid trade instead of closing it (Alipay does)


class PaymentProvider(Protocol):
    name: str
    # the exact body the provider wants back for an acknowledged notification
    ack_body: str

    def precreate(self, *, out_trade_no: str, amount_fen: int, subject: str, expires_at: dt.datetime, notify_url: str, public_base_url: str) -> str:
        """Open a trade; return the payload to encode in the QR code."""

    def query(self, out_trade_no: str) -> TradeStatus: ...

    def cancel(self, out_trade_no: str) -> CancelOutcome: ...

    def parse_notification(self, form: Mapping[str, str]) -> Notification:
        """Verify and read a callback; raise :class:`InvalidNotification` if it does not check out."""
