"""A simulator of Alipay's open-platform gateway (face-to-face payment), speaking its documented
protocol. Plain Python: the tests' fake serves it from a thread, the app from a blueprint.

Requests are GETs (or form POSTs) to ``gateway.do`` whose parameters the app signs (RSA2 over
the sorted ``k=v&...`` string of every parameter but ``sign``); the simulator checks that
signature with the app's public key. Answers are ``{"<method>_response": {...}, "sign": "..."}``,
the signature covering the response object's exact text, made with "Alipay's" private key.

A trade exists for ``alipay.trade.query`` only once its QR is scanned (:meth:`scan`, or the
wallet page opening); :meth:`pay` pays it and, with a notifier, posts the RSA2-signed
``trade_status_sync`` form to the trade's notify_url until the merchant answers ``success``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
import threading
import time
import urllib.parse
import zipfile
from dataclasses import dataclass, field

from ...domain.clock import LOCAL_ZONE
from .faults import Faults
from .keys import load_public, new_key, rsa_sign, rsa_verify
from .notify import Notifier

# Alipay's trade states
CREATED, WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_CLOSED = "CREATED", "WAIT_BUYER_PAY", "TRADE_SUCCESS", "TRADE_CLOSED"
BUYER = "张**@example.com"


def signing_string(params: dict[str, str]) -> str:
    """Alipay's string to sign a notification: sorted ``k=v`` joined by '&', without ``sign`` and ``sign_type``."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign", "sign_type"))


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fen(text: str) -> int:
    whole, _, part = text.partition(".")
    return int(whole) * 100 + int(part.ljust(2, "0"))


@dataclass
class Reply:
    """An HTTP answer, for whatever serves the simulator."""

    status: int
    body: bytes
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Trade:
    out_trade_no: str
    amount_fen: int
    subject: str
    notify_url: str
    trade_no: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    timeout_minutes: int = 0  # timeout_express: counts from the scan
    status: str = CREATED  # precreated, not scanned: query answers ACQ.TRADE_NOT_EXIST
    scanned_at: float | None = None
    refunds: dict[str, int] = field(default_factory=dict)

    @property
    def refunded_fen(self) -> int:
        return sum(self.refunds.values())


