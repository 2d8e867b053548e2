"""The QR screen's status poll: one read and nothing to swap while nothing changes; the change,
the provider's answer and the visit's idle clock still reach the kiosk."""
import contextlib
import datetime as dt

import pytest
from sqlalchemy import event, select, update

from kiosk.domain.clock import utcnow
from kiosk.extensions import db
from kiosk.models import PaymentAttempt, PaymentOrder, Visit
from tests.checkout_helpers import notify
from tests.helpers import ZHAO_MIN, Journey, wallet_token

HTMX = {"HX-Request": "true"}


@pytest.fixture
def app_config():
    # the provider is asked only when a test makes it due: the timing of a slow run cannot change the answers
    return {"PROVIDER_QUERY_INTERVAL_SECONDS": 60}


@contextlib.contextmanager
def statements(app):
    """The SQL statements the app sends while the block runs (transaction control left out)."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        verb = statement.split(None, 1)[0].upper()
        if verb not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            sent.append(verb)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def on_qr_screen(demo, client):
    """A citizen on the QR screen of a pending order, the provider asked a moment ago."""
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
    page = journey.get("/payment")
    assert 'id="countdown"' in page.text
    return journey, order


def shift(demo, model, row_id, **ago):
    """Move the row's timestamps into the past, as if that much time had gone by."""
    with demo.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(
            {name: utcnow() - dt.timedelta(seconds=seconds) for name, seconds in ago.items()}))
        db.session.commit()


def test_a_poll_while_nothing_changed_reads_once_writes_nothing_and_swaps_nothing(demo, client):
    journey, order = on_qr_screen(demo, client)
    with statements(demo) as sent:
        poll = journey.get("/payment/status", headers=HTMX)
    assert poll.status_code == 204 and poll.text == ""  # htmx swaps nothing and keeps polling
    assert sent == ["SELECT"]
    assert poll.headers["Cache-Control"] == "no-store" and "HX-Request" in poll.headers["Vary"]
    assert "HX-Redirect" not in poll.headers and "Set-Cookie" not in poll.headers
    with demo.app_context():
        assert db.session.get(PaymentOrder, order.id).status == "pending"


def test_a_payment_the_kiosk_is_told_of_sends_the_screen_on_at_the_next_poll(demo, client):
    journey, order = on_qr_screen(demo, client)
    assert journey.get("/payment/status", headers=HTMX).status_code == 204
    assert notify(demo, order).text == "success"
    done = journey.get("/payment/status", headers=HTMX)
    assert done.status_code == 200 and done.headers["HX-Redirect"] == "/payment"
    assert "hx-trigger" not in done.text  # swapping this in stops the polling
    assert journey.get("/payment").headers["Location"].endswith("/receipt")


def test_a_payment_whose_notification_never_comes_is_found_when_the_provider_is_due(demo, client):
    journey, order = on_qr_screen(demo, client)
    phone = Journey(demo.test_client())
    phone.get(f"/sandbox/wallet/{wallet_token(order)}")
    phone.post(f"/sandbox/wallet/{wallet_token(order)}/pay")  # the sandbox sends no notification in tests
    assert journey.get("/payment/status", headers=HTMX).status_code == 204  # not asked yet: nothing known
    shift(demo, PaymentOrder, order.id, last_queried_at=61)
    found = journey.get("/payment/status", headers=HTMX)
    assert found.headers["HX-Redirect"] == "/payment"
    with demo.app_context():
        assert db.session.get(PaymentOrder, order.id).status == "paid"


def test_a_poll_that_asks_the_provider_shows_the_time_left_again(demo, client):
    journey, order = on_qr_screen(demo, client)
    shift(demo, PaymentOrder, order.id, last_queried_at=61)
    poll = journey.get("/payment/status", headers=HTMX)
    assert poll.status_code == 200 and 'id="countdown"' in poll.text and 'hx-trigger="every 1s"' in poll.text
    assert journey.get("/payment/status", headers=HTMX).status_code == 204  # asked: quiet again


def test_an_expired_qr_is_noticed_by_the_poll(demo, client):
    journey, order = on_qr_screen(demo, client)
    shift(demo, PaymentOrder, order.id, expires_at=1)
    poll = journey.get("/payment/status", headers=HTMX)
    assert poll.headers["HX-Redirect"] == "/payment"
    assert 'id="expired"' in journey.get("/payment").text


def test_the_polls_of_a_waiting_qr_screen_keep_its_visit_alive(demo, client):
    """The QR screen has no idle timer: without its polls the server would forget the citizen."""
    journey, order = on_qr_screen(demo, client)
    with demo.app_context():
        visit_id = db.session.scalar(select(Visit.id).where(Visit.order_id == order.id))
    shift(demo, Visit, visit_id, last_seen_at=60)
    with statements(demo) as sent:
        assert journey.get("/payment/status", headers=HTMX).status_code == 204
    assert sent == ["SELECT", "UPDATE"]
    with demo.app_context():
        assert utcnow() - db.session.get(Visit, visit_id).last_seen_at < dt.timedelta(seconds=5)


def test_a_visit_the_server_has_forgotten_sends_the_poll_to_the_start(demo, client):
    journey, order = on_qr_screen(demo, client)
    with demo.app_context():
        visit_id = db.session.scalar(select(Visit.id).where(Visit.order_id == order.id))
    shift(demo, Visit, visit_id, last_seen_at=3600)
    poll = journey.get("/payment/status", headers=HTMX)
    assert poll.headers["HX-Redirect"] == "/?ended=1"
    with demo.app_context():
        assert db.session.get(Visit, visit_id) is None


def test_while_another_closer_is_at_work_the_poll_waits_for_its_outcome(demo, client):
    journey, order = on_qr_screen(demo, client)
    with demo.app_context():
        db.session.execute(update(PaymentAttempt).where(PaymentAttempt.order_id == order.id).values(
            status="closing", closing_at=utcnow(), close_target="expired"))
        db.session.commit()
    assert journey.get("/payment/status", headers=HTMX).status_code == 204
    with demo.app_context():
        db.session.execute(update(PaymentAttempt).where(PaymentAttempt.order_id == order.id).values(status="expired", closing_at=None))
        db.session.commit()
    assert journey.get("/payment/status", headers=HTMX).headers["HX-Redirect"] == "/payment"
