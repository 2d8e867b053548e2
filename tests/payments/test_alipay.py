"""The Alipay face-to-face adapter against a local fake of Alipay's gateway (127.0.0.1 only)."""
import datetime as dt

import pytest

from kiosk.domain.clock import utcnow
from kiosk.payments.alipay import AlipayProvider, fen_of_yuan
from kiosk.payments.base import (
    Callback,
    InvalidNotification,
    ProviderError,
    RefundState,
    StatementKind,
    TradeState,
)
from tests.fakes.alipay_gateway import private_pem, public_pem

from .conftest import APP_ID


def open_trade(alipay, out_trade_no="K20260101000001", amount_fen=12345):
    return alipay.precreate(out_trade_no=out_trade_no, amount_fen=amount_fen, subject="社保缴费", expires_at=utcnow() + dt.timedelta(minutes=5),
                            notify_url="https://kiosk.example/callbacks/alipay", public_base_url="https://kiosk.example")


def paid_trade(alipay, gateway, out_trade_no="K20260101000001", amount_fen=12345):
    open_trade(alipay, out_trade_no, amount_fen)
    gateway.pay(out_trade_no)
    return out_trade_no


# -- trades ------------------------------------------------------------------------------------


def test_precreate_returns_the_qr_code_and_sends_the_amount_in_yuan(alipay, gateway):
    qr = open_trade(alipay, amount_fen=12345)
    assert qr.startswith("https://qr.alipay.com/")
    trade = gateway.trades["K20260101000001"]
    assert trade.amount_fen == 12345
    assert trade.notify_url == "https://kiosk.example/callbacks/alipay"


def test_a_trade_is_not_found_before_the_scan_waiting_after_and_paid_after_payment(alipay, gateway):
    open_trade(alipay)
    assert alipay.query("K20260101000001").state is TradeState.NOT_FOUND
    gateway.scan("K20260101000001")
    assert alipay.query("K20260101000001").state is TradeState.WAITING
    gateway.pay("K20260101000001")
    status = alipay.query("K20260101000001")
    assert status.state is TradeState.PAID
    assert status.amount_fen == 12345
    assert status.trade_no == gateway.trades["K20260101000001"].trade_no


def test_cancel_closes_an_unpaid_trade(alipay, gateway):
    open_trade(alipay)
    gateway.scan("K20260101000001")
    assert alipay.cancel("K20260101000001").refunded is False
    assert alipay.query("K20260101000001").state is TradeState.CLOSED


def test_cancel_of_a_paid_trade_says_it_refunded(alipay, gateway):
    paid_trade(alipay, gateway)
    assert alipay.cancel("K20260101000001").refunded is True
    assert gateway.trades["K20260101000001"].refunded_fen == 12345


def test_cancel_of_a_trade_alipay_never_saw_is_not_an_error(alipay, gateway):
    assert alipay.cancel("K-unknown").refunded is False


# -- refunds -----------------------------------------------------------------------------------


def test_partial_refunds_then_an_over_refund_is_refused(alipay, gateway):
    paid_trade(alipay, gateway, amount_fen=10000)
    first = alipay.refund("K20260101000001", out_request_no="R1", amount_fen=3000, total_fen=10000, reason="duplicate")
    second = alipay.refund("K20260101000001", out_request_no="R2", amount_fen=5000, total_fen=10000, reason="duplicate")
    assert (first.state, first.amount_fen) == (RefundState.SUCCESS, 3000)
    assert (second.state, second.amount_fen) == (RefundState.SUCCESS, 5000)
    with pytest.raises(ProviderError, match="REFUND_AMT_NOT_EQUAL_TOTAL"):
        alipay.refund("K20260101000001", out_request_no="R3", amount_fen=2001, total_fen=10000, reason="duplicate")
    assert gateway.trades["K20260101000001"].refunded_fen == 8000


