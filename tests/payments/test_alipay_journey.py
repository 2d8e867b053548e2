"""The citizen's journey with Alipay as the app's provider, against the local fake Alipay gateway:
the same core (orders, notifications, polls, cancels) with a real adapter underneath."""
from __future__ import annotations

import pytest

from kiosk.extensions import db
from kiosk.models import PaymentOrder, Receipt
from tests.fakes.alipay_gateway import new_key, private_pem, public_pem
from tests.helpers import ZHAO_MIN, Journey
from tests.payments.conftest import APP_ID


@pytest.fixture
def app_config(monkeypatch, tmp_path, keys, gateway):
    """The testing settings, with Alipay (its key files and the fake's address) as the provider;
    ``keys`` and ``gateway`` are this folder's fixtures, as the adapter's own tests use them."""
    for name, text in (("app_private.pem", private_pem(keys["app"])), ("alipay_public.pem", public_pem(keys["alipay"]))):
        (tmp_path / name).write_text(text)
    for name, value in {"KIOSK_PAYMENT_PROVIDER": "alipay", "KIOSK_ALIPAY_APP_ID": APP_ID,
                        "KIOSK_ALIPAY_APP_PRIVATE_KEY_FILE": str(tmp_path / "app_private.pem"),
                        "KIOSK_ALIPAY_PUBLIC_KEY_FILE": str(tmp_path / "alipay_public.pem"),
                        "KIOSK_ALIPAY_GATEWAY": gateway.gateway_url, "KIOSK_PROVIDER_TIMEOUT_SECONDS": "3"}.items():
        monkeypatch.setenv(name, value)
    return {"PROVIDER_QUERY_INTERVAL_SECONDS": 0}


def the_order() -> PaymentOrder:
    db.session.expire_all()
    return db.session.scalars(db.select(PaymentOrder).order_by(PaymentOrder.id.desc())).first()


def test_a_citizen_pays_with_alipay_and_its_signed_notification_gives_the_receipt(demo, client, gateway):
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
        out_trade_no, total = order.attempt.out_trade_no, order.total_fen
        assert order.attempt.provider == "alipay" and order.attempt.qr_payload.startswith("https://qr.alipay.com/")
    assert gateway.trades[out_trade_no].amount_fen == total  # the amount the server computed
    gateway.pay(out_trade_no)
    note = gateway.notification(out_trade_no)
    for _ in range(2):  # Alipay retries until it reads exactly "success"
        response = demo.test_client().post("/payments/notify/alipay", data=note)
        assert (response.status_code, response.text) == (200, "success")
    assert journey.get("/payment").headers["Location"] == "/receipt"
    with demo.app_context():
        assert the_order().status == "paid"
        assert db.session.scalar(db.select(db.func.count(Receipt.id))) == 2  # the demo's counter payment and this one


def test_a_notification_signed_with_another_key_is_refused_and_the_poll_still_finds_the_payment(demo, client, gateway):
    journey = Journey(client)
    with demo.app_context():
        out_trade_no = journey.pay(ZHAO_MIN).attempt.out_trade_no
    gateway.pay(out_trade_no)
    forged = gateway.notification(out_trade_no, key=new_key())
    assert demo.test_client().post("/payments/notify/alipay", data=forged).status_code == 400
    with demo.app_context():
        assert the_order().status == "pending"
    # the genuine notification is lost; the QR screen's poll asks Alipay and finds the payment
    journey.get("/payment/status", headers={"HX-Request": "true"})
    assert journey.get("/payment").headers["Location"] == "/receipt"


def test_cancel_closes_the_trade_at_alipay(demo, client, gateway):
    journey = Journey(client)
    with demo.app_context():
        out_trade_no = journey.pay(ZHAO_MIN).attempt.out_trade_no
    gateway.scan(out_trade_no)
    assert journey.post("/payment/cancel").headers["Location"] == "/dues?cancelled=1"  # "nothing was charged"
    assert gateway.trades[out_trade_no].status == "TRADE_CLOSED"
    with demo.app_context():
        assert the_order().status == "cancelled"
