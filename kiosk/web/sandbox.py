"""The sandbox wallet (what a phone shows after scanning the QR code) and the sandbox SMS gateway's messages."""
from __future__ import annotations

from flask import Blueprint, abort, current_app
from flask_login import current_user
from sqlalchemy import select

from ..domain.records import mask_phone
from ..extensions import db
from ..models import PaymentAttempt
from ..payments import payments
from ..payments.sandbox import TRADE_SUCCESS, WAIT_BUYER_PAY
from ..sms import sms_gateway
from . import render
from .forms import ActionForm

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")


def _show(trade):
    """The wallet's screen for the trade: payable, paid or closed (the template never reads raw states)."""
    screen = {WAIT_BUYER_PAY: "payable", TRADE_SUCCESS: "paid"}.get(trade.status, "closed")
    return render("sandbox/wallet.html", trade=trade, screen=screen, payee=_payee(trade.out_trade_no), form=ActionForm())


def _payee(out_trade_no: str) -> str:
    attempt = db.session.scalar(select(PaymentAttempt).where(PaymentAttempt.out_trade_no == out_trade_no))
    return attempt.order.payer.region.agency_name if attempt else ""


@bp.get("/wallet/<token>")
def wallet(token: str):
    trade = payments().get("sandbox").scan(token)
    if trade is None:
        abort(404)
    return _show(trade)


@bp.post("/wallet/<token>/<choice>")
def answer(token: str, choice: str):
    """Pay or Decline (CSRFProtect has checked the form before this runs)."""
    if choice not in ("pay", "decline"):
        abort(404)
    payments().get("sandbox").settle(token, pay=choice == "pay")
    trade = payments().get("sandbox").scan(token)
    if trade is None:
        abort(404)
    return _show(trade)


# the sandbox SMS gateway's messages: what a citizen's phone would have received (development,
# training and tests only: registered when SMS_GATEWAY is sandbox)
sms_bp = Blueprint("sandbox_sms", __name__, url_prefix="/sandbox/sms")


@sms_bp.get("/")
def messages():
    if current_app.config["ENV_NAME"] == "production" and not current_user.is_authenticated:
        # training mode in production: the codes are for the trainers, who log in as staff
        abort(404)
    gateway = sms_gateway()
    return render("sandbox/sms.html", "sandbox/_sms_list.html", messages=gateway.recent(), mask_phone=mask_phone)
