"""The WeChat Pay v3 Native adapter against a local fake of the v3 gateway (no network)."""
from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from kiosk.payments.base import (
    Callback, CancelOutcome, InvalidNotification, ProviderError, RefundState, StatementKind, TradeState,
)
from kiosk.payments.wechat import WechatPayProvider
from kiosk.payments.wechat.provider import parse_trade_bill
from tests.fakes.wechat_gateway import FakeWechatGateway, new_rsa_key, private_pem, public_pem

MCHID, APPID, SERIAL, PUB_KEY_ID = "1900000109", "wxd678efh567hg6787", "3775B6A45ACD588826D15E583A95F5DD00000001", \
    "PUB_KEY_ID_0119000001092026112200000001"
APIV3_KEY = "a12d3924fd499edac8a5efc2b1a3c0d4"
EXPIRES = dt.datetime(2026, 11, 22, 2, 5, 0)  # naive UTC: 10:05 in Beijing


@pytest.fixture(scope="session")
def keys():
    return {"merchant": new_rsa_key(), "platform": new_rsa_key()}


@pytest.fixture
def gateway(keys):
    fake = FakeWechatGateway(mchid=MCHID, appid=APPID, merchant_key=keys["merchant"], merchant_serial=SERIAL,
                             platform_key=keys["platform"], public_key_id=PUB_KEY_ID, apiv3_key=APIV3_KEY).start()
    yield fake
    fake.stop()


def make_provider(keys, fake, **overrides):
    values = dict(mchid=MCHID, appid=APPID, private_key_pem=private_pem(keys["merchant"]), cert_serial_no=SERIAL,
                  apiv3_key=APIV3_KEY, platform_public_key_pem=public_pem(keys["platform"]),
                  platform_public_key_id=PUB_KEY_ID, gateway=fake.base_url, timeout_s=0.5)
    return WechatPayProvider(**(values | overrides))


@pytest.fixture
def wechat(keys, gateway):
    return make_provider(keys, gateway)


def open_order(wechat, no="K20261122000001", fen=12345):
    return wechat.precreate(out_trade_no=no, amount_fen=fen, subject="城乡居民养老保险 2026", expires_at=EXPIRES,
                            notify_url="https://kiosk.example.org/callbacks/wechat", public_base_url="https://kiosk")


# -- construction ---------------------------------------------------------------------------
def test_public_key_mode_never_downloads_certificates(keys, gateway):
    make_provider(keys, gateway)
    assert gateway.requests == []


def test_a_missing_public_key_is_refused_rather_than_falling_back_to_certificates(keys, gateway):
    with pytest.raises(ValueError):
        make_provider(keys, gateway, platform_public_key_pem="")
    with pytest.raises(ValueError):
        make_provider(keys, gateway, platform_public_key_id="")
    assert gateway.requests == []


# -- native order, query, close ----------------------------------------------------------------
def test_precreate_returns_the_code_url_and_sets_time_expire_in_beijing_time(wechat, gateway):
    code_url = open_order(wechat)
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    order = gateway.orders["K20261122000001"]
    assert order.time_expire == "2026-11-22T10:05:00+08:00"
    assert order.total == 12345 and order.payload["amount"]["currency"] == "CNY"
    assert order.payload["notify_url"] == "https://kiosk.example.org/callbacks/wechat"


def test_a_repeated_precreate_gets_the_same_code(wechat):
    assert open_order(wechat) == open_order(wechat)


def test_a_long_subject_is_cut_to_wechats_127_bytes(wechat, gateway):
    wechat.precreate(out_trade_no="K1", amount_fen=1, subject="养老" * 100, expires_at=EXPIRES,
                     notify_url="https://k/cb", public_base_url="https://k")
    assert len(gateway.orders["K1"].payload["description"].encode()) <= 127


@pytest.mark.parametrize("act, state", [
    (lambda g, no: None, TradeState.WAITING),
    (lambda g, no: g.pay(no), TradeState.PAID),
    (lambda g, no: g.decline(no), TradeState.FAILED),
])
def test_query_maps_trade_states(wechat, gateway, act, state):
    open_order(wechat)
    act(gateway, "K20261122000001")
    status = wechat.query("K20261122000001")
    assert status.state is state and status.amount_fen == 12345


