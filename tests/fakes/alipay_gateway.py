"""A local fake of Alipay's open-platform gateway, speaking its documented protocol.

Requests are GETs to ``/gateway.do`` whose parameters are signed by the app (RSA2 over the sorted
``k=v&...`` string of every parameter but ``sign``); the fake checks that signature with the app's
public key. Answers are ``{"<method>_response": {...}, "sign": "..."}``, the signature covering
the response object's exact text, made with "Alipay's" private key. A trade exists for
``alipay.trade.query`` only once its QR is scanned (:meth:`scan`); :meth:`pay` pays it. Fault
switches: ``fault`` = "delay" (sleep ``delay`` seconds first), "http500", "garbage", "bad_signature".
"""
from __future__ import annotations

import base64
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kiosk.domain.clock import LOCAL_ZONE


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    # PKCS#1, the form Alipay's key tool hands out
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def rsa2_sign(key: rsa.RSAPrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(public_key, text: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def signing_string(params: dict[str, str]) -> str:
    """Alipay's string to sign: sorted ``k=v`` joined by '&', without ``sign`` and ``sign_type``."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign", "sign_type"))


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fen(text: str) -> int:
    whole, _, part = text.partition(".")
    return int(whole) * 100 + int(part.ljust(2, "0"))


@dataclass
class FakeTrade:
    out_trade_no: str
    amount_fen: int
    subject: str
    notify_url: str
    trade_no: str
    status: str = "CREATED"  # precreated, not scanned: query answers ACQ.TRADE_NOT_EXIST
    refunds: dict[str, int] = field(default_factory=dict)

    @property
    def refunded_fen(self) -> int:
        return sum(self.refunds.values())


class FakeAlipayGateway:
    def __init__(self, *, app_id: str, app_public_key: str, alipay_private_key: rsa.RSAPrivateKey):
        self.app_id = app_id
        self._app_public_key = serialization.load_pem_public_key(app_public_key.encode())
        self._alipay_key = alipay_private_key
        self.trades: dict[str, FakeTrade] = {}
        self.events: list[dict] = []  # statement lines: payments and refunds, Beijing time
        self.bills: dict[str, bytes] = {}
        self.calls: list[str] = []  # methods called, in order
        self.fault: str | None = None
        self.delay = 0.0
        self.now = lambda: dt.datetime.now(LOCAL_ZONE).replace(tzinfo=None, microsecond=0)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def gateway_url(self) -> str:
        return self.base_url + "/gateway.do"

    def start(self) -> FakeAlipayGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the buyer -------------------------------------------------------------------------------

    def scan(self, out_trade_no: str) -> None:
        with self._lock:
            trade = self.trades[out_trade_no]
            assert trade.status == "CREATED"
            trade.status = "WAIT_BUYER_PAY"

    def pay(self, out_trade_no: str) -> None:
        with self._lock:
            trade = self.trades[out_trade_no]
            if trade.status == "CREATED":
                trade.status = "WAIT_BUYER_PAY"
            assert trade.status == "WAIT_BUYER_PAY"
            trade.status = "TRADE_SUCCESS"
            self.events.append({"kind": "交易", "trade": trade, "amount": trade.amount_fen, "at": self.now(), "request_no": ""})

    # -- notifications -----------------------------------------------------------------------------

    def notification(self, out_trade_no: str, *, key: rsa.RSAPrivateKey | None = None, **overrides: str) -> dict[str, str]:
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
            "buyer_logon_id": "张**@example.com",
            "gmt_create": self.now().strftime("%Y-%m-%d %H:%M:%S"),
        }
        form.update(overrides)
        form["sign"] = rsa2_sign(key or self._alipay_key, signing_string(form))
        return form

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
            # Alipay pads its values with a tab so that spreadsheets keep long numbers as text (the
            # business type and the refund request number too); a refund line carries the amount
            # given back, negative, in both 订单金额 and 商家实收, and the trade's creation time
            request_no = event["request_no"] + "\t" if refund else "\t"
            row = [trade.trade_no + "\t", trade.out_trade_no + "\t", event["kind"] + "\t", trade.subject, at, at, "", "", "", "", "张**@example.com\t",
                   amount, amount, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00\t", "0.00", request_no, "0.00", "0.00", ""]
            writer.writerow(row)
        out.write("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
        out.write("#交易合计：0笔，商家实收共：0.00元，商家优惠共：0.00元\r\n#导出时间：[2026年01月01日 10:28:11]\r\n")
        summary = "#支付宝业务汇总查询\r\n门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）\r\n合计,,0,0,0.00,0.00\r\n"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zipped:
            zipped.writestr(f"20880000000000000156_{day:%Y%m%d}_业务明细(汇总).csv", summary.encode("gbk"))
            zipped.writestr(f"20880000000000000156_{day:%Y%m%d}_业务明细.csv", out.getvalue().encode("gbk"))
        return buffer.getvalue()

    # -- the protocol ----------------------------------------------------------------------------

    def _answer(self, method: str, body: dict) -> bytes:
        key = method.replace(".", "_") + "_response"
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        signature = rsa2_sign(self._alipay_key, text)
        if self.fault == "bad_signature":
            signature = rsa2_sign(new_key(), text)
        return ('{"%s":%s,"sign":"%s"}' % (key, text, signature)).encode()

    @staticmethod
    def _error(sub_code: str, code: str = "40004", msg: str = "Business Failed") -> dict:
        return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_code}

    def handle(self, params: dict[str, str]) -> bytes:
        method = params.get("method", "")
        signature = params.pop("sign", "")
        # a request's signature covers every parameter but sign, sign_type included
        text = "&".join(f"{k}={params[k]}" for k in sorted(params))
        if not rsa2_verify(self._app_public_key, text, signature):
            return self._answer(method, self._error("isv.invalid-signature", "40002", "Invalid Arguments"))
        if params.get("app_id") != self.app_id:
            return self._answer(method, self._error("isv.invalid-app-id", "40002", "Invalid Arguments"))
        self.calls.append(method)
        biz = json.loads(params.get("biz_content") or "{}")
        operation = getattr(self, "_" + method.replace(".", "_"), None)
        if operation is None:
            return self._answer(method, self._error("isv.invalid-method", "40002", "Invalid Arguments"))
        with self._lock:
            return self._answer(method, operation(biz, params))

    def _alipay_trade_precreate(self, biz, params):
        trade = self.trades.get(biz["out_trade_no"])
        if trade is not None and trade.status != "CREATED":
            return self._error("ACQ.TRADE_HAS_SUCCESS" if trade.status == "TRADE_SUCCESS" else "ACQ.TRADE_HAS_CLOSE")
        if trade is None:
            trade_no = self.now().strftime("%Y%m%d") + "2200" + secrets.token_hex(8)
            trade = FakeTrade(biz["out_trade_no"], fen(biz["total_amount"]), biz["subject"], params.get("notify_url", ""), trade_no)
            self.trades[trade.out_trade_no] = trade
        return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no, "qr_code": f"https://qr.alipay.com/bax{trade.trade_no[-12:]}"}

    def _alipay_trade_query(self, biz, params):
        trade = self.trades.get(biz.get("out_trade_no"))
        if trade is None or trade.status == "CREATED":
            return self._error("ACQ.TRADE_NOT_EXIST")
        return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "buyer_logon_id": "张**@example.com",
                "trade_status": trade.status, "total_amount": yuan(trade.amount_fen)}

    def _alipay_trade_cancel(self, biz, params):
        trade = self.trades.get(biz.get("out_trade_no"))
        if trade is None:
            return self._error("ACQ.TRADE_NOT_EXIST")
        action = "close"
        if trade.status == "TRADE_SUCCESS":
            action = "refund"
            left = trade.amount_fen - trade.refunded_fen
            trade.refunds["cancel"] = left
            self.events.append({"kind": "退款", "trade": trade, "amount": left, "at": self.now(), "request_no": "cancel"})
        trade.status = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "retry_flag": "N", "action": action}

    def _alipay_trade_refund(self, biz, params):
        trade = self.trades.get(biz.get("out_trade_no"))
        if trade is None or trade.status == "CREATED":
            return self._error("ACQ.TRADE_NOT_EXIST")
        request_no = biz.get("out_request_no") or trade.out_trade_no
        answer = {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "buyer_logon_id": "张**@example.com"}
        if request_no in trade.refunds:  # the same request again: no second refund
            return answer | {"fund_change": "N", "refund_fee": yuan(trade.refunded_fen)}
        if trade.status != "TRADE_SUCCESS":
            return self._error("ACQ.TRADE_STATUS_ERROR")
        amount = fen(biz["refund_amount"])
        if amount <= 0 or amount > trade.amount_fen - trade.refunded_fen:
            return self._error("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
        trade.refunds[request_no] = amount
        self.events.append({"kind": "退款", "trade": trade, "amount": amount, "at": self.now(), "request_no": request_no})
        if trade.refunded_fen == trade.amount_fen:
            trade.status = "TRADE_CLOSED"
        return answer | {"fund_change": "Y", "refund_fee": yuan(trade.refunded_fen)}

    def _alipay_trade_fastpay_refund_query(self, biz, params):
        trade = self.trades.get(biz.get("out_trade_no"))
        if trade is None or trade.status == "CREATED":
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
        return {"code": "10000", "msg": "Success", "bill_download_url": f"{self.base_url}/bill/{token}.zip"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if fake.fault == "delay":
                    time.sleep(fake.delay)
                if fake.fault == "http500":
                    return self._send(500, b"Internal Server Error", "text/plain")
                url = urllib.parse.urlsplit(self.path)
                if url.path.startswith("/bill/"):
                    archive = fake.bills.pop(url.path.removeprefix("/bill/").removesuffix(".zip"), None)  # one download, like a short-lived URL
                    return self._send(200, archive, "application/zip") if archive else self._send(404, b"gone", "text/plain")
                if url.path != "/gateway.do":
                    return self._send(404, b"not found", "text/plain")
                if fake.fault == "garbage":
                    return self._send(200, b"<html>502 Bad Gateway</html>", "text/html")
                params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                self._send(200, fake.handle(params), "text/html;charset=utf-8")

            def _send(self, status, body, content_type):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (its timeout)

            def log_message(self, format, *args):
                pass

        return Handler
