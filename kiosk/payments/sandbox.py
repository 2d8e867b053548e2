"""A sandbox provider that behaves like Alipay face-to-face, in this app's own database.

Its ledger (``sandbox_trade``) is written in sessions of its own, committed apart from
the app's transaction, as a real provider's would be. Notifications are signed form
posts (HMAC-SHA256 over the sorted ``k=v&...`` string without ``sign`` and
``sign_type``, where Alipay uses RSA2) and go to the same callback URL a real provider
would use.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..database import remote_session, writing
from ..domain.clock import LOCAL_ZONE, local_today, utcnow
from ..domain.money import fen_of_yuan, yuan_of_fen
from ..models import SandboxRefund, SandboxTrade
from .base import (Callback, CancelOutcome, InvalidNotification, Notification, ProviderError, RefundState, RefundStatus,
                   StatementKind, StatementRow, TradeState, TradeStatus)

log = logging.getLogger(__name__)

# Alipay's trade states, as the sandbox keeps them
CREATED, WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_CLOSED = "CREATED", "WAIT_BUYER_PAY", "TRADE_SUCCESS", "TRADE_CLOSED"
_STATE = {WAIT_BUYER_PAY: TradeState.WAITING, TRADE_SUCCESS: TradeState.PAID, TRADE_CLOSED: TradeState.CLOSED}
WALLET_PATH = "/sandbox/wallet/"
TRADE_NO_LENGTH = 64  # Alipay's out_trade_no and trade_no are at most 64 characters, and so are our columns


def sign(params: Mapping[str, str], key: str) -> str:
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign", "sign_type") and params[k] != "")
    return hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()


class SandboxProvider:
    name = "sandbox"
    ack_body = "success"
    shows_scans = True  # NOT_FOUND until the wallet page is opened, as Alipay

    def __init__(self, engine_source: Callable[[], Engine], signing_key: str, notify_mode: str = "http", name: str = "sandbox"):
        # a second sandbox under another name stands for a second app in tests of several QR codes
        self.name = name
        self._engine_source = engine_source
        self._key = signing_key
        self.notify_mode = notify_mode

    def _session(self) -> Session:
        return remote_session(self._engine_source(), "a payment provider")

    @contextlib.contextmanager
    def _writing(self):
        """The ledger's writing transactions: BEGIN IMMEDIATE on SQLite, where FOR UPDATE is dropped."""
        with self._session() as session, writing(), session.begin():
            yield session

    # -- the merchant's side of the protocol -------------------------------------------
    def precreate(self, *, out_trade_no, amount_fen, subject, expires_at, notify_url, public_base_url) -> str:
        token = secrets.token_urlsafe(24)
        with self._writing() as session:
            session.add(SandboxTrade(out_trade_no=out_trade_no, token=token, trade_no="SBX" + secrets.token_hex(10),
                                     subject=subject, amount_fen=amount_fen, expires_at=expires_at, notify_url=notify_url))
        return public_base_url.rstrip("/") + WALLET_PATH + token

    def query(self, out_trade_no: str) -> TradeStatus:
        with self._session() as session:
            trade = session.scalar(select(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no))
            if trade is None or trade.status == CREATED:
                return TradeStatus(TradeState.NOT_FOUND)
            return TradeStatus(_STATE[trade.status], trade.trade_no, trade.amount_fen)

    def cancel(self, out_trade_no: str) -> CancelOutcome:
        with self._writing() as session:
            trade = session.scalar(select(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no).with_for_update())
            if trade is None:
                # never created here (the app died before its precreate): nothing can pay it
                return CancelOutcome(refunded=False)
            if trade.status == TRADE_SUCCESS:
                trade.status, trade.refunded_fen = TRADE_CLOSED, trade.amount_fen
                return CancelOutcome(refunded=True)
            if trade.status != TRADE_CLOSED:
                trade.status, trade.finished_at = TRADE_CLOSED, utcnow()
            # a repeated cancel answers as the first did (a closer that died may be followed by the sweep)
            return CancelOutcome(refunded=trade.refunded_fen > 0)

    def refund(self, out_trade_no: str, *, out_request_no: str, amount_fen: int, total_fen: int, reason: str) -> RefundStatus:
        """Alipay's trade.refund: the same ``out_request_no`` answers the first refund again; never
        more than the trade's amount minus what was refunded already."""
        with self._writing() as session:
            earlier = session.scalar(select(SandboxRefund).where(SandboxRefund.out_request_no == out_request_no))
            if earlier is not None:
                if earlier.out_trade_no != out_trade_no:
                    raise ProviderError("refund request number used for another trade")
                return RefundStatus(out_request_no, RefundState.SUCCESS, earlier.amount_fen)
            trade = session.scalar(select(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no).with_for_update())
            if trade is None or trade.status != TRADE_SUCCESS:
                # unpaid, or closed (a cancel that refunded the whole trade)
                raise ProviderError("trade not refundable")
            if amount_fen <= 0 or amount_fen > trade.amount_fen - trade.refunded_fen:
                raise ProviderError("refund amount exceeds what is left of the trade")
            session.add(SandboxRefund(out_trade_no=out_trade_no, out_request_no=out_request_no, amount_fen=amount_fen,
                                      status="REFUND_SUCCESS"))
            trade.refunded_fen += amount_fen
        return RefundStatus(out_request_no, RefundState.SUCCESS, amount_fen)

    def query_refund(self, out_trade_no: str, out_request_no: str) -> RefundStatus:
        """A refund request that never arrived (or was refused) is answered as failed."""
        with self._session() as session:
            row = session.scalar(select(SandboxRefund).where(SandboxRefund.out_request_no == out_request_no,
                                                             SandboxRefund.out_trade_no == out_trade_no))
            if row is None:
                return RefundStatus(out_request_no, RefundState.FAILED, 0)
            return RefundStatus(out_request_no, RefundState.SUCCESS, row.amount_fen)

    def statement(self, day: dt.date) -> list[StatementRow]:
        """The ledger's trade statement of ``day`` (a Beijing date), as Alipay's trade bill has it:
        one line per payment (at its payment time) and one per refund (at its time). Like Alipay's
        (T+1), a day's statement exists only once the day is over. A paid trade that a cancel
        refunded keeps its payment line; the cancel's refund has no line of its own here (the
        sandbox keeps no time or request number for it)."""
        if day >= local_today(utcnow()):
            raise ProviderError("statement not ready: the day is not over yet")
        start = dt.datetime.combine(day, dt.time(), LOCAL_ZONE).astimezone(dt.timezone.utc).replace(tzinfo=None)
        end = start + dt.timedelta(days=1)
        with self._session() as session:
            trades = session.scalars(select(SandboxTrade).where(
                SandboxTrade.finished_at >= start, SandboxTrade.finished_at < end,
                (SandboxTrade.status == TRADE_SUCCESS) | ((SandboxTrade.status == TRADE_CLOSED) & (SandboxTrade.refunded_fen > 0)),
            ).order_by(SandboxTrade.finished_at, SandboxTrade.id)).all()
            rows = [StatementRow(StatementKind.PAYMENT, t.out_trade_no, t.trade_no, t.amount_fen, t.finished_at) for t in trades]
            refunds = session.execute(select(SandboxRefund, SandboxTrade.trade_no)
                                      .join(SandboxTrade, SandboxTrade.out_trade_no == SandboxRefund.out_trade_no)
                                      .where(SandboxRefund.created_at >= start, SandboxRefund.created_at < end)
                                      .order_by(SandboxRefund.created_at, SandboxRefund.id)).all()
            rows += [StatementRow(StatementKind.REFUND, r.out_trade_no, trade_no, r.amount_fen, r.created_at, out_request_no=r.out_request_no)
                     for r, trade_no in refunds]
        return rows

    def parse_notification(self, callback: Callback) -> Notification:
        form = callback.form
        # compared as bytes: compare_digest refuses str with non-ASCII, and such a sign is simply wrong
        given = form.get("sign", "").encode("utf-8", "surrogatepass")
        if not given or not hmac.compare_digest(given, sign(form, self._key).encode()):
            raise InvalidNotification("bad_signature")
        try:
            state = {TRADE_SUCCESS: TradeState.PAID, "TRADE_FINISHED": TradeState.PAID, TRADE_CLOSED: TradeState.CLOSED}[form["trade_status"]]
            if len(form["out_trade_no"]) > TRADE_NO_LENGTH or len(form["trade_no"]) > TRADE_NO_LENGTH:
                raise ValueError("trade number")
            return Notification(form["out_trade_no"], state, form["trade_no"], fen_of_yuan(form["total_amount"]), form["notify_id"])
        except (KeyError, ValueError):
            raise InvalidNotification("malformed") from None

    # -- the buyer's side: the wallet page on a phone ----------------------------------
    def scan(self, token: str) -> SandboxTrade | None:
        """Opening the QR's URL is the scan: from now on the trade exists (WAIT_BUYER_PAY)."""
        with self._writing() as session:
            trade = session.scalar(select(SandboxTrade).where(SandboxTrade.token == token).with_for_update())
            if trade is None:
                return None
            if trade.status == CREATED:
                trade.status = TRADE_CLOSED if utcnow() >= trade.expires_at else WAIT_BUYER_PAY
                if trade.status == TRADE_CLOSED:
                    trade.finished_at = utcnow()
            return trade

    def settle(self, token: str, *, pay: bool) -> SandboxTrade | None:
        """The buyer pays (or declines). Returns the trade, or None if it can no longer be paid."""
        with self._writing() as session:
            trade = session.scalar(select(SandboxTrade).where(SandboxTrade.token == token).with_for_update())
            if trade is None or trade.status not in (CREATED, WAIT_BUYER_PAY):
                return None
            if utcnow() >= trade.expires_at:
                trade.status, trade.finished_at = TRADE_CLOSED, utcnow()
                return None
            trade.status, trade.finished_at = (TRADE_SUCCESS if pay else TRADE_CLOSED), utcnow()
        if self.notify_mode == "http" and trade.notify_url:
            threading.Thread(target=self._deliver, args=(trade.notify_url, self.notification_for(trade)), daemon=True).start()
        return trade

    def notification_for(self, trade: SandboxTrade, notify_id: str | None = None) -> dict[str, str]:
        params = {
            "notify_id": notify_id or secrets.token_hex(12),
            "notify_type": "trade_status_sync",
            "out_trade_no": trade.out_trade_no,
            "trade_no": trade.trade_no,
            "trade_status": trade.status,
            "total_amount": yuan_of_fen(trade.amount_fen),
            "gmt_payment": f"{trade.finished_at or utcnow():%Y-%m-%d %H:%M:%S}",
            "sign_type": "HMAC-SHA256",
        }
        params["sign"] = sign(params, self._key)
        return params

    def _deliver(self, url: str, params: dict[str, str], delays=(0, 1, 3, 10)) -> bool:
        """Post until the merchant answers exactly ``success`` (the same notify_id each time)."""
        body = urllib.parse.urlencode(params).encode()
        for delay in delays:
            time.sleep(delay)
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as response:
                    if response.read().decode().strip() == self.ack_body:
                        return True
            except OSError as exc:
                log.warning("sandbox notify to merchant failed: %s", exc.__class__.__name__)
        return False