def test_query_of_a_paid_order_gives_the_transaction_id_and_fen(wechat, gateway):
    open_order(wechat)
    paid = gateway.pay("K20261122000001")
    status = wechat.query("K20261122000001")
    assert (status.state, status.trade_no, status.amount_fen) == (TradeState.PAID, paid.transaction_id, 12345)


def test_a_refunded_order_still_reads_as_paid(wechat, gateway):
    open_order(wechat)
    gateway.pay("K20261122000001")
    wechat.refund("K20261122000001", out_request_no="R1", amount_fen=100, total_fen=12345, reason="duplicate")
    assert gateway.orders["K20261122000001"].trade_state == "REFUND"
    assert wechat.query("K20261122000001").state is TradeState.PAID


def test_query_of_an_unknown_order_is_not_found(wechat):
    assert wechat.query("NOPE").state is TradeState.NOT_FOUND


def test_cancel_closes_an_unpaid_order(wechat, gateway):
    open_order(wechat)
    assert wechat.cancel("K20261122000001") == CancelOutcome(refunded=False)
    assert gateway.orders["K20261122000001"].trade_state == "CLOSED"
    assert wechat.query("K20261122000001").state is TradeState.CLOSED
    assert ("POST", "/v3/pay/transactions/out-trade-no/K20261122000001/close") in gateway.requests


def test_cancel_of_a_paid_order_refunds_it_once(wechat, gateway):
    open_order(wechat)
    gateway.pay("K20261122000001")
    assert wechat.cancel("K20261122000001") == CancelOutcome(refunded=True)
    assert wechat.cancel("K20261122000001") == CancelOutcome(refunded=True)  # a second closer
    refund = gateway.refunds["close-K20261122000001"]
    assert refund.refund == 12345 and list(gateway.refunds) == ["close-K20261122000001"]
    assert gateway.orders["K20261122000001"].refunded == 12345


# -- transport faults ------------------------------------------------------------------------
def test_a_gateway_slower_than_the_timeout_is_a_provider_error(wechat, gateway):
    gateway.fault, gateway.delay_s = "delay", 1.5
    started = time.monotonic()
    with pytest.raises(ProviderError, match="timeout"):
        wechat.query("K1")
    assert time.monotonic() - started < 1.4


@pytest.mark.parametrize("fault, reason", [
    ("500", "http_500"), ("garbage", "malformed_response"), ("bad_signature", "bad_response_signature"),
    ("foreign_serial", "bad_response_signature"),
])
def test_gateway_faults_are_provider_errors(wechat, gateway, fault, reason):
    gateway.fault = fault
    with pytest.raises(ProviderError, match=reason):
        open_order(wechat)


def test_a_response_under_another_serial_never_triggers_a_certificate_download(wechat, gateway):
    open_order(wechat)
    gateway.fault = "foreign_serial"
    with pytest.raises(ProviderError):
        wechat.query("K20261122000001")
    assert not [path for _, path in gateway.requests if path.startswith("/v3/certificates")]


def test_an_unreachable_gateway_is_a_provider_error(keys, gateway):
    url = gateway.base_url
    gateway.stop()
    provider = make_provider(keys, gateway, gateway=url)
    with pytest.raises(ProviderError, match="unreachable|timeout"):
        provider.query("K1")


def test_a_request_signed_with_another_merchant_key_is_refused(keys, gateway):
    provider = make_provider(keys, gateway, private_key_pem=private_pem(new_rsa_key()))
    with pytest.raises(ProviderError, match="SIGN_ERROR"):
        open_order(provider)


# -- notifications ---------------------------------------------------------------------------
def test_a_signed_notification_is_decrypted_and_mapped(wechat, gateway):
    open_order(wechat)
    paid = gateway.pay("K20261122000001")
    callback = gateway.callback("K20261122000001")
    note = wechat.parse_notification(callback)
    assert (note.out_trade_no, note.state, note.trade_no, note.amount_fen) == \
        ("K20261122000001", TradeState.PAID, paid.transaction_id, 12345)
    assert note.notify_id == json.loads(callback.body)["id"]


def test_header_names_are_matched_whatever_their_case(wechat, gateway):
    open_order(wechat)
    gateway.pay("K20261122000001")
    callback = gateway.callback("K20261122000001")
    lower = Callback(callback.body, {k.lower(): v for k, v in callback.headers.items()}, {})
    assert wechat.parse_notification(lower).state is TradeState.PAID


