"""The gateway simulator the app serves under /simulator/: the real Alipay and WeChat Pay adapters
make trades against it over HTTP, a phone pays (or declines) on its wallet page, and its signed
notification comes back to the app's callback URL, as it would from the providers."""
from __future__ import annotations

import re
import time

import pytest
import requests

from kiosk.domain.money import yuan
from kiosk.extensions import db
from kiosk.models import CallbackRefusal, PaymentAttempt
from kiosk.payments import provider
from kiosk.payments.base import ProviderError, TradeState
from kiosk.web.simulator import simulator
from tests.helpers import ZHAO_MIN, Journey
from tests.live import serve

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def live(tmp_path, sqlite_template, simulator_keys):
    started = []

    def start(**overrides):
        server = serve(tmp_path / f"kiosk{len(started)}.sqlite", sqlite_template,
                       **{"SIMULATOR_KEYS_DIR": simulator_keys, "PAYMENT_PROVIDERS": ("alipay",), **overrides})
        started.append(server)
        simulator(server.app).notifier.schedule = (0, 0.2, 0.5)  # retries, quickly
        return server

    yield start
    for server in started:
        server.stop()


def order_of(app, out_trade_no=None) -> PaymentAttempt:
    """The latest payment attempt (one provider here: the order's trade)."""
    with app.app_context():
        query = db.select(PaymentAttempt).order_by(PaymentAttempt.id.desc())
        if out_trade_no:
            query = query.where(PaymentAttempt.out_trade_no == out_trade_no)
        order = db.session.scalars(query).first()
        db.session.expunge(order)
        return order


def to_qr(server) -> tuple[Journey, PaymentAttempt]:
    journey = Journey(server.app.test_client())
    with server.app.app_context():
        journey.pay(ZHAO_MIN)
    return journey, order_of(server.app)


class Phone:
    """A phone's browser: opens the QR's URL and taps a button (a form post with its CSRF token)."""

    def __init__(self, url: str):
        self.url, self.session = url, requests.Session()

    def open(self) -> requests.Response:
        return self.session.get(self.url, timeout=10)

    def tap(self, choice: str) -> requests.Response:
        token = CSRF.search(self.open().text).group(1)
        return self.session.post(f"{self.url}/{choice}", data={"csrf_token": token}, timeout=10)


def eventually(check, seconds: float = 10.0):
    """Until ``check()`` is true (a notification arrives in the background); the last value."""
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


@pytest.mark.parametrize("name, button", [("alipay", "确认付款"), ("wechat", "确认支付")])
def test_a_phone_pays_on_the_wallet_page_and_the_signed_notification_is_accepted(live, name, button):
    server = live(PAYMENT_PROVIDERS=(name,))
    _, order = to_qr(server)
    assert order.provider == name
    assert order.qr_payload.startswith(server(f"/simulator/{name}/pay/"))  # under PUBLIC_BASE_URL

    phone = Phone(order.qr_payload)
    page = phone.open()
    assert page.status_code == 200
    assert button in page.text and f"¥{yuan(order.amount_fen)}" in page.text
    assert "style=" not in page.text and "<script" not in page.text  # the CSP allows neither
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    paid = phone.tap("pay")
    assert 'id="wallet-result"' in paid.text and 'id="wallet-pay"' not in paid.text

    sim = simulator(server.app)
    assert sim.notifier.wait_idle()
    delivery = sim.notifier.deliveries[-1]
    assert (delivery.provider, delivery.out_trade_no, delivery.state, delivery.attempts) == (name, order.out_trade_no, "acknowledged", [200])
    assert order_of(server.app).status == "paid"
    with server.app.app_context():  # and the adapter, asking, sees the same
        assert provider().query(order.out_trade_no).state is TradeState.PAID


