"""WeChat Pay v3 Native through wechatpayv3 2.0.x, in platform-public-key mode only.

What the SDK does for us: it signs each request (``Authorization: WECHATPAY2-SHA256-RSA2048``)
and verifies each 2xx response's ``Wechatpay-Signature`` with the platform public key. What it
does not, and this module does:

- It never gets a chance to download platform certificates. In certificate mode (no public
  key) its constructor calls ``/v3/certificates``; a response or callback signed under any
  serial other than our public key id makes it fall back to that download too. Mixing the
  two modes is its issues #56 and #76. :class:`_PublicKeyCore` turns both paths off, so a
  foreign serial simply fails verification.
- A timeout: its default is none. ``Core`` takes ``timeout`` and passes it to ``requests``.
- The gateway: ``Core`` hard-codes ``https://api.mch.weixin.qq.com`` in the instance attribute
  ``_gate_way`` and takes no argument for it; the subclass sets it after construction, so
  tests (and later the sandbox simulator) can point it at a local server.
- Callbacks are verified here with the SDK's ``rsa_verify`` and ``aes_decrypt`` rather than
  ``Core.callback``, which answers ``None`` for every kind of failure: we need to tell a
  badly signed probe from a malformed body from a stale replay. The ``Wechatpay-Timestamp``
  window (5 minutes) is checked here; the SDK does not.

Money: WeChat counts in integer fen already (``amount.total``); only the daily statement
is in yuan, converted with :class:`~decimal.Decimal`.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import requests
from wechatpayv3.core import Core
from wechatpayv3.type import RequestType
from wechatpayv3.utils import aes_decrypt, rsa_verify

from ...domain.clock import LOCAL_ZONE
from ..base import (
    Callback,
    CancelOutcome,
    InvalidNotification,
    Notification,
    ProviderError,
    RefundState,
    RefundStatus,
    StatementKind,
    StatementRow,
    TradeState,
    TradeStatus,
)

log = logging.getLogger(__name__)

DEFAULT_GATEWAY = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
TIMESTAMP_TOLERANCE_S = 5 * 60
DESCRIPTION_MAX_BYTES = 127  # WeChat's limit on ``description``, in UTF-8 bytes

_TRADE_STATE = {
    "SUCCESS": TradeState.PAID,
    "REFUND": TradeState.PAID,  # it was paid; refunds are tracked apart
    "NOTPAY": TradeState.WAITING,
    "USERPAYING": TradeState.WAITING,
    "CLOSED": TradeState.CLOSED,
    "REVOKED": TradeState.CLOSED,
    "PAYERROR": TradeState.FAILED,
}
_REFUND_STATE = {
    "SUCCESS": RefundState.SUCCESS,
    "PROCESSING": RefundState.PROCESSING,
    "ABNORMAL": RefundState.FAILED,  # the money did not reach the buyer (e.g. a closed card)
    "CLOSED": RefundState.FAILED,
}


class _PublicKeyCore(Core):
    """``Core`` that can only ever be in platform-public-key mode and talks to ``gateway``."""

    def __init__(self, *, gateway: str, **kwargs: Any):
        if not kwargs.get("public_key") or not kwargs.get("public_key_id"):
            # an empty key would put Core in certificate mode and download certificates
            raise ValueError("WeChat Pay needs the platform public key and its id")
        super().__init__(**kwargs)
        self._gate_way = gateway.rstrip("/")

    def _init_certificates(self):  # pragma: no cover - unreachable with a public key
        raise RuntimeError("platform certificates are never used: public-key mode only")

    def _update_certificates(self):
        # reached when a response carries a serial other than our public key id: Core would
        # download /v3/certificates (mixing the modes); leaving the list empty fails the check
        self._certificates.clear()


def _beijing(moment: dt.datetime) -> str:
    """Naive UTC as WeChat's RFC 3339 in Beijing time, e.g. ``2026-01-02T10:00:00+08:00``."""
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(LOCAL_ZONE).replace(microsecond=0).isoformat()


