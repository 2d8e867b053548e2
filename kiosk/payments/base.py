"""What the app needs from a payment provider: the sandbox, Alipay face-to-face, WeChat Pay v3 Native.

States are mapped onto :class:`TradeState` and :class:`RefundState` by each provider, so
services never see ``TRADE_SUCCESS`` or ``NOTPAY``. Money is integer fen on this side of the
interface; each adapter converts at its edge.
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


@dataclass(frozen=True)
class Callback:
    """A provider's callback as it arrived. Alipay posts a signed form; WeChat Pay signs the raw
    body bytes with values from its headers, so nothing may be parsed and re-serialised first."""

    body: bytes
    headers: Mapping[str, str]
    form: Mapping[str, str]

    @classmethod
    def of_form(cls, form: Mapping[str, str]) -> Callback:
        """A form post (the sandbox's and Alipay's), as tests and the sandbox build it."""
        from urllib.parse import urlencode

        return cls(urlencode(dict(form)).encode(), {"Content-Type": "application/x-www-form-urlencoded"}, dict(form))


class RefundState(str, Enum):
    PROCESSING = "processing"  # accepted, not final yet: follow it with query_refund
    SUCCESS = "success"
    FAILED = "failed"  # refused or abnormal at the provider: the money did not go back


@dataclass(frozen=True)
class RefundStatus:
    out_request_no: str  # our refund request number: the same number never refunds twice
    state: RefundState
    amount_fen: int


class StatementKind(str, Enum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True)
class StatementRow:
    """One line of a provider's daily statement, in our terms (fen, UTC)."""

    kind: StatementKind
    out_trade_no: str
    trade_no: str
    amount_fen: int
    at: dt.datetime
    out_request_no: str | None = None  # refunds only
    # refunds only: the refund's state as the statement shows it. WeChat's bill lists a refund
    # once accepted, with its state at that moment (SUCCESS or PROCESSING), never updated later
    refund_state: RefundState = RefundState.SUCCESS


class PaymentProvider(Protocol):
    name: str
    # the exact body the provider wants back for an acknowledged notification
    ack_body: str
    # whether a query tells an unscanned QR code (NOT_FOUND) from one a buyer may be paying:
    # Alipay's trade exists only once scanned; WeChat Pay's native trade from its creation
    shows_scans: bool

    def precreate(self, *, out_trade_no: str, amount_fen: int, subject: str, expires_at: dt.datetime, notify_url: str, public_base_url: str) -> str:
        """Open a trade; return the payload to encode in the QR code."""

    def query(self, out_trade_no: str) -> TradeStatus: ...

    def cancel(self, out_trade_no: str) -> CancelOutcome: ...

    def parse_notification(self, callback: Callback) -> Notification:
        """Verify and read a callback; raise :class:`InvalidNotification` if it does not check out."""

    # Refunds and statements: the Alipay and WeChat Pay adapters implement them (issue 6); the
    # sandbox will, when the refund service lands.
    def refund(self, out_trade_no: str, *, out_request_no: str, amount_fen: int, total_fen: int, reason: str) -> RefundStatus:
        """Ask for ``amount_fen`` back; the same ``out_request_no`` never refunds twice."""

    def query_refund(self, out_trade_no: str, out_request_no: str) -> RefundStatus: ...

    def statement(self, day: dt.date) -> list[StatementRow]:
        """The provider's statement of ``day`` (its local date): payments and refunds."""
