"""Alipay face-to-face through python-alipay-sdk 3.4.

The SDK signs requests (RSA2 over the sorted ``k=v&...`` string), calls the gateway and checks
the signature of the ``<method>_response`` object in the answer. Around it, this adapter:

- points the SDK at a configurable gateway (the SDK only knows Alipay's production and sandbox
  URLs) and sets the urllib timeout deliberately (the SDK's default is 15 s);
- turns every transport error, unsigned or badly signed answer and business error into
  :class:`ProviderError` with a short reason and never the answer itself (it may name the buyer);
- verifies notifications on a copy of the form (the SDK's ``verify()`` pops ``sign_type`` from
  the dict it is given) after checking the signature is strict base64 (the SDK's decoder skips
  characters outside the alphabet, so a signature with junk in it would still verify);
- downloads the daily statement with urllib itself: the SDK only fetches the download URL.

Money crosses this edge as yuan strings ("123.45") and is converted to integer fen exactly.
``timeout_express`` only counts from the scan, so it is not our expiry: the app cancels the
trade at its own deadline.
"""
from __future__ import annotations

import binascii
import csv
import datetime as dt
import io
import math
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig

from ...domain.clock import LOCAL_ZONE, utcnow
from ...domain.money import fen_of_yuan, yuan_of_fen
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

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"
SUCCESS = "10000"
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"

_TRADE_STATE = {
    "WAIT_BUYER_PAY": TradeState.WAITING,
    "TRADE_SUCCESS": TradeState.PAID,
    "TRADE_FINISHED": TradeState.PAID,  # paid, and no longer refundable
    "TRADE_CLOSED": TradeState.CLOSED,  # unpaid and closed, or paid and fully refunded
}
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}", re.ASCII)


class _Gateway(AliPay):
    """The SDK's client, pointed at ``gateway`` (the SDK only knows Alipay's own two URLs)."""

    def __init__(self, *, gateway: str, timeout: float, **kwargs):
        super().__init__(config=AliPayConfig(timeout=timeout), **kwargs)
        self._gateway = gateway