def _beijing_to_utc(text: str) -> dt.datetime:
    local = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=LOCAL_ZONE)
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _yuan_to_fen(text: str) -> int:
    fen = Decimal(text) * 100
    if fen != fen.to_integral_value():
        raise ValueError("an amount finer than a fen")
    return int(fen)


def _description(subject: str) -> str:
    raw = subject.encode()[:DESCRIPTION_MAX_BYTES]
    return raw.decode("utf-8", errors="ignore") or "-"


class WechatPayProvider:
    name = "wechat"
    # a native trade exists (NOTPAY) from the moment it is made: a query cannot tell a scanned code
    shows_scans = False
    # WeChat takes any 2xx as acknowledged; the documented success answer is 200 or 204 with
    # no body. An empty body is the one answer that cannot be misread as a failure (a body
    # with "code" other than SUCCESS is read as one).
    ack_body = ""

    def __init__(self, *, mchid: str, appid: str, private_key_pem: str, cert_serial_no: str, apiv3_key: str,
                 platform_public_key_pem: str, platform_public_key_id: str, gateway: str = DEFAULT_GATEWAY,
                 timeout_s: float = 10.0, clock: Callable[[], float] = time.time):
        if len(apiv3_key.encode()) != 32:
            raise ValueError("the APIv3 key is 32 bytes")
        self.mchid, self.appid = mchid, appid
        self._apiv3_key = apiv3_key
        self._public_key_id = platform_public_key_id
        self._clock = clock
        self._core = _PublicKeyCore(gateway=gateway, mchid=mchid, cert_serial_no=cert_serial_no,
                                    private_key=private_key_pem, apiv3_key=apiv3_key, timeout=timeout_s,
                                    public_key=platform_public_key_pem, public_key_id=platform_public_key_id)
        self._public_key = self._core._public_key
        self._gateway = self._core._gate_way

    # -- transport ------------------------------------------------------------------
    def _call(self, path: str, method: RequestType = RequestType.GET, data: dict | None = None,
              *, raw: bool = False) -> tuple[int, Any]:
        """One signed call; ``(status, parsed JSON or raw bytes)``. Transport trouble, a bad
        response signature and a 5xx become :class:`ProviderError` with a short reason."""
        try:
            code, body = self._core.request(path, method=method, data=data, skip_verify=raw)
        except requests.Timeout:
            raise ProviderError("timeout") from None
        except requests.RequestException:
            raise ProviderError("unreachable") from None
        except Exception as exc:  # the SDK raises bare Exception for a response it cannot verify
            log.warning("wechat response refused: %s", exc)
            raise ProviderError("bad_response_signature") from None
        if code >= 500:
            raise ProviderError(f"http_{code}")
        if raw and 200 <= code < 300:
            return code, body if isinstance(body, bytes) else body.encode()
        if code == 204:
            return code, {}
        try:
            parsed = json.loads(body)
            if not isinstance(parsed, dict):
                raise ValueError
        except ValueError:
            raise ProviderError("malformed_response") from None
        return code, parsed

    def _ok(self, code: int, body: dict) -> dict:
        if not 200 <= code < 300:
            raise ProviderError(f"refused:{str(body.get('code', code))[:40]}")
        return body

    # -- trades ---------------------------------------------------------------------
    def precreate(self, *, out_trade_no, amount_fen, subject, expires_at, notify_url, public_base_url) -> str:
        payload = {
            "appid": self.appid, "mchid": self.mchid, "description": _description(subject),
            "out_trade_no": out_trade_no, "time_expire": _beijing(expires_at), "notify_url": notify_url,
            "amount": {"total": int(amount_fen), "currency": "CNY"},
        }
        body = self._ok(*self._call("/v3/pay/transactions/native", RequestType.POST, payload))
        code_url = body.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise ProviderError("malformed_response")
        return code_url

    def query(self, out_trade_no: str) -> TradeStatus:
        code, body = self._call(f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}?mchid={self.mchid}")
        if code == 404 and body.get("code") == "ORDER_NOT_EXIST":
            return TradeStatus(TradeState.NOT_FOUND)
        body = self._ok(code, body)
        state = _TRADE_STATE.get(body.get("trade_state"))
        if state is None:
            raise ProviderError("unknown_trade_state")
        amount = (body.get("amount") or {}).get("total")
        return TradeStatus(state, body.get("transaction_id") or None, int(amount) if amount is not None else None)

    def cancel(self, out_trade_no: str) -> CancelOutcome:
        """Close the order. WeChat's close never refunds: closing a paid order is refused
        (``ORDERPAID``), so then the payment is refunded in full under the deterministic
        request number ``close-<out_trade_no>`` and the answer is ``refunded=True``, as
        Alipay's cancel does. The core relies on that: a cancel that meets money gives it back
        (a payment made while closing, or one of the wrong amount). The fixed number makes a
        repeated cancel, by a second closer or the sweep, never refund twice."""
        code, body = self._call(f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}/close",
                                RequestType.POST, {"mchid": self.mchid})
        if 200 <= code < 300:
            return CancelOutcome(refunded=False)
        # refused: ask what the order is rather than trust the error code alone
        status = self.query(out_trade_no)
        if status.state is TradeState.PAID:
            if status.amount_fen is None:
                raise ProviderError("malformed_response")
            self.refund(out_trade_no, out_request_no=f"close-{out_trade_no}", amount_fen=status.amount_fen,
                        total_fen=status.amount_fen, reason="order closed")
            return CancelOutcome(refunded=True)
        if status.state in (TradeState.CLOSED, TradeState.NOT_FOUND, TradeState.FAILED):
            return CancelOutcome(refunded=False)  # nothing payable is left
        raise ProviderError(f"refused:{str(body.get('code', code))[:40]}")

    # -- callbacks ------------------------------------------------------------------
    def parse_notification(self, callback: Callback) -> Notification:
        headers = {k.lower(): v for k, v in callback.headers.items()}
        signature = headers.get("wechatpay-signature")
        timestamp = headers.get("wechatpay-timestamp")
        nonce = headers.get("wechatpay-nonce")
        serial = headers.get("wechatpay-serial")
        if not (signature and timestamp and nonce and serial):
            raise InvalidNotification("bad_signature")
        if headers.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE or serial != self._public_key_id:
            raise InvalidNotification("bad_signature")
        try:
            body = callback.body.decode("utf-8")
            sent_at = int(timestamp)
        except ValueError:
            raise InvalidNotification("malformed") from None
        # the signature covers the raw bytes as they arrived: never re-serialise them first
        if not rsa_verify(timestamp, nonce, body, signature, self._public_key):
            raise InvalidNotification("bad_signature")
        if abs(self._clock() - sent_at) > TIMESTAMP_TOLERANCE_S:
            raise InvalidNotification("stale")
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            if envelope.get("resource_type") != "encrypt-resource" or resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise ValueError
            plain = aes_decrypt(nonce=resource["nonce"], ciphertext=resource["ciphertext"],
                                associated_data=resource.get("associated_data") or "", apiv3_key=self._apiv3_key)
            if plain is None:
                raise ValueError  # the GCM tag did not check out
            trade = json.loads(plain)
            if trade.get("mchid") != self.mchid or trade.get("appid") != self.appid:
                raise ValueError
            state = _TRADE_STATE[trade["trade_state"]]
            return Notification(out_trade_no=str(trade["out_trade_no"]), state=state,
                                trade_no=str(trade.get("transaction_id") or ""),
                                amount_fen=int(trade["amount"]["total"]), notify_id=str(envelope["id"]))
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            raise InvalidNotification("malformed") from None

    # -- refunds --------------------------------------------------------------------
    def _refund_status(self, body: dict) -> RefundStatus:
        state = _REFUND_STATE.get(body.get("status"))
        amount = (body.get("amount") or {}).get("refund")
        if state is None or amount is None or not body.get("out_refund_no"):
            raise ProviderError("malformed_response")
        return RefundStatus(str(body["out_refund_no"]), state, int(amount))

    def refund(self, out_trade_no: str, *, out_request_no: str, amount_fen: int, total_fen: int, reason: str) -> RefundStatus:
        payload = {
            "out_trade_no": out_trade_no, "out_refund_no": out_request_no, "reason": _description(reason),
            "amount": {"refund": int(amount_fen), "total": int(total_fen), "currency": "CNY"},
        }
        return self._refund_status(self._ok(*self._call("/v3/refund/domestic/refunds", RequestType.POST, payload)))

    def query_refund(self, out_trade_no: str, out_request_no: str) -> RefundStatus:
        code, body = self._call(f"/v3/refund/domestic/refunds/{quote(out_request_no, safe='')}")
        if code == 404:
            raise ProviderError("refund_not_found")
        status = self._refund_status(self._ok(code, body))
        if body.get("out_trade_no") not in (None, out_trade_no):
            raise ProviderError("refund_of_another_trade")
        return status

    # -- statements -----------------------------------------------------------------
    def statement(self, day: dt.date) -> list[StatementRow]:
        """The trade bill (``bill_type=ALL``, uncompressed) of ``day``, a Beijing date."""
        code, body = self._call(f"/v3/bill/tradebill?bill_date={day.isoformat()}&bill_type=ALL")
        if code == 400 and body.get("code") == "NO_STATEMENT_EXIST":
            return []
        body = self._ok(code, body)
        url, hash_type, hash_value = body.get("download_url"), body.get("hash_type"), body.get("hash_value")
        if not isinstance(url, str) or hash_type != "SHA1" or not hash_value:
            raise ProviderError("malformed_response")
        if not url.startswith(self._gateway + "/"):
            # our Authorization header goes with the download: never to another host
            raise ProviderError("foreign_download_url")
        _, content = self._call(url[len(self._gateway):], raw=True)
        if not isinstance(content, bytes) or hashlib.sha1(content).hexdigest().lower() != str(hash_value).lower():
            raise ProviderError("statement_hash_mismatch")
        try:
            return parse_trade_bill(content)
        except (ValueError, KeyError, InvalidOperation, UnicodeDecodeError):
            raise ProviderError("malformed_statement") from None


