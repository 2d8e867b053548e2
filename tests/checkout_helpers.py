"""Delivering a provider notification the way the sandbox does."""
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import SandboxTrade
from kiosk.payments import provider as provider_of


def notify(app, order, status="TRADE_SUCCESS"):
    """What the sandbox posts to the callback once the buyer pays (or the trade closes)."""
    provider = provider_of(app)
    with app.app_context():
        trade = db.session.scalar(select(SandboxTrade).where(SandboxTrade.out_trade_no == order.attempt.out_trade_no))
        trade.status = status
        db.session.commit()
        form = provider.notification_for(trade)
    return app.test_client().post("/payments/notify/sandbox", data=form)