class AlipayProvider:
    name = "alipay"
    ack_body = "success"
    shows_scans = True  # "trade not exist" until the buyer scans

    def __init__(self, *, app_id: str, app_private_key: str, alipay_public_key: str, gateway_url: str = PRODUCTION_GATEWAY, timeout: float = 5.0):
        if not timeout or timeout <= 0:
            raise ValueError("the gateway timeout must be a positive number of seconds")
        self.app_id = str(app_id)
        self.timeout = float(timeout)
        self._sdk = _Gateway(
            appid=self.app_id,
            app_private_key_string=app_private_key,
            alipay_public_key_string=alipay_public_key,
            sign_type="RSA2",
            gateway=gateway_url,
            timeout=self.timeout,
        )

    # -- calls -----------------------------------------------------------------------------------

    def _call(self, method: str, biz_content: dict, **kwargs) -> dict:
        """One signed gateway call; the verified ``<method>_response`` object, whatever its code."""
        try:
            answer = self._sdk.server_api(method, biz_content, **kwargs)
        except AliPayValidationError:
            raise ProviderError(f"{method}: the answer's signature does not verify") from None
        except AliPayException:
            # an unsigned answer or an error_response: its text may name the buyer, so it is dropped
            raise ProviderError(f"{method}: unsigned error answer") from None
        except urllib.error.HTTPError as exc:
            raise ProviderError(f"{method}: HTTP {exc.code}") from None
        except TimeoutError:
            raise ProviderError(f"{method}: timed out") from None
        except urllib.error.URLError as exc:
            reason = "timed out" if isinstance(exc.reason, TimeoutError) else "unreachable"
            raise ProviderError(f"{method}: {reason}") from None
        except OSError:
            raise ProviderError(f"{method}: connection failed") from None
        except (ValueError, TypeError, AttributeError, KeyError, IndexError):
            # not JSON, or JSON of another shape than the protocol's
            raise ProviderError(f"{method}: malformed answer") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("code"), str):
            raise ProviderError(f"{method}: malformed answer")
        return answer

    @staticmethod
    def _refused(method: str, answer: dict) -> ProviderError:
        code = str(answer.get("sub_code") or answer.get("code"))[:64]
        return ProviderError(f"{method}: refused ({code})")

    @staticmethod
    def _fen(method: str, value) -> int:
        try:
            return fen_of_yuan(value)
        except ValueError:
            raise ProviderError(f"{method}: malformed amount") from None

    # -- trades ----------------------------------------------------------------------------------

    def precreate(self, *, out_trade_no: str, amount_fen: int, subject: str, expires_at: dt.datetime, notify_url: str, public_base_url: str = "") -> str:
        # timeout_express only starts at the scan, so it is a backstop: our own expiry cancels the
        # trade. Whole minutes, at least one, rounded up so that it never ends before ours.
        minutes = max(1, math.ceil((expires_at - utcnow()).total_seconds() / 60))
        method = "alipay.trade.precreate"
        biz = {"out_trade_no": out_trade_no, "total_amount": yuan_of_fen(amount_fen), "subject": subject, "timeout_express": f"{minutes}m"}
        answer = self._call(method, biz, notify_url=notify_url)
        if answer["code"] != SUCCESS:
            raise self._refused(method, answer)
        qr_code = answer.get("qr_code")
        if not isinstance(qr_code, str) or not qr_code:
            raise ProviderError(f"{method}: no qr_code in the answer")
        return qr_code

    def query(self, out_trade_no: str) -> TradeStatus:
        method = "alipay.trade.query"
        answer = self._call(method, {"out_trade_no": out_trade_no})
        if answer["code"] != SUCCESS:
            if answer.get("sub_code") == TRADE_NOT_EXIST:
                return TradeStatus(TradeState.NOT_FOUND)  # precreated, not scanned yet
            raise self._refused(method, answer)
        state = _TRADE_STATE.get(answer.get("trade_status"))
        if state is None:
            raise ProviderError(f"{method}: unknown trade_status")
        amount = self._fen(method, answer.get("total_amount"))
        return TradeStatus(state, trade_no=answer.get("trade_no"), amount_fen=amount)

    def cancel(self, out_trade_no: str) -> CancelOutcome:
        """Cancel: closes an unpaid trade, refunds a paid one (``action`` = "refund")."""
        method = "alipay.trade.cancel"
        answer = self._call(method, {"out_trade_no": out_trade_no})
        if answer["code"] != SUCCESS:
            if answer.get("sub_code") == TRADE_NOT_EXIST:
                return CancelOutcome(refunded=False)  # never scanned: nothing to close or give back
            raise self._refused(method, answer)
        return CancelOutcome(refunded=answer.get("action") == "refund")

    # -- notifications -------------------------------------------------------------------------

    def parse_notification(self, callback: Callback) -> Notification:
        form = dict(callback.form) if callback.form else self._form_of(callback.body)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in form.items()):
            raise InvalidNotification("malformed")
        signature = form.get("sign", "")
        if not signature or not _BASE64.fullmatch(signature) or len(signature) % 4:
            raise InvalidNotification("bad_signature")
        if form.get("sign_type", "RSA2") != "RSA2":
            raise InvalidNotification("bad_signature")
        unsigned = {k: v for k, v in form.items() if k not in ("sign", "sign_type")}
        try:
            # the SDK sorts k=v of what it is given, values as received; a copy, as it changes it
            verified = self._sdk.verify(dict(unsigned), signature)
        except (AliPayException, ValueError, TypeError, binascii.Error):
            verified = False
        if not verified:
            raise InvalidNotification("bad_signature")
        if form.get("app_id") != self.app_id:
            raise InvalidNotification("wrong_app")
        state = _TRADE_STATE.get(form.get("trade_status", ""))
        fields = [form.get(k, "") for k in ("out_trade_no", "trade_no", "notify_id")]
        if state is None or not all(fields):
            raise InvalidNotification("malformed")
        try:
            amount = fen_of_yuan(form.get("total_amount", ""))
        except ValueError:
            raise InvalidNotification("malformed") from None
        out_trade_no, trade_no, notify_id = fields
        return Notification(out_trade_no=out_trade_no, state=state, trade_no=trade_no, amount_fen=amount, notify_id=notify_id)

    @staticmethod
    def _form_of(body: bytes) -> dict[str, str]:
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise InvalidNotification("malformed") from None
        form = dict(pairs)
        if len(form) != len(pairs):
            raise InvalidNotification("malformed")  # a repeated field: which one was signed?
        return form

    # -- refunds ---------------------------------------------------------------------------------

    def refund(self, out_trade_no: str, *, out_request_no: str, amount_fen: int, total_fen: int, reason: str) -> RefundStatus:
        method = "alipay.trade.refund"
        biz = {"out_trade_no": out_trade_no, "refund_amount": yuan_of_fen(amount_fen), "out_request_no": out_request_no, "refund_reason": reason}
        answer = self._call(method, biz)
        if answer["code"] != SUCCESS:
            raise self._refused(method, answer)
        if answer.get("fund_change") == "Y":
            return RefundStatus(out_request_no, RefundState.SUCCESS, amount_fen)
        # "N": no money moved by this call (e.g. the same request number again): ask what it did
        return self.query_refund(out_trade_no, out_request_no)

    def query_refund(self, out_trade_no: str, out_request_no: str) -> RefundStatus:
        method = "alipay.trade.fastpay.refund.query"
        answer = self._call(method, {"out_trade_no": out_trade_no, "out_request_no": out_request_no, "query_options": ["gmt_refund_pay"]})
        if answer["code"] != SUCCESS:
            if answer.get("sub_code") == TRADE_NOT_EXIST:
                return RefundStatus(out_request_no, RefundState.FAILED, 0)
            raise self._refused(method, answer)
        if not answer.get("out_request_no") and not answer.get("refund_amount"):
            # Alipay's documented answer for a refund it has no record of: it did not happen
            return RefundStatus(out_request_no, RefundState.FAILED, 0)
        amount = self._fen(method, answer.get("refund_amount"))
        status = answer.get("refund_status")
        state = RefundState.SUCCESS if status in (None, "", "REFUND_SUCCESS") else RefundState.PROCESSING
        return RefundStatus(out_request_no, state, amount)

    # -- statements ------------------------------------------------------------------------------

    def statement(self, day: dt.date) -> list[StatementRow]:
        method = "alipay.data.dataservice.bill.downloadurl.query"
        answer = self._call(method, {"bill_type": "trade", "bill_date": day.isoformat()})
        if answer["code"] != SUCCESS:
            raise self._refused(method, answer)
        url = answer.get("bill_download_url")
        if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ProviderError(f"{method}: no download URL")
        return parse_statement(self._download(url))

    def _download(self, url: str) -> bytes:
        # the SDK has no download: urllib with the same timeout (the URL lives about 30 s)
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            raise ProviderError(f"statement download: HTTP {exc.code}") from None
        except (TimeoutError, urllib.error.URLError, OSError):
            raise ProviderError("statement download failed") from None