def test_the_same_refund_request_number_never_refunds_twice(alipay, gateway):
    paid_trade(alipay, gateway, amount_fen=10000)
    alipay.refund("K20260101000001", out_request_no="R1", amount_fen=3000, total_fen=10000, reason="duplicate")
    again = alipay.refund("K20260101000001", out_request_no="R1", amount_fen=3000, total_fen=10000, reason="duplicate")
    assert (again.out_request_no, again.state, again.amount_fen) == ("R1", RefundState.SUCCESS, 3000)
    assert gateway.trades["K20260101000001"].refunded_fen == 3000


def test_query_refund_follows_a_refund_and_knows_one_that_never_happened(alipay, gateway):
    paid_trade(alipay, gateway, amount_fen=10000)
    alipay.refund("K20260101000001", out_request_no="R1", amount_fen=2500, total_fen=10000, reason="duplicate")
    found = alipay.query_refund("K20260101000001", "R1")
    assert (found.state, found.amount_fen) == (RefundState.SUCCESS, 2500)
    missing = alipay.query_refund("K20260101000001", "R9")
    assert (missing.state, missing.amount_fen) == (RefundState.FAILED, 0)


# -- notifications -----------------------------------------------------------------------------


def test_a_signed_notification_is_verified_and_read_in_fen(alipay, gateway):
    paid_trade(alipay, gateway)
    form = gateway.notification("K20260101000001")
    note = alipay.parse_notification(Callback.of_form(form))
    assert (note.out_trade_no, note.state, note.amount_fen) == ("K20260101000001", TradeState.PAID, 12345)
    assert note.trade_no == gateway.trades["K20260101000001"].trade_no
    assert note.notify_id == form["notify_id"]
    assert alipay.ack_body == "success"


def test_the_callers_form_is_not_changed_by_verification(alipay, gateway):
    paid_trade(alipay, gateway)
    form = gateway.notification("K20260101000001")
    kept = dict(form)
    alipay.parse_notification(Callback(b"", {}, form))
    assert form == kept


def test_the_raw_body_is_read_when_no_parsed_form_is_given(alipay, gateway):
    paid_trade(alipay, gateway)
    callback = Callback.of_form(gateway.notification("K20260101000001"))
    assert alipay.parse_notification(Callback(callback.body, callback.headers, {})).amount_fen == 12345


@pytest.mark.parametrize("change", [
    pytest.param(lambda form, keys, gateway: form | {"total_amount": "0.01"}, id="tampered amount"),
    pytest.param(lambda form, keys, gateway: gateway.notification("K20260101000001", key=keys["stranger"]), id="wrong key"),
    pytest.param(lambda form, keys, gateway: {k: v for k, v in form.items() if k != "sign"}, id="missing sign"),
    pytest.param(lambda form, keys, gateway: form | {"sign": form["sign"][:100] + "签" + form["sign"][100:]}, id="non-ASCII sign"),
    pytest.param(lambda form, keys, gateway: form | {"sign": "not base64!"}, id="garbage sign"),
    pytest.param(lambda form, keys, gateway: form | {"sign_type": "RSA"}, id="other sign type"),
])
def test_a_notification_that_does_not_verify_is_refused(alipay, gateway, keys, change):
    paid_trade(alipay, gateway)
    form = change(gateway.notification("K20260101000001"), keys, gateway)
    with pytest.raises(InvalidNotification) as refused:
        alipay.parse_notification(Callback.of_form(form))
    assert refused.value.reason == "bad_signature"


def test_a_notification_for_another_app_is_refused(alipay, gateway):
    paid_trade(alipay, gateway)
    form = gateway.notification("K20260101000001", app_id="2021000000009999")
    with pytest.raises(InvalidNotification) as refused:
        alipay.parse_notification(Callback.of_form(form))
    assert refused.value.reason == "wrong_app"


@pytest.mark.parametrize("overrides", [{"total_amount": "123.4"}, {"total_amount": "1e3"}, {"total_amount": "１２.００"},
                                       {"trade_status": "SOMETHING_NEW"}, {"notify_id": ""}])