def parse_trade_bill(content: bytes) -> list[StatementRow]:
    """Rows of a WeChat trade bill: a header line, one line per payment or refund with every
    field prefixed with a backtick, then two summary lines (``总交易单数,...`` and its values)."""
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    header = [name.strip() for name in next(reader)]
    column = {name: i for i, name in enumerate(header)}
    rows: list[StatementRow] = []
    for line in reader:
        if not line or not any(field.strip() for field in line):
            continue
        if line[0].strip().lstrip("`").startswith("总"):
            break  # the summary starts
        field = {name: line[i].strip().lstrip("`").strip() if i < len(line) else "" for name, i in column.items()}
        at = _beijing_to_utc(field["交易时间"])
        if field["交易状态"] == "REFUND":
            # 申请退款金额 is what was asked back (退款金额 leaves out voucher money); the state is a
            # snapshot taken when the refund was accepted, never updated in the bill
            amount = field.get("申请退款金额") or field["退款金额"]
            rows.append(StatementRow(StatementKind.REFUND, field["商户订单号"], field["微信订单号"], _yuan_to_fen(amount), at,
                                     out_request_no=field["商户退款单号"] or None,
                                     refund_state=_REFUND_STATE.get(field["退款状态"], RefundState.FAILED)))
        elif field["交易状态"] == "SUCCESS":
            # 订单金额 since the 2018 voucher-free format; 应结订单金额 is net of vouchers; merchants
            # on the older format have 总金额 instead
            amount = field.get("订单金额") or field.get("应结订单金额") or field["总金额"]
            rows.append(StatementRow(StatementKind.PAYMENT, field["商户订单号"], field["微信订单号"], _yuan_to_fen(amount), at))
    return rows