_COLUMNS = {
    "trade_no": "支付宝交易号",
    "out_trade_no": "商户订单号",
    "kind": "业务类型",
    "finished": "完成时间",
    "created": "创建时间",
    "amount": "订单金额（元）",
    "request_no": "退款批次号/请求号",
}
_KINDS = {"交易": StatementKind.PAYMENT, "退款": StatementKind.REFUND}


def parse_statement(archive: bytes) -> list[StatementRow]:
    """The rows of Alipay's trade bill: a zip holding a detail CSV and a summary CSV, both GBK.

    The detail file is found by its header rather than its name (the names are GBK bytes that
    zipfile reads as cp437). Lines starting with '#' are titles and totals. Amounts are yuan with
    two decimals (refund lines may carry a minus sign; the row holds the amount given back), times
    are Beijing time and become naive UTC.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            texts = [zipped.read(info).decode("gbk") for info in zipped.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, UnicodeDecodeError, ValueError, OSError):
        raise ProviderError("statement: not a zip of GBK CSV") from None
    for text in texts:
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        if not lines:
            continue
        header = [cell.strip() for cell in next(csv.reader([lines[0]]))]
        if all(name in header for name in _COLUMNS.values()):
            return _rows(header, lines[1:])
    raise ProviderError("statement: no detail file in the archive")


def _rows(header: list[str], lines: list[str]) -> list[StatementRow]:
    index = {key: header.index(name) for key, name in _COLUMNS.items()}
    rows = []
    for record in csv.reader(lines):
        cells = [cell.strip() for cell in record]
        if len(cells) < len(header):
            raise ProviderError("statement: short line")
        kind = _KINDS.get(cells[index["kind"]])
        if kind is None:
            continue  # other business types (e.g. fees) are not trades of ours
        try:
            amount = abs(fen_of_yuan(cells[index["amount"]], signed=True))
            local = dt.datetime.strptime(cells[index["finished"]] or cells[index["created"]], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise ProviderError("statement: malformed amount or time") from None
        at = local.replace(tzinfo=LOCAL_ZONE).astimezone(dt.timezone.utc).replace(tzinfo=None)
        rows.append(StatementRow(
            kind=kind,
            out_trade_no=cells[index["out_trade_no"]],
            trade_no=cells[index["trade_no"]],
            amount_fen=amount,
            at=at,
            out_request_no=(cells[index["request_no"]] or None) if kind is StatementKind.REFUND else None,
        ))
    return rows