def test_a_signed_notification_of_the_wrong_shape_is_malformed(alipay, gateway, overrides):
    paid_trade(alipay, gateway)
    form = gateway.notification("K20260101000001", **overrides)
    with pytest.raises(InvalidNotification) as refused:
        alipay.parse_notification(Callback.of_form(form))
    assert refused.value.reason == "malformed"


def test_yuan_strings_become_fen_exactly():
    assert fen_of_yuan("123.45") == 12345
    assert fen_of_yuan("0.29") == 29  # float(0.29) * 100 == 28.999999999999996
    assert fen_of_yuan("-1.10", signed=True) == -110
    for bad in ("1.1", "01.00", " 1.00", "1.000", "-1.00", "NaN", "١.٠٠"):
        with pytest.raises(ValueError):
            fen_of_yuan(bad)


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["http500", "garbage", "bad_signature"])
def test_a_failing_or_forged_gateway_answer_raises_provider_error(alipay, gateway, fault):
    gateway.fault = fault
    with pytest.raises(ProviderError):
        open_trade(alipay)


def test_a_gateway_slower_than_the_timeout_raises_provider_error(gateway, keys):
    quick = AlipayProvider(app_id=APP_ID, app_private_key=private_pem(keys["app"]), alipay_public_key=public_pem(keys["alipay"]),
                           gateway_url=gateway.gateway_url, timeout=0.3)
    gateway.fault, gateway.delay = "delay", 3
    with pytest.raises(ProviderError, match="timed out"):
        quick.query("K20260101000001")


def test_an_unreachable_gateway_raises_provider_error(keys):
    nowhere = AlipayProvider(app_id=APP_ID, app_private_key=private_pem(keys["app"]), alipay_public_key=public_pem(keys["alipay"]),
                             gateway_url="http://127.0.0.1:9/gateway.do", timeout=0.5)
    with pytest.raises(ProviderError):
        nowhere.query("K20260101000001")


def test_a_request_signed_with_another_key_is_refused_by_the_gateway(gateway, keys):
    impostor = AlipayProvider(app_id=APP_ID, app_private_key=private_pem(keys["stranger"]), alipay_public_key=public_pem(keys["alipay"]),
                              gateway_url=gateway.gateway_url, timeout=1.0)
    with pytest.raises(ProviderError, match="invalid-signature"):
        open_trade(impostor)
    assert gateway.trades == {}


def test_a_provider_error_does_not_carry_the_buyer(alipay, gateway):
    paid_trade(alipay, gateway)
    gateway.fault = "bad_signature"
    with pytest.raises(ProviderError) as failed:
        alipay.query("K20260101000001")
    assert "张" not in str(failed.value) and "example.com" not in str(failed.value)


# -- statements --------------------------------------------------------------------------------


def test_the_statement_is_downloaded_unzipped_and_read_from_gbk(alipay, gateway):
    gateway.now = lambda: dt.datetime(2026, 1, 5, 7, 30, 0)  # Beijing time
    paid_trade(alipay, gateway, "K1", 10000)
    gateway.now = lambda: dt.datetime(2026, 1, 5, 9, 15, 0)
    alipay.refund("K1", out_request_no="R1", amount_fen=2500, total_fen=10000, reason="duplicate")
    gateway.now = lambda: dt.datetime(2026, 1, 6, 9, 0, 0)
    paid_trade(alipay, gateway, "K2", 500)  # another day's

    rows = alipay.statement(dt.date(2026, 1, 5))

    trade_no = gateway.trades["K1"].trade_no
    assert [(r.kind, r.out_trade_no, r.trade_no, r.amount_fen, r.at, r.out_request_no) for r in rows] == [
        (StatementKind.PAYMENT, "K1", trade_no, 10000, dt.datetime(2026, 1, 4, 23, 30), None),
        (StatementKind.REFUND, "K1", trade_no, 2500, dt.datetime(2026, 1, 5, 1, 15), "R1"),
    ]


def test_an_empty_day_has_an_empty_statement(alipay, gateway):
    assert alipay.statement(dt.date(2026, 1, 5)) == []
