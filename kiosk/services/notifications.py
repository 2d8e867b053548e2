"""The provider's callbacks: verified, recorded once, refused without writing rows."""
from __future__ import annotations

import datetime as dt
import logging
from enum import Enum

from sqlalchemy import select, update

from ..domain.clock import utcnow
from ..domain.orders import OrderStatus, Source
from ..models import CallbackRefusal, PaymentAttempt
from ..payments.base import Callback, InvalidNotification, PaymentProvider, ProviderError, TradeState
from .settlement import Recorded, mark_failed, record_payment, status_of
from .uow import UnitOfWork

log = logging.getLogger(__name__)


class Reply(str, Enum):
    ACKNOWLEDGE = "acknowledge"  # recorded, or known already: the provider may stop sending it
    REFUSE = "refuse"  # forged, malformed, unknown or contradicted: never acted on
    RETRY_LATER = "retry_later"  # the order is being closed right now: ask again later


def count_refusal(uow: UnitOfWork, provider_name: str, reason: str, now: dt.datetime | None = None) -> None:
    """A refused callback: one log line without its content, and one more in today's count.

    Counted in one row per day, provider and reason, so that a flood of garbage cannot grow
    the database (a row per callback did: 3,330 rows in 10 s)."""
    now = now or utcnow()
    log.warning("refused a %s callback: %s", provider_name, reason)
    day = now.date()

    def bump(session):
        match = (CallbackRefusal.day == day, CallbackRefusal.provider == provider_name, CallbackRefusal.reason == reason)
        bumped = session.execute(update(CallbackRefusal).where(*match).values(count=CallbackRefusal.count + 1, last_at=now)
                                 .execution_options(synchronize_session=False)).rowcount
        if not bumped:
            session.add(CallbackRefusal(day=day, provider=provider_name, reason=reason, count=1, last_at=now))
            session.flush()  # a racing refusal made today's row first: IntegrityError, and run() counts again

    uow.run(bump)


def handle_notification(uow: UnitOfWork, provider: PaymentProvider, callback: Callback) -> Reply:
    """A provider's callback. An exception on the way propagates, nothing is committed, and the
    provider sends it again."""
    try:
        note = provider.parse_notification(callback)
    except InvalidNotification as exc:
        count_refusal(uow, provider.name, exc.reason)
        return Reply.REFUSE
    session = uow.session
    attempt_id = session.scalar(select(PaymentAttempt.id).where(PaymentAttempt.out_trade_no == note.out_trade_no,
                                                                PaymentAttempt.provider == provider.name))
    if attempt_id is None:
        count_refusal(uow, provider.name, "unknown_order")
        return Reply.REFUSE
    if note.state in (TradeState.CLOSED, TradeState.FAILED):
        mark_failed(uow, attempt_id, Source.NOTIFY, "closed at the provider")
        return Reply.ACKNOWLEDGE
    if note.state is not TradeState.PAID:
        return Reply.ACKNOWLEDGE
    status = status_of(session, attempt_id)
    if status.closed_unpaid:
        # closed here: believe a payment only if the provider confirms it now (its cancel may
        # have failed and the QR been paid since); a closed trade means nothing was paid
        uow.idle()
        try:
            confirmed = provider.query(note.out_trade_no).state is TradeState.PAID
        except ProviderError:
            return Reply.RETRY_LATER
        if not confirmed:
            count_refusal(uow, provider.name, "not_confirmed_by_provider")
            return Reply.REFUSE
    recorded = record_payment(uow, attempt_id, trade_no=note.trade_no, amount_fen=note.amount_fen, source=Source.NOTIFY)
    if recorded is Recorded.MISMATCH:
        return Reply.REFUSE
    if recorded is Recorded.REFUSED:
        # CLOSING: the closer's cancel decides what becomes of this money; REFUNDED: it went back
        return Reply.ACKNOWLEDGE if status_of(session, attempt_id) is OrderStatus.REFUNDED else Reply.RETRY_LATER
    return Reply.ACKNOWLEDGE
