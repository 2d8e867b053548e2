"""The operator's sweeps, run by ``flask`` commands on a timer: the safety net for a kiosk that
went away, a closer that died and a notification that never came."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from ..domain.clock import utcnow
from ..domain.orders import OrderStatus, Source
from ..models import PaymentAttempt, PaymentOrder
from ..payments.base import PaymentProvider
from .checkout import CLOSE_LEASE, PAID_WITH_OTHER, ask_provider, close, finish_close
from .uow import UnitOfWork

log = logging.getLogger(__name__)

# how long after closing an order its trade is still asked about: Alipay notifies for 25 h
LATE_PAYMENT_WINDOW = dt.timedelta(hours=25)


def reconcile(uow: UnitOfWork, provider: PaymentProvider, now: dt.datetime | None = None) -> int:
    """Follow every unfinished attempt of ``provider`` to its end.

    - PENDING: the QR codes of an order another attempt won are closed (their payment, if one
      slipped in, is recorded and given back); expired ones are closed; the others asked about.
    - CLOSING for longer than a closer can take: its closer died; finish the close.
    - Closed here while the provider's cancel failed (``trade_open``, up to 25 hours back):
      their QR may still be paid, so close the trade again (finding a payment if there is one).
      Only those: a trade the provider closed cannot be paid."""
    now = now or utcnow()
    session = uow.session
    rows = session.execute(select(PaymentAttempt.id, PaymentAttempt.status, PaymentAttempt.expires_at,
                                  PaymentOrder.paid_attempt_id.is_not(None))
                           .join(PaymentOrder, PaymentOrder.id == PaymentAttempt.order_id).where(
        PaymentAttempt.provider == provider.name,
        (PaymentAttempt.status == OrderStatus.PENDING.value)
        | ((PaymentAttempt.status == OrderStatus.CLOSING.value) & (PaymentAttempt.closing_at <= now - CLOSE_LEASE))
        | (PaymentAttempt.trade_open.is_(True) & (PaymentAttempt.finished_at >= now - LATE_PAYMENT_WINDOW)),
    ).order_by(PaymentAttempt.id)).all()
    session.rollback()  # no transaction stays open while the provider is asked
    for attempt_id, status, expires_at, order_paid in rows:
        try:
            if status == OrderStatus.PENDING.value:
                if order_paid:
                    close(uow, attempt_id, OrderStatus.CANCELLED, provider, Source.SWEEP_CLOSE, now, PAID_WITH_OTHER)
                elif now >= expires_at:
                    close(uow, attempt_id, OrderStatus.EXPIRED, provider, Source.SWEEP_CLOSE, now)
                else:
                    ask_provider(uow, attempt_id, provider, Source.RECONCILE, now)
            elif status == OrderStatus.CLOSING.value:
                finish_close(uow, attempt_id, provider, Source.SWEEP_CLOSE, now, "the closer did not finish: closed by the sweep")
            else:
                close(uow, attempt_id, OrderStatus(status), provider, Source.SWEEP_CLOSE, now)
        except Exception:  # noqa: BLE001 - one troubled attempt must not hide the payments of the others
            session.rollback()
            log.exception("reconcile: attempt %s left for the next sweep", attempt_id)
    return len(rows)
