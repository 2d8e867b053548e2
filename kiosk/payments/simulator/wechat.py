"""A simulator of the WeChat Pay v3 gateway (Native payment, platform-public-key mode), speaking
the documented protocol. Plain Python: the tests' fake serves it from a thread, the app from a
blueprint.

It checks the merchant's ``Authorization: WECHATPAY2-SHA256-RSA2048`` header (the signature over
``METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n`` with the merchant's public key), keeps orders and
refunds in memory, signs every answer with the platform private key under the public key id
(``Wechatpay-Serial: PUB_KEY_ID_...``), and builds callbacks with an AES-256-GCM resource,
posted (with a notifier) to the order's notify_url until the merchant answers 2xx.
Gateway faults beyond :mod:`.faults`: ``foreign_serial``, ``corrupt_bill``.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ...domain.clock import LOCAL_ZONE as BEIJING
from ..base import Callback
from .alipay import Reply
from .faults import Faults
from .keys import load_public, new_key, rsa_sign, rsa_verify
from .notify import Notifier

TIME_EXPIRE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
PAYER_OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
BILL_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
               "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
               "手续费,费率,订单金额,申请退款金额,费率备注")
FOREIGN_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass
class Order:
    out_trade_no: str
    payload: dict
    total: int
    time_expire: str
    code_url: str
    token: str
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    paid_at: dt.datetime | None = None  # aware, Beijing
    refunded: int = 0

    @property
    def expired(self) -> bool:
        return dt.datetime.now(BEIJING) >= dt.datetime.fromisoformat(self.time_expire)

    @property
    def description(self) -> str:
        return self.payload["description"]


@dataclass
class Refund:
    out_refund_no: str
    out_trade_no: str
    refund: int
    total: int
    status: str = "PROCESSING"
    refund_id: str = field(default_factory=lambda: "50" + secrets.token_hex(10))
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(BEIJING))


class WechatSimulator:
    """``api_base``: where the v3 API is reached (download URLs are under it); ``wallet_base``:
    where phones open the wallet page: then ``code_url`` is that page's URL, otherwise a
    ``weixin://`` code as WeChat's. ``served`` makes it behave like a running provider rather than
    a test double: http notify URLs are taken (a demo on a LAN), refunds succeed
    ``refund_seconds`` after they are asked for, and any day's bill can be downloaded."""

    def __init__(self, *, mchid: str, appid: str, merchant_public_key: str, merchant_serial: str, platform_key,
                 public_key_id: str, apiv3_key: str, api_base: str = "", wallet_base: str | None = None,
                 notifier: Notifier | None = None, faults: Faults | None = None, served: bool = False,
                 refund_seconds: float = 2.0):
        self.mchid, self.appid = mchid, appid
        self.merchant_public_key = load_public(merchant_public_key)
        self.merchant_serial = merchant_serial
        self.platform_key = platform_key
        self.public_key_id = public_key_id
        self.apiv3_key = apiv3_key
        self.api_base = api_base.rstrip("/")
        self.wallet_base = wallet_base.rstrip("/") if wallet_base else None
        self.notifier = notifier
        self.faults = faults or (notifier.faults if notifier else Faults())
        self.served, self.refund_seconds = served, refund_seconds
        self.orders: dict[str, Order] = {}
        self.refunds: dict[str, Refund] = {}
        self.bills: dict[str, bytes] = {}
        self._downloads: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request that arrived
        self.wechat_fault: str | None = None  # foreign_serial, corrupt_bill
        self._lock = threading.RLock()

    # the tests' names for the faults: the shared ones and WeChat's own two
    @property
    def fault(self) -> str | None:
        return self.wechat_fault or self.faults.gateway

    @fault.setter
    def fault(self, value: str | None) -> None:
        if value in ("foreign_serial", "corrupt_bill"):
            self.wechat_fault = value
        else:
            self.wechat_fault, self.faults.gateway = None, {"delay": "slow", "500": "http500"}.get(value, value)

    @property
    def delay(self) -> float:
        return self.faults.slow_seconds

    @delay.setter
    def delay(self, value: float) -> None:
        self.faults.slow_seconds = value

    # -- the buyer's side ---------------------------------------------------------------
    def by_token(self, token: str) -> Order | None:
        with self._lock:
            return next((o for o in self.orders.values() if o.token == token), None)

    def _expire(self, order: Order) -> None:
        if self.served and order.trade_state == "NOTPAY" and order.expired:
            order.trade_state = "CLOSED"

    def look(self, out_trade_no: str) -> Order:
        """The order as the buyer's app shows it (an expired one is closed)."""
        with self._lock:
            order = self.orders[out_trade_no]
            self._expire(order)
            return order

    def pay(self, out_trade_no: str) -> Order:
        with self._lock:
            order = self.look(out_trade_no)
            if order.trade_state != "NOTPAY":
                raise ValueError(f"cannot pay an order in {order.trade_state}")
            order.trade_state = "SUCCESS"
            order.transaction_id = "4200" + secrets.token_hex(12)
            order.paid_at = dt.datetime.now(BEIJING).replace(microsecond=0)
        self._notify(order)
        return order

    def decline(self, out_trade_no: str) -> Order:
        """The buyer gives up in the app: WeChat says PAYERROR when asked, and sends nothing."""
        with self._lock:
            order = self.look(out_trade_no)
            if order.trade_state != "NOTPAY":
                raise ValueError(f"cannot decline an order in {order.trade_state}")
            order.trade_state = "PAYERROR"
            return order

    def finish_refund(self, out_refund_no: str, status: str = "SUCCESS") -> None:
        with self._lock:
            self.refunds[out_refund_no].status = status

    # -- callbacks ------------------------------------------------------------------------
    def encrypt(self, plain: str, associated_data: str = "transaction") -> dict:
        nonce = secrets.token_hex(6)  # 12 characters, as WeChat sends
        cipher = AESGCM(self.apiv3_key.encode()).encrypt(nonce.encode(), plain.encode(), associated_data.encode())
        return {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(cipher).decode(),
                "associated_data": associated_data, "original_type": "transaction", "nonce": nonce}

    def transaction(self, out_trade_no: str) -> dict:
        order = self.orders[out_trade_no]
        body = {"mchid": self.mchid, "appid": self.appid, "out_trade_no": order.out_trade_no,
                "trade_type": "NATIVE", "trade_state": order.trade_state, "trade_state_desc": "",
                "amount": {"total": order.total, "payer_total": order.total, "currency": "CNY", "payer_currency": "CNY"},
                "payer": {"openid": PAYER_OPENID}}
        if order.transaction_id:
            body |= {"transaction_id": order.transaction_id, "bank_type": "OTHERS",
                     "success_time": order.paid_at.isoformat()}
        return body

    def callback(self, out_trade_no: str, *, timestamp: int | None = None, probe: bool = False,
                 serial: str | None = None, resource: dict | None = None, plain: str | None = None, key=None) -> Callback:
        """The notification WeChat would post for the order as it is now: raw bytes and signed headers.
        ``probe`` signs it badly, as WeChat's deliberate probes are."""
        resource = resource or self.encrypt(plain if plain is not None else json.dumps(self.transaction(out_trade_no)))
        body = json.dumps({"id": "EV-" + secrets.token_hex(8), "create_time": dt.datetime.now(BEIJING).isoformat(),
                           "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS",
                           "summary": "支付成功", "resource": resource}, ensure_ascii=False).encode()
        return self.signed_callback(body, timestamp=timestamp, probe=probe, serial=serial, key=key)

    def signed_callback(self, body: bytes, *, timestamp: int | None = None, probe: bool = False,
                        serial: str | None = None, key=None) -> Callback:
        ts, nonce = str(int(time.time()) if timestamp is None else timestamp), secrets.token_hex(16)
        signature = rsa_sign(key or self.platform_key, f"{ts}\n{nonce}\n{body.decode()}\n")
        if probe:
            signature = "WECHATPAY/SIGNTEST/" + signature[19:]
        headers = {"Content-Type": "application/json", "Wechatpay-Signature": signature, "Wechatpay-Timestamp": ts,
                   "Wechatpay-Nonce": nonce, "Wechatpay-Serial": serial or self.public_key_id,
                   "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}
        return Callback(body, headers, {})

    def _notify(self, order: Order) -> None:
        notify_url = order.payload.get("notify_url")
        if self.notifier is None or not notify_url:
            return
        plain = None
        if self.faults.has("wrong_amount"):
            transaction = self.transaction(order.out_trade_no)
            transaction["amount"] |= {"total": order.total + 1, "payer_total": order.total + 1}
            plain = json.dumps(transaction)
        callback = self.callback(order.out_trade_no, plain=plain, key=new_key() if self.faults.has("bad_signature") else None)
        self.notifier.send("wechat", order.out_trade_no, notify_url, callback.body, dict(callback.headers),
                           lambda status, text: 200 <= status < 300)

    # -- statements -----------------------------------------------------------------------
    def build_bill(self, day: dt.date) -> bytes:
        """The trade bill of ``day`` (Beijing) from the orders and refunds, stored for download."""
        lines, payments, refunds = [BILL_HEADER], [], []
        for order in self.orders.values():
            if order.paid_at and order.paid_at.date() == day:
                payments.append(order)
                lines.append(",".join("`" + v for v in [
                    order.paid_at.strftime("%Y-%m-%d %H:%M:%S"), self.appid, self.mchid, "0", "", order.transaction_id,
                    order.out_trade_no, PAYER_OPENID, "NATIVE", "SUCCESS", "OTHERS", "CNY",
                    yuan(order.total), "0.00", "0", "0", "0.00", "0.00", "", "", order.description, "",
                    "0.00000", "0.60%", yuan(order.total), "0.00", ""]))
        for refund in self.refunds.values():
            order = self.orders[refund.out_trade_no]
            if refund.status == "SUCCESS" and refund.created_at.date() == day:
                refunds.append(refund)
                lines.append(",".join("`" + v for v in [
                    refund.created_at.strftime("%Y-%m-%d %H:%M:%S"), self.appid, self.mchid, "0", "",
                    order.transaction_id, order.out_trade_no, PAYER_OPENID, "NATIVE", "REFUND",
                    "OTHERS", "CNY", "0.00", "0.00", refund.refund_id, refund.out_refund_no, yuan(refund.refund), "0.00",
                    "ORIGINAL", "SUCCESS", order.description, "", "0.00000", "0.60%", "0.00",
                    yuan(refund.refund), ""]))
        lines.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
        paid, back = sum(o.total for o in payments), sum(r.refund for r in refunds)
        lines.append(",".join("`" + v for v in [str(len(payments) + len(refunds)), yuan(paid), yuan(back), "0.00",
                                                 "0.00000", yuan(paid), yuan(back)]))
        content = ("\r\n".join(lines) + "\r\n").encode()
        self.bills[day.isoformat()] = content
        return content

    # -- the HTTP side --------------------------------------------------------------------
    def _authorized(self, method: str, path: str, body: bytes, authorization: str) -> bool:
        scheme, _, rest = authorization.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return False
        params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if params.get("mchid") != self.mchid or params.get("serial_no") != self.merchant_serial:
            return False
        try:
            if abs(time.time() - int(params.get("timestamp", "0"))) > 300:
                return False
            message = f"{method}\n{path}\n{params.get('timestamp')}\n{params.get('nonce_str')}\n{body.decode()}\n"
        except (ValueError, UnicodeDecodeError):
            return False
        return rsa_verify(self.merchant_public_key, message, params.get("signature", ""))

    def _sign_headers(self, body: bytes) -> dict:
        key, serial = self.platform_key, self.public_key_id
        if self.faults.gateway == "bad_signature":
            key = new_key()
        elif self.wechat_fault == "foreign_serial":
            serial = FOREIGN_SERIAL
        ts, nonce = str(int(time.time())), secrets.token_hex(16)
        return {"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": rsa_sign(key, f"{ts}\n{nonce}\n{body.decode(errors='replace')}\n"),
                "Wechatpay-Serial": serial, "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
                "Request-ID": secrets.token_hex(8)}

    def _reply(self, code: int, payload: dict | bytes | None, *, signed: bool = True) -> Reply:
        if isinstance(payload, bytes):
            return Reply(code, payload, "application/octet-stream")
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = self._sign_headers(body) if signed and 200 <= code < 300 else {}
        return Reply(code, body, "application/json; charset=utf-8" if payload is not None else "", headers)

    def serve(self, method: str, path: str, raw: bytes, authorization: str) -> Reply:
        """One HTTP request, ``path`` (with its query string, exactly as signed) relative to ``api_base``."""
        self.requests.append((method, path))
        if self.faults.gateway == "slow":
            time.sleep(self.faults.slow_seconds)
        if self.faults.gateway == "http500":
            return self._reply(500, {"code": "SYSTEM_ERROR", "message": "系统错误"}, signed=False)
        if not self._authorized(method, path, raw, authorization):
            return self._reply(401, {"code": "SIGN_ERROR", "message": "签名错误"}, signed=False)
        if self.faults.gateway == "garbage":
            body = b"<html>502 Bad Gateway</html>"
            return Reply(200, body, "application/json", self._sign_headers(body))
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            return self._reply(400, {"code": "PARAM_ERROR", "message": "bad json"}, signed=False)
        if not isinstance(payload, dict):
            return self._reply(400, {"code": "PARAM_ERROR", "message": "bad json"}, signed=False)
        code, answer = self._route(method, path, payload)
        return self._reply(code, answer)

    def _route(self, method: str, path: str, body: dict) -> tuple[int, dict | bytes | None]:
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.split("/")]
        with self._lock:
            if method == "POST" and url.path == "/v3/pay/transactions/native":
                return self._native(body)
            if method == "GET" and len(parts) == 6 and parts[1:5] == ["v3", "pay", "transactions", "out-trade-no"]:
                if query.get("mchid") != self.mchid:
                    return 400, {"code": "PARAM_ERROR", "message": "mchid"}
                order = self.orders.get(parts[5])
                if order is None:
                    return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
                self._expire(order)
                return 200, self.transaction(order.out_trade_no)
            if method == "POST" and len(parts) == 7 and parts[1:5] == ["v3", "pay", "transactions", "out-trade-no"] \
                    and parts[6] == "close":
                order = self.orders.get(parts[5])
                if order is None:
                    return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
                if order.trade_state in ("SUCCESS", "REFUND"):
                    return 400, {"code": "ORDERPAID", "message": "订单已支付"}
                order.trade_state = "CLOSED"
                return 204, None
            if method == "POST" and url.path == "/v3/refund/domestic/refunds":
                return self._refund(body)
            if method == "GET" and len(parts) == 6 and parts[1:5] == ["v3", "refund", "domestic", "refunds"]:
                refund = self.refunds.get(parts[5])
                if refund is None:
                    return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
                if self.served and refund.status == "PROCESSING" \
                        and (dt.datetime.now(BEIJING) - refund.created_at).total_seconds() >= self.refund_seconds:
                    refund.status = "SUCCESS"
                return 200, self._refund_body(refund)
            if method == "GET" and url.path == "/v3/bill/tradebill":
                day = query.get("bill_date", "")
                if self.served and re.fullmatch(r"\d{4}-\d\d-\d\d", day):
                    self.build_bill(dt.date.fromisoformat(day))
                content = self.bills.get(day)
                if content is None or query.get("bill_type") != "ALL":
                    return 400, {"code": "NO_STATEMENT_EXIST", "message": "账单不存在"}
                token = secrets.token_urlsafe(8)
                self._downloads[token] = content
                return 200, {"hash_type": "SHA1", "hash_value": hashlib.sha1(content).hexdigest(),
                             "download_url": f"{self.api_base}/v3/billdownload/file?token={token}"}
            if method == "GET" and url.path == "/v3/billdownload/file":
                content = self._downloads.get(query.get("token", ""))
                if content is None:
                    return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "no such file"}
                return 200, content + (b"tampered" if self.wechat_fault == "corrupt_bill" else b"")
        return 404, {"code": "NOT_FOUND", "message": "no such API"}

    def code_url(self, token: str) -> str:
        if self.wallet_base:
            return f"{self.wallet_base}/pay/{token}"
        return "weixin://wxpay/bizpayurl?pr=" + token[:8]

    def _native(self, body: dict) -> tuple[int, dict]:
        try:
            assert body["appid"] == self.appid and body["mchid"] == self.mchid
            out_trade_no, total = body["out_trade_no"], body["amount"]["total"]
            assert isinstance(total, int) and total > 0 and body["amount"].get("currency", "CNY") == "CNY"
            assert TIME_EXPIRE.match(body["time_expire"])
            # WeChat takes https notify URLs only; a served simulator takes a demo's http one too
            assert body["notify_url"].startswith("https://") or (self.served and body["notify_url"].startswith("http://"))
            assert 0 < len(body["description"].encode()) <= 127
        except (KeyError, AssertionError, AttributeError, TypeError):
            return 400, {"code": "PARAM_ERROR", "message": "参数错误"}
        order = self.orders.get(out_trade_no)
        if order is not None:
            if order.payload != body:
                return 400, {"code": "INVALID_REQUEST", "message": "订单号重复"}
            return 200, {"code_url": order.code_url}
        token = secrets.token_urlsafe(18)
        order = Order(out_trade_no, body, total, body["time_expire"], self.code_url(token), token)
        self.orders[out_trade_no] = order
        return 200, {"code_url": order.code_url}

    def _refund_body(self, refund: Refund) -> dict:
        order = self.orders[refund.out_trade_no]
        return {"refund_id": refund.refund_id, "out_refund_no": refund.out_refund_no,
                "transaction_id": order.transaction_id, "out_trade_no": order.out_trade_no, "channel": "ORIGINAL",
                "status": refund.status, "create_time": refund.created_at.isoformat(),
                "amount": {"total": refund.total, "refund": refund.refund, "payer_total": refund.total,
                           "payer_refund": refund.refund, "currency": "CNY"}}

    def _refund(self, body: dict) -> tuple[int, dict]:
        try:
            out_trade_no, out_refund_no = body["out_trade_no"], body["out_refund_no"]
            amount, total = body["amount"]["refund"], body["amount"]["total"]
            assert isinstance(amount, int) and amount > 0 and body["amount"]["currency"] == "CNY"
        except (KeyError, AssertionError, TypeError):
            return 400, {"code": "PARAM_ERROR", "message": "参数错误"}
        existing = self.refunds.get(out_refund_no)
        if existing is not None:  # the same number never refunds twice
            if (existing.out_trade_no, existing.refund, existing.total) != (out_trade_no, amount, total):
                return 400, {"code": "INVALID_REQUEST", "message": "退款单号重复"}
            return 200, self._refund_body(existing)
        order = self.orders.get(out_trade_no)
        if order is None:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
        if order.trade_state not in ("SUCCESS", "REFUND"):
            return 400, {"code": "INVALID_REQUEST", "message": "订单未支付"}
        if total != order.total:
            return 400, {"code": "PARAM_ERROR", "message": "订单金额不符"}
        if amount > order.total - order.refunded:
            return 400, {"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"}
        order.refunded += amount
        order.trade_state = "REFUND"
        refund = Refund(out_refund_no, out_trade_no, amount, total)
        self.refunds[out_refund_no] = refund
        return 200, self._refund_body(refund)
