"""The year-end surge benchmark's own parts work against the app: its synthetic people are
found by the kiosk, its journey gets a citizen from the attract screen to a receipt through the
requests a browser makes, and its audit finds no double payment after it (nor misses one).
No timing here: the figures are bench/surge.py's."""
import datetime as dt
import time

import pytest
import requests
from sqlalchemy import func, select

from bench.surge_audit import double_payments, order_counts
from bench.surge_journey import Answer, JourneyFailed, journey, pay_in_sandbox, pay_in_simulator, referer_on
from bench.surge_people import id_number, seed_people
from kiosk.domain.idnumber import parse_resident_id
from kiosk.extensions import db
from kiosk.models import Person
from kiosk.services.uow import UnitOfWork
from kiosk.web.simulator import simulator
from tests.live import serve


class ClientBrowser:
    """The journey's Browser over Flask's test client (its own cookies, redirects not followed)."""

    def __init__(self, client):
        self.client = client
        self.names = []

    def request(self, name, method, url, body=None, headers=None):
        self.names.append(name)
        response = self.client.open(url, method=method, data=body, headers=referer_on("http://localhost", headers))
        return Answer(response.status_code, dict(response.headers), response.get_data(as_text=True))


class HttpBrowser:
    """The journey's Browser over HTTP (a phone reaching the simulator the live app serves)."""

    def __init__(self, origin):
        self.origin, self.session, self.names = origin, requests.Session(), []

    def request(self, name, method, url, body=None, headers=None):
        self.names.append(name)
        response = self.session.request(method, url if "://" in url else self.origin + url, data=body,
                                        headers=referer_on(self.origin, headers), allow_redirects=False, timeout=10)
        return Answer(response.status_code, dict(response.headers), response.text)


@pytest.fixture
def surge(app):
    app.config["PROVIDER_QUERY_INTERVAL_SECONDS"] = 0  # notifications are off in tests: the poll asks the sandbox
    with app.app_context():
        assert seed_people(UnitOfWork(db.session), app.config["ID_DIGEST_KEY"], app.config["TERMINAL_CODE"], 3) == 3
    return app


def test_synthetic_id_numbers_are_valid_and_distinct():
    numbers = [id_number(index) for index in range(2000)]
    assert len(set(numbers)) == 2000
    assert all(parse_resident_id(number, dt.date(2026, 1, 1)).number == number for number in numbers)


def test_seeding_twice_adds_nobody(surge):
    with surge.app_context():
        before = db.session.scalar(select(func.count()).select_from(Person))
        assert seed_people(UnitOfWork(db.session), surge.config["ID_DIGEST_KEY"], surge.config["TERMINAL_CODE"], 3) == 0
        assert db.session.scalar(select(func.count()).select_from(Person)) == before


def test_the_bench_journey_reaches_the_receipt_and_pays_once(surge):
    kiosk, phone = ClientBrowser(surge.test_client()), ClientBrowser(surge.test_client())
    polls = journey(kiosk, phone, id_number(1), sleep=lambda seconds: None, pay_after_polls=2)
    assert polls == 3  # two polls waiting, the phone pays, the next poll sends the kiosk on
    assert "pay: POST /sandbox/wallet/<token>/pay" in phone.names
    assert all(id_number(1) not in name for name in kiosk.names + phone.names)
    with surge.app_context(), db.engine.connect() as connection:
        assert order_counts(connection) == {"paid": 2}  # the demo's counter payment and this one
        assert set(double_payments(connection).values()) == {0}


def test_a_second_journey_for_the_same_person_finds_nothing_to_pay(surge):
    journey(ClientBrowser(surge.test_client()), ClientBrowser(surge.test_client()), id_number(2), sleep=lambda s: None)
    with pytest.raises(JourneyFailed, match="dues: nothing to pay"):
        journey(ClientBrowser(surge.test_client()), ClientBrowser(surge.test_client()), id_number(2), sleep=lambda s: None)


def test_the_audit_finds_a_paid_trade_with_no_recorded_payment(surge):
    """The sandbox took the money but the kiosk's record of the payment is gone: the audit says so."""
    kiosk, phone = ClientBrowser(surge.test_client()), ClientBrowser(surge.test_client())
    journey(kiosk, phone, id_number(0), sleep=lambda seconds: None)
    with surge.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM payment_event WHERE kind = 'paid' AND source != 'staff'")
        found = double_payments(connection)
    assert found["sandbox trades paid, no payment recorded"] == 1


def test_the_pay_step_refuses_a_closed_wallet(surge):
    with pytest.raises(JourneyFailed, match="pay: answer 404"):
        pay_in_sandbox(ClientBrowser(surge.test_client()), "http://localhost/sandbox/wallet/no-such-token")


@pytest.fixture
def simulated(tmp_path, sqlite_template, simulator_keys):
    """The app on a live server offering Alipay and WeChat Pay through their adapters, against the
    gateway simulator it serves itself (the bench runs it as a process of its own)."""
    server = serve(tmp_path / "kiosk.sqlite", sqlite_template, SIMULATOR_KEYS_DIR=simulator_keys,
                   PAYMENT_PROVIDERS=("alipay", "wechat"))
    simulator(server.app).notifier.schedule = (0, 0.2, 0.5)  # retries, quickly
    with server.app.app_context():
        seed_people(UnitOfWork(db.session), server.app.config["ID_DIGEST_KEY"], server.app.config["TERMINAL_CODE"], 2)
    yield server
    server.stop()


def test_the_journey_pays_through_the_simulator_once_and_the_audit_agrees(simulated):
    """Two QR codes (Alipay, WeChat Pay); the phone pays the first on the simulator's wallet page;
    its signed notification reaches the kiosk, which shows the receipt and closes the other code."""
    kiosk, phone = ClientBrowser(simulated.app.test_client()), HttpBrowser(simulated.url)
    polls = journey(kiosk, phone, id_number(0), sleep=lambda seconds: time.sleep(min(seconds, 0.1)), pay_after_polls=2,
                    pay=pay_in_simulator)
    assert polls >= 3
    assert phone.names == ["pay: GET /simulator/alipay/pay/<token>", "pay: POST /simulator/alipay/pay/<token>/pay"]
    with simulated.app.app_context(), db.engine.connect() as connection:
        counts = order_counts(connection)
        assert counts["paid"] == 2 and counts["cancelled"] == 1  # the demo's counter payment; the WeChat code closed
        found = double_payments(connection, phones_paid=1)
        assert set(found.values()) == {0} and "simulator payments not recorded" in found
        # a payment the simulator took that the kiosk never recorded is counted
        assert double_payments(connection, phones_paid=2)["simulator payments not recorded"] == 1


def test_the_simulator_pay_step_refuses_what_is_not_its_wallet(simulated):
    with pytest.raises(JourneyFailed, match="not a simulator wallet"):
        pay_in_simulator(HttpBrowser(simulated.url), simulated.url + "/sandbox/wallet/abc")
    with pytest.raises(JourneyFailed, match="pay: answer 404"):
        pay_in_simulator(HttpBrowser(simulated.url), simulated.url + "/simulator/alipay/pay/no-such-token")