class AlipaySimulator:
    """``api_base``: where the simulator's gateway is reached (bill download URLs are under it);
    ``wallet_base``: where phones open its wallet page: then the QR code is that page's URL,
    otherwise an https://qr.alipay.com/ code as Alipay's."""

    def __init__(self, *, app_id: str, app_public_key: str, alipay_private_key, api_base: str = "",
                 wallet_base: str | None = None, notifier: Notifier | None = None, faults: Faults | None = None):
        self.app_id = app_id
        self._app_public_key = load_public(app_public_key)
        self._alipay_key = alipay_private_key
        self.api_base = api_base.rstrip("/")
        self.wallet_base = wallet_base.rstrip("/") if wallet_base else None
        self.notifier = notifier
        self.faults = faults or (notifier.faults if notifier else Faults())
        self.trades: dict[str, Trade] = {}
        self.events: list[dict] = []  # statement lines: payments and refunds, Beijing time
        self.bills: dict[str, bytes] = {}
        self.calls: list[str] = []  # methods called, in order
        self.now = lambda: dt.datetime.now(LOCAL_ZONE).replace(tzinfo=None, microsecond=0)
        self._lock = threading.RLock()

    # the tests' names for the gateway faults
    @property
    def fault(self) -> str | None:
        return self.faults.gateway

    @fault.setter
    def fault(self, value: str | None) -> None:
        self.faults.gateway = {"delay": "slow"}.get(value, value)

    @property
    def delay(self) -> float:
        return self.faults.slow_seconds

    @delay.setter
    def delay(self, value: float) -> None:
        self.faults.slow_seconds = value

    @property
    def gateway_url(self) -> str:
        return self.api_base + "/gateway.do"

    # -- the buyer -------------------------------------------------------------------------------

    def by_token(self, token: str) -> Trade | None:
        with self._lock:
            return next((t for t in self.trades.values() if t.token == token), None)

    def _expire(self, trade: Trade) -> None:
        if trade.status == WAIT_BUYER_PAY and trade.timeout_minutes and trade.scanned_at is not None \
                and time.monotonic() - trade.scanned_at > trade.timeout_minutes * 60:
            trade.status = TRADE_CLOSED

    def scan(self, out_trade_no: str) -> Trade:
        """The buyer's app reads the QR code: from now on the trade exists."""
        with self._lock:
            trade = self.trades[out_trade_no]
            if trade.status == CREATED:
                trade.status, trade.scanned_at = WAIT_BUYER_PAY, time.monotonic()
            self._expire(trade)
            return trade

    def pay(self, out_trade_no: str) -> Trade:
        with self._lock:
            trade = self.scan(out_trade_no)
            if trade.status != WAIT_BUYER_PAY:
                raise ValueError(f"cannot pay a trade in {trade.status}")
            trade.status = TRADE_SUCCESS
            self.events.append({"kind": "交易", "trade": trade, "amount": trade.amount_fen, "at": self.now(), "request_no": ""})
        self._notify(trade)
        return trade

    def decline(self, out_trade_no: str) -> Trade:
        """The buyer says no: the trade closes, and Alipay tells the merchant (TRADE_CLOSED)."""
        with self._lock:
            trade = self.scan(out_trade_no)
            if trade.status != WAIT_BUYER_PAY:
                raise ValueError(f"cannot decline a trade in {trade.status}")
            trade.status = TRADE_CLOSED
        self._notify(trade)
        return trade

    # -- notifications -----------------------------------------------------------------------------

    def notification(self, out_trade_no: str, *, key=None, **overrides: str) -> dict[str, str]:
        """The form Alipay posts to notify_url for the trade's current state, signed (with ``key``
        instead of Alipay's if given). ``overrides`` change fields before signing."""
        trade = self.trades[out_trade_no]
        form = {
            "notify_time": self.now().strftime("%Y-%m-%d %H:%M:%S"),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "app_id": self.app_id,
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": yuan(trade.amount_fen),
            "receipt_amount": yuan(trade.amount_fen),
            "subject": trade.subject,
            "buyer_logon_id": BUYER,
            "gmt_create": self.now().strftime("%Y-%m-%d %H:%M:%S"),
        }
        form.update(overrides)
        form["sign"] = rsa_sign(key or self._alipay_key, signing_string(form))
        return form

    def _notify(self, trade: Trade) -> None:
        if self.notifier is None or not trade.notify_url:
            return
        overrides = {}
        if self.faults.has("wrong_amount"):
            overrides = {"total_amount": yuan(trade.amount_fen + 1), "receipt_amount": yuan(trade.amount_fen + 1)}
        form = self.notification(trade.out_trade_no, key=new_key() if self.faults.has("bad_signature") else None, **overrides)
        body = urllib.parse.urlencode(form).encode()
        self.notifier.send("alipay", trade.out_trade_no, trade.notify_url, body,
                           {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                           lambda status, text: status == 200 and text.strip() == b"success")

    # -- the statement -------------------------------------------------------------------------

    def bill_zip(self, day: dt.date) -> bytes:
        """Alipay's trade bill of ``day``: a detail CSV and a summary CSV, GBK, '#' title lines."""
        header = ["支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员", "终端号", "对方账户",
                  "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）", "券名称",
                  "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号", "服务费（元）", "分润（元）", "备注"]
        out = io.StringIO()
        out.write("#支付宝业务明细查询\r\n#账号：[20880000000000000156]\r\n")
        out.write(f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day + dt.timedelta(days=1):%Y年%m月%d日} 00:00:00]\r\n")
        out.write("#-----------------------------------------业务明细列表----------------------------------------\r\n")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for event in (e for e in self.events if e["at"].date() == day):
            trade, refund = event["trade"], event["kind"] == "退款"
            amount = ("-" if refund else "") + yuan(event["amount"])
            at = event["at"].strftime("%Y-%m-%d %H:%M:%S")
            # Alipay pads its values with a tab so that spreadsheets keep long numbers as text
            row = [trade.trade_no + "\t", trade.out_trade_no + "\t", event["kind"], trade.subject, at, at, "", "", "", "", BUYER,
                   amount, amount, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00", event["request_no"], "0.00", "0.00", ""]
            writer.writerow(row)
        out.write("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
        out.write("#交易合计：0笔，商家实收共：0.00元，商家优惠共：0.00元\r\n#导出时间：[2026年01月01日 10:28:11]\r\n")
        summary = "#支付宝业务汇总查询\r\n门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）\r\n合计,,0,0,0.00,0.00\r\n"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zipped:
            zipped.writestr(f"20880000000000000156_{day:%Y%m%d}_业务明细(汇总).csv", summary.encode("gbk"))
            zipped.writestr(f"20880000000000000156_{day:%Y%m%d}_业务明细.csv", out.getvalue().encode("gbk"))
        return buffer.getvalue()

    # -- HTTP ------------------------------------------------------------------------------------

    def serve(self, method: str, path: str, query: str = "", form: dict[str, str] | None = None) -> Reply:
        """One HTTP request to the simulator, ``path`` relative to ``api_base`` ("/gateway.do",
        "/bill/<token>.zip"), with the gateway faults applied."""
        fault = self.faults.gateway
        if fault == "slow":
            time.sleep(self.faults.slow_seconds)
        if fault == "http500":
            return Reply(500, b"Internal Server Error")
        if path.startswith("/bill/") and method == "GET":
            with self._lock:  # one download, like a short-lived URL
                archive = self.bills.pop(path.removeprefix("/bill/").removesuffix(".zip"), None)
            return Reply(200, archive, "application/zip") if archive else Reply(404, b"gone")
        if path != "/gateway.do":
            return Reply(404, b"not found")
        if fault == "garbage":
            return Reply(200, b"<html>502 Bad Gateway</html>", "text/html")
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        params.update(form or {})
        return Reply(200, self.handle(params), "text/html;charset=utf-8")

    def _answer(self, method: str, body: dict) -> bytes:
        key = method.replace(".", "_") + "_response"
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        signature = rsa_sign(new_key() if self.faults.gateway == "bad_signature" else self._alipay_key, text)
        return ('{"%s":%s,"sign":"%s"}' % (key, text, signature)).encode()

    @staticmethod
    def _error(sub_code: str, code: str = "40004", msg: str = "Business Failed") -> dict:
        return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_code}

    def handle(self, params: dict[str, str]) -> bytes:
        method = params.get("method", "")
        signature = params.pop("sign", "")
        # a request's signature covers every parameter but sign, sign_type included
        text = "&".join(f"{k}={params[k]}" for k in sorted(params))
        if not rsa_verify(self._app_public_key, text, signature):
            return self._answer(method, self._error("isv.invalid-signature", "40002", "Invalid Arguments"))
        if params.get("app_id") != self.app_id:
            return self._answer(method, self._error("isv.invalid-app-id", "40002", "Invalid Arguments"))
        self.calls.append(method)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            return self._answer(method, self._error("isv.invalid-biz-content", "40002", "Invalid Arguments"))
        operation = getattr(self, "_" + method.replace(".", "_"), None)
        if operation is None:
            return self._answer(method, self._error("isv.invalid-method", "40002", "Invalid Arguments"))
        with self._lock:
            try:
                answer = operation(biz, params)
            except (KeyError, ValueError, TypeError):
                answer = self._error("isv.missing-or-invalid-parameter", "40002", "Invalid Arguments")
            return self._answer(method, answer)

    def qr_code(self, trade: Trade) -> str:
        if self.wallet_base:
            return f"{self.wallet_base}/pay/{trade.token}"
        return f"https://qr.alipay.com/bax{trade.trade_no[-12:]}"

    def _alipay_trade_precreate(self, biz, params):
        trade = self.trades.get(biz["out_trade_no"])
        if trade is not None and trade.status != CREATED:
            return self._error("ACQ.TRADE_HAS_SUCCESS" if trade.status == TRADE_SUCCESS else "ACQ.TRADE_HAS_CLOSE")
        if trade is None:
            amount = fen(biz["total_amount"])
            if amount <= 0:
                return self._error("ACQ.TOTAL_FEE_EXCEED")
            trade_no = self.now().strftime("%Y%m%d") + "2200" + secrets.token_hex(8)
            timeout = str(biz.get("timeout_express", ""))
            minutes = int(timeout[:-1]) if timeout.endswith("m") and timeout[:-1].isdigit() else 0
            trade = Trade(biz["out_trade_no"], amount, biz["subject"], params.get("notify_url", ""), trade_no,
                          timeout_minutes=minutes)
            self.trades[trade.out_trade_no] = trade
        return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no, "qr_code": self.qr_code(trade)}

    def _alipay_trade_query(self, biz, params):
        trade = self.trades.get(biz.get("out_trade_no"))
        if trade is None or trade.status == CREATED:
            return self._error("ACQ.TRADE_NOT_EXIST")
        self._expire(trade)
        return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "buyer_logon_id": BUYER,
                "trade_status": trade.status, "total_amount": yuan(trade.amount_fen)}

    def _alipay_trade_cancel(self, biz, params):
        trade = self.trades.get(biz.get("out_trade_no"))
        if trade is None:
            return self._error("ACQ.TRADE_NOT_EXIST")
        action = "close"
        if trade.status == TRADE_SUCCESS:
            action = "refund"
            left = trade.amount_fen - trade.refunded_fen
            trade.refunds["cancel"] = left
            self.events.append({"kind": "退款", "trade": trade, "amount": left, "at": self.now(), "request_no": "cancel"})
        trade.status = TRADE_CLOSED
        return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "retry_flag": "N", "action": action}

    def _alipay_trade_refund(self, biz, params):
        trade = self.trades.get(biz.get("out_trade_no"))
        if trade is None or trade.status == CREATED:
            return self._error("ACQ.TRADE_NOT_EXIST")
        request_no = biz.get("out_request_no") or trade.out_trade_no
        answer = {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "buyer_logon_id": BUYER}
        if request_no in trade.refunds:  # the same request again: no second refund
            return answer | {"fund_change": "N", "refund_fee": yuan(trade.refunded_fen)}
        if trade.status != TRADE_SUCCESS:
            return self._error("ACQ.TRADE_STATUS_ERROR")
        amount = fen(biz["refund_amount"])
        if amount <= 0 or amount > trade.amount_fen - trade.refunded_fen:
            return self._error("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
        trade.refunds[request_no] = amount
        self.events.append({"kind": "退款", "trade": trade, "amount": amount, "at": self.now(), "request_no": request_no})
        if trade.refunded_fen == trade.amount_fen:
            trade.status = TRADE_CLOSED
        return answer | {"fund_change": "Y", "refund_fee": yuan(trade.refunded_fen)}

    def _alipay_trade_fastpay_refund_query(self, biz, params):
        trade = self.trades.get(biz.get("out_trade_no"))
        if trade is None or trade.status == CREATED:
            return self._error("ACQ.TRADE_NOT_EXIST")
        request_no = biz["out_request_no"]
        if request_no not in trade.refunds:
            return {"code": "10000", "msg": "Success"}  # Alipay's answer for no such refund
        return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "out_request_no": request_no,
                "total_amount": yuan(trade.amount_fen), "refund_amount": yuan(trade.refunds[request_no]), "refund_status": "REFUND_SUCCESS"}

    def _alipay_data_dataservice_bill_downloadurl_query(self, biz, params):
        if biz.get("bill_type") != "trade":
            return self._error("isp.bill_type_not_support")
        token = secrets.token_hex(8)
        self.bills[token] = self.bill_zip(dt.date.fromisoformat(biz["bill_date"]))
        return {"code": "10000", "msg": "Success", "bill_download_url": f"{self.api_base}/bill/{token}.zip"}