def test_a_declined_payment_closes_the_trade_and_the_kiosk_hears_of_it(live):
    server = live()
    _, order = to_qr(server)
    declined = Phone(order.qr_payload).tap("decline")
    assert "您拒绝了这笔付款" in declined.text
    assert simulator(server.app).notifier.wait_idle()
    assert eventually(lambda: order_of(server.app).status == "failed")


def test_an_expired_code_cannot_be_paid_on_the_phone(live):
    server = live(PAYMENT_PROVIDERS=("wechat",), ORDER_TTL_SECONDS=2)
    _, order = to_qr(server)
    phone = Phone(order.qr_payload)
    token = CSRF.search(phone.open().text).group(1)
    assert eventually(lambda: 'id="wallet-pay"' not in phone.open().text)  # WeChat's time_expire passed
    late = phone.session.post(order.qr_payload + "/pay", data={"csrf_token": token}, timeout=10)
    assert 'id="wallet-result"' in late.text and "已关闭" in late.text
    assert simulator(server.app).wechat.orders[order.out_trade_no].trade_state == "CLOSED"
    assert simulator(server.app).notifier.deliveries == []


def test_a_cancelled_order_closes_the_alipay_trade_and_its_page(live):
    server = live()
    journey, order = to_qr(server)
    phone = Phone(order.qr_payload)
    phone.open()  # scanned
    journey.post("/payment/cancel")
    assert 'id="wallet-pay"' not in phone.open().text
    assert simulator(server.app).alipay.trades[order.out_trade_no].status == "TRADE_CLOSED"


def test_a_post_without_the_csrf_token_pays_nothing(live):
    server = live()
    _, order = to_qr(server)
    phone = Phone(order.qr_payload)
    phone.open()
    assert phone.session.post(order.qr_payload + "/pay", timeout=10).status_code == 400
    assert simulator(server.app).alipay.trades[order.out_trade_no].status == "WAIT_BUYER_PAY"


def test_an_unknown_wallet_token_is_not_found(live):
    server = live()
    assert requests.get(server("/simulator/alipay/pay/nothing-here"), timeout=10).status_code == 404
    assert requests.get(server("/simulator/paypal/pay/x"), timeout=10).status_code == 404


# -- fault switches --------------------------------------------------------------------------

def test_a_lost_notification_is_made_up_for_by_the_kiosks_poll(live):
    server = live(PROVIDER_QUERY_INTERVAL_SECONDS=0)
    journey, order = to_qr(server)
    simulator(server.app).faults.set(notify={"lose"})
    Phone(order.qr_payload).tap("pay")
    assert simulator(server.app).notifier.deliveries[-1].state == "lost"
    assert order_of(server.app).status == "pending"
    journey.get("/payment/status", headers={"HX-Request": "true"})  # the QR screen's poll asks Alipay
    assert order_of(server.app).status == "paid"


@pytest.mark.parametrize("fault, reason", [("bad_signature", "bad_signature"), ("wrong_amount", None)])
def test_a_forged_or_wrong_notification_is_refused_every_time_it_is_sent(live, fault, reason):
    server = live()
    _, order = to_qr(server)
    simulator(server.app).faults.set(notify={fault})
    Phone(order.qr_payload).tap("pay")
    sim = simulator(server.app)
    assert sim.notifier.wait_idle()
    delivery = sim.notifier.deliveries[-1]
    assert delivery.state == "given_up" and delivery.attempts == [400, 400, 400]  # retried, never acknowledged
    assert order_of(server.app).status != "paid"
    if reason:
        with server.app.app_context():
            assert db.session.scalar(db.select(CallbackRefusal.count).where(CallbackRefusal.reason == reason)) == 3


def test_a_duplicated_notification_pays_once(live):
    server = live()
    _, order = to_qr(server)
    simulator(server.app).faults.set(notify={"duplicate"})
    Phone(order.qr_payload).tap("pay")
    assert simulator(server.app).notifier.wait_idle()
    assert simulator(server.app).notifier.deliveries[-1].attempts == [200, 200]
    assert order_of(server.app).status == "paid"