def test_the_same_notification_twice_reads_the_same(wechat, gateway):
    open_order(wechat)
    gateway.pay("K20261122000001")
    callback = gateway.callback("K20261122000001")
    assert wechat.parse_notification(callback) == wechat.parse_notification(callback)


def test_wechats_badly_signed_probe_is_refused(wechat, gateway):
    open_order(wechat)
    gateway.pay("K20261122000001")
    with pytest.raises(InvalidNotification) as error:
        wechat.parse_notification(gateway.callback("K20261122000001", probe=True))
    assert error.value.reason == "bad_signature"


def test_a_body_changed_after_signing_is_refused(wechat, gateway):
    open_order(wechat)
    gateway.pay("K20261122000001")
    callback = gateway.callback("K20261122000001")
    reformatted = json.dumps(json.loads(callback.body), indent=1).encode()  # same data, other bytes
    with pytest.raises(InvalidNotification, match="bad_signature"):
        wechat.parse_notification(Callback(reformatted, callback.headers, {}))


@pytest.mark.parametrize("headers", [
    {"Wechatpay-Serial": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"},  # a certificate serial: not our mode
    {"Wechatpay-Signature": ""},
    {"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"},
])
def test_notifications_outside_public_key_mode_are_refused(wechat, gateway, headers):
    open_order(wechat)
    callback = gateway.callback("K20261122000001")
    with pytest.raises(InvalidNotification, match="bad_signature"):
        wechat.parse_notification(Callback(callback.body, dict(callback.headers) | headers, {}))
    assert gateway.requests == [("POST", "/v3/pay/transactions/native")]


@pytest.mark.parametrize("offset, accepted", [(-299, True), (299, True), (-301, False), (301, False)])
def test_a_timestamp_more_than_five_minutes_off_is_stale(keys, gateway, offset, accepted):
    now = 1_800_000_000
    provider = make_provider(keys, gateway, clock=lambda: now)
    open_order(provider)
    gateway.pay("K20261122000001")
    callback = gateway.callback("K20261122000001", timestamp=now + offset)
    if accepted:
        assert provider.parse_notification(callback).state is TradeState.PAID
    else:
        with pytest.raises(InvalidNotification, match="stale"):
            provider.parse_notification(callback)


def test_a_resource_encrypted_with_another_key_is_malformed(wechat, gateway):
    open_order(wechat)
    resource = gateway.encrypt(json.dumps(gateway.transaction("K20261122000001")))
    resource["associated_data"] = "tampered"  # the GCM tag no longer checks out
    with pytest.raises(InvalidNotification, match="malformed"):
        wechat.parse_notification(gateway.callback("K20261122000001", resource=resource))


@pytest.mark.parametrize("plain", ["not json", json.dumps({"mchid": MCHID, "appid": APPID}),
                                   json.dumps({"mchid": "1234567890", "appid": APPID, "out_trade_no": "K",
                                               "trade_state": "SUCCESS", "amount": {"total": 1}})])
def test_a_signed_callback_of_the_wrong_shape_is_malformed(wechat, gateway, plain):
    open_order(wechat)
    with pytest.raises(InvalidNotification, match="malformed"):
        wechat.parse_notification(gateway.callback("K20261122000001", plain=plain))


def test_a_signed_body_that_is_not_json_is_malformed(wechat, gateway):
    with pytest.raises(InvalidNotification, match="malformed"):
        wechat.parse_notification(gateway.signed_callback(b"success=true"))


def test_the_ack_is_an_empty_2xx_body(wechat):
    assert wechat.ack_body == ""


# -- refunds ---------------------------------------------------------------------------------
@pytest.fixture
def paid(wechat, gateway):
    open_order(wechat)
    gateway.pay("K20261122000001")
    return "K20261122000001"


def test_a_partial_refund_is_followed_to_its_end(wechat, gateway, paid):
    status = wechat.refund(paid, out_request_no="R-1", amount_fen=2345, total_fen=12345, reason="partial")
    assert (status.out_request_no, status.state, status.amount_fen) == ("R-1", RefundState.PROCESSING, 2345)
    gateway.finish_refund("R-1")
    assert wechat.query_refund(paid, "R-1").state is RefundState.SUCCESS


@pytest.mark.parametrize("wechat_status, state", [("ABNORMAL", RefundState.FAILED), ("CLOSED", RefundState.FAILED)])
def test_refund_failures_map_to_failed(wechat, gateway, paid, wechat_status, state):
    wechat.refund(paid, out_request_no="R-1", amount_fen=100, total_fen=12345, reason="x")
    gateway.finish_refund("R-1", wechat_status)
    assert wechat.query_refund(paid, "R-1").state is state


def test_the_same_refund_number_never_refunds_twice(wechat, gateway, paid):
    for _ in range(2):
        wechat.refund(paid, out_request_no="R-1", amount_fen=12345, total_fen=12345, reason="full")
    assert gateway.orders[paid].refunded == 12345 and len(gateway.refunds) == 1


def test_a_refund_above_the_rest_is_refused(wechat, gateway, paid):
    wechat.refund(paid, out_request_no="R-1", amount_fen=12000, total_fen=12345, reason="x")
    with pytest.raises(ProviderError, match="INVALID_REQUEST"):
        wechat.refund(paid, out_request_no="R-2", amount_fen=346, total_fen=12345, reason="x")
    assert gateway.orders[paid].refunded == 12000


def test_querying_an_unknown_refund_is_a_provider_error(wechat, paid):
    with pytest.raises(ProviderError, match="refund_not_found"):
        wechat.query_refund(paid, "R-none")


# -- statements ------------------------------------------------------------------------------
def test_the_trade_bill_is_downloaded_hash_checked_and_parsed(wechat, gateway, paid):
    wechat.refund(paid, out_request_no="R-1", amount_fen=2345, total_fen=12345, reason="x")
    gateway.finish_refund("R-1")
    order = gateway.orders[paid]
    day = order.paid_at.date()
    gateway.build_bill(day)
    rows = wechat.statement(day)
    payment, refund = rows
    assert (payment.kind, payment.out_trade_no, payment.trade_no, payment.amount_fen) == \
        (StatementKind.PAYMENT, paid, order.transaction_id, 12345)
    assert payment.at == order.paid_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    assert (refund.kind, refund.out_request_no, refund.amount_fen, refund.refund_state) == \
        (StatementKind.REFUND, "R-1", 2345, RefundState.SUCCESS)
    assert any(path.startswith("/v3/bill/tradebill?bill_date=") and "bill_type=ALL" in path
               for _, path in gateway.requests)


def test_a_bill_that_does_not_match_its_hash_is_refused(wechat, gateway, paid):
    day = gateway.orders[paid].paid_at.date()
    gateway.build_bill(day)
    gateway.fault = "corrupt_bill"
    with pytest.raises(ProviderError, match="statement_hash_mismatch"):
        wechat.statement(day)


def test_a_day_without_a_bill_is_empty(wechat):
    assert wechat.statement(dt.date(2020, 1, 1)) == []


def test_bill_amounts_in_yuan_become_exact_fen_and_beijing_times_utc():
    bill = ("交易时间,微信订单号,商户订单号,交易状态,应结订单金额,订单金额,商户退款单号,退款金额,申请退款金额\r\n"
            "`2026-01-01 07:30:00,`4200A,`K1,`SUCCESS,`0.29,`0.29,`0,`0.00,`0.00\r\n"
            "`2026-01-01 07:31:00,`4200B,`K2,`SUCCESS,`1234567.89,`1234567.89,`0,`0.00,`0.00\r\n"
            "总交易单数,应结订单总金额,退款总金额\r\n`2,`1234568.18,`0.00\r\n").encode()
    first, second = parse_trade_bill(bill)
    assert first.amount_fen == 29 and second.amount_fen == 123456789
    assert first.at == dt.datetime(2025, 12, 31, 23, 30)


def test_a_refund_is_in_the_bill_of_the_day_it_was_accepted_with_its_state_then(wechat, gateway, paid):
    """WeChat lists a refund once accepted, with 退款状态 as it was when the bill was made: one
    still processing is in the bill as processing, one that failed (ABNORMAL) as failed."""
    wechat.refund(paid, out_request_no="R-slow", amount_fen=100, total_fen=12345, reason="x")
    wechat.refund(paid, out_request_no="R-bad", amount_fen=200, total_fen=12345, reason="x")
    gateway.finish_refund("R-bad", "ABNORMAL")
    day = gateway.orders[paid].paid_at.date()
    gateway.build_bill(day)
    refunds = {r.out_request_no: (r.amount_fen, r.refund_state) for r in wechat.statement(day) if r.kind is StatementKind.REFUND}
    assert refunds == {"R-slow": (100, RefundState.PROCESSING), "R-bad": (200, RefundState.FAILED)}