@pytest.mark.parametrize("name", ["alipay", "wechat"])
def test_a_slow_gateway_is_a_provider_timeout(live, name):
    server = live(PAYMENT_PROVIDERS=(name,), PROVIDER_TIMEOUT_SECONDS=1)
    simulator(server.app).faults.set(gateway="slow", slow_seconds=2)
    with server.app.app_context(), pytest.raises(ProviderError, match="time"):
        provider().query("K-nothing")


def test_the_developer_page_sets_the_switches_and_refuses_nonsense(live):
    server = live()
    browser = requests.Session()
    page = browser.get(server("/simulator/"), timeout=10)
    assert page.status_code == 200 and 'id="faults-form"' in page.text
    token = CSRF.search(page.text).group(1)
    saved = browser.post(server("/simulator/faults"), timeout=10,
                         data={"csrf_token": token, "gateway": "http500", "notify": ["delay", "duplicate"], "notify_delay_seconds": "1"})
    assert saved.status_code == 200
    faults = simulator(server.app).faults
    assert (faults.gateway, faults.notify, faults.notify_delay_seconds) == ("http500", {"delay", "duplicate"}, 1.0)
    for nonsense in ({"gateway": "explode"}, {"notify": "fire"}, {"slow_seconds": "nan"}, {"slow_seconds": "-1"}):
        refused = browser.post(server("/simulator/faults"), data={"csrf_token": token, **nonsense}, timeout=10)
        assert refused.status_code == 400 and 'id="faults-error"' in refused.text
    assert (faults.gateway, faults.notify) == ("http500", {"delay", "duplicate"})  # nothing changed
    assert browser.post(server("/simulator/faults"), data={"gateway": ""}, timeout=10).status_code == 400  # no CSRF token


def test_the_wallet_page_speaks_english_too(live):
    from kiosk.payments.simulator.alipay import Trade

    app = live().app
    client = app.test_client()
    sim = simulator(app)
    sim.alipay.trades["K1"] = trade = Trade("K1", 12345, "社保缴费", "", "2026T1")
    with client.session_transaction() as session:
        session["lang"] = "en"
    page = client.get(f"/simulator/alipay/pay/{trade.token}")
    assert page.status_code == 200 and "Confirm payment" in page.text and "¥123.45" in page.text
    assert 'lang="en"' in page.text


def test_the_simulator_runs_as_a_process_of_its_own_that_an_app_points_at(tmp_path, sqlite_template, simulator_keys):
    """What a benchmark with several app instances does: one simulator, named by SIMULATOR_URL."""
    import threading

    from werkzeug.serving import make_server

    from kiosk.web.simulator import create_simulator_app

    holder = {}
    own = make_server("127.0.0.1", 0, lambda environ, start_response: holder["app"](environ, start_response), threaded=True)
    own_url = f"http://127.0.0.1:{own.port}"
    holder["app"] = standalone = create_simulator_app({"ENV_NAME": "testing", "SIMULATOR_KEYS_DIR": simulator_keys,
                                                       "PUBLIC_BASE_URL": own_url})
    threading.Thread(target=own.serve_forever, daemon=True).start()
    server = serve(tmp_path / "kiosk.sqlite", sqlite_template, PAYMENT_PROVIDERS=("alipay",), SIMULATOR_KEYS_DIR=simulator_keys,
                   SIMULATOR_URL=own_url + "/simulator")
    try:
        _, order = to_qr(server)
        assert order.qr_payload.startswith(own_url + "/simulator/alipay/pay/")  # the simulator's page, not the app's
        assert order.out_trade_no in simulator(standalone).alipay.trades
        assert order.out_trade_no not in simulator(server.app).alipay.trades
        Phone(order.qr_payload).tap("pay")
        assert simulator(standalone).notifier.wait_idle()
        assert eventually(lambda: order_of(server.app).status == "paid")  # notified across the processes' boundary
    finally:
        server.stop()
        own.shutdown()
