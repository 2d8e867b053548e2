"""Several apps on one screen: one order, one attempt (a provider trade and its QR code) per app.

The first attempt paid wins the order; the others are closed. A second payment that slips
through anyway (both codes scanned and paid) is recorded, owed back in full and refunded
automatically, and the bills are settled once. A new QR code after expiry is a new round of
attempts of the same order. Two sandboxes under different names stand for Alipay and WeChat
Pay here (the real adapters side by side run in the browser tests, against the simulator);
every test runs on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from kiosk.domain.clock import utcnow
from kiosk.extensions import db
from kiosk.models import PaymentAttempt, PaymentOrder, SandboxTrade
from kiosk.payments import payments
from kiosk.payments.sandbox import TRADE_CLOSED, TRADE_SUCCESS, SandboxProvider
from kiosk.services import checkout, refunds, sweeps
from kiosk.payments.base import Callback, ProviderError
from kiosk.services.notifications import Reply, handle_notification
from tests.services.conftest import (
    SETTINGS, Terminal, bills_of, close, poll, read_ledger, run_together, sweep, uow,
)
from tests.helpers import ZHAO_MIN, Journey

APPS = ("sandbox", "sandbox2")


@pytest.fixture
def two_apps(demo):
    """The terminal offers two apps side by side."""
    registry = payments(demo)
    first = registry.providers["sandbox"]
    second = SandboxProvider(first._engine_source, demo.config["SANDBOX_SIGNING_KEY"], first.notify_mode, name="sandbox2")
    registry.providers = {"sandbox": first, "sandbox2": second}
    return demo


def attempts(app, order_id: int) -> list[PaymentAttempt]:
    with app.app_context():
        order = db.session.get(PaymentOrder, order_id)
        found = list(order.attempts)
        for attempt in found:
            db.session.expunge(attempt)
        return found


def the_attempt(app, order_id: int, provider: str, round_no: int = 1) -> PaymentAttempt:
    return next(a for a in attempts(app, order_id) if a.provider == provider and a.round_no == round_no)


def pays(app, attempt: PaymentAttempt) -> dict[str, str]:
    """The buyer scans this attempt's QR code with its app and pays; returns that app's signed notification."""
    provider = payments(app).providers[attempt.provider]
    with app.app_context():
        token = attempt.qr_payload.rsplit("/", 1)[1]
        provider.scan(token)
        trade = provider.settle(token, pay=True)
        assert trade is not None and trade.status == TRADE_SUCCESS
        return provider.notification_for(trade)


def notify(app, attempt: PaymentAttempt, note: dict[str, str]) -> Reply:
    with app.app_context():
        return handle_notification(uow(), payments(app).providers[attempt.provider], Callback.of_form(note))


def trade_status(app, attempt: PaymentAttempt) -> str:
    with app.app_context():
        return db.session.scalar(select(SandboxTrade.status).where(SandboxTrade.out_trade_no == attempt.out_trade_no))


def test_one_order_shows_one_code_per_app(two_apps, terminal):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    made = attempts(two_apps, order_id)
    assert [a.provider for a in made] == list(APPS)
    assert all(a.status == "pending" and a.qr_svg and a.amount_fen == read_ledger(two_apps).totals[order_id] for a in made)
    assert len({a.out_trade_no for a in made}) == 2  # a trade each, at each app


def test_the_first_payment_wins_and_the_other_code_is_closed(two_apps, terminal):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    second = the_attempt(two_apps, order_id, "sandbox2")
    assert notify(two_apps, second, pays(two_apps, second)) is Reply.ACKNOWLEDGE
    assert poll(two_apps, order_id) == "paid"
    first = the_attempt(two_apps, order_id, "sandbox")
    assert first.status == "cancelled" and trade_status(two_apps, first) == TRADE_CLOSED  # cannot be paid any more
    ledger = read_ledger(two_apps)
    assert ledger.receipts == {order_id: 1} and all(ledger.settled_by[b] == [order_id] for b in bills_of(two_apps, order_id))
    with two_apps.app_context():
        order = db.session.get(PaymentOrder, order_id)
        assert order.paid_attempt.provider == "sandbox2" and checkout.paid_twice(order) == []


def test_a_second_payment_that_slips_through_is_given_back_and_the_citizen_told(two_apps, terminal):
    """Both codes scanned and paid before the kiosk learns of either: one payment settles the
    bills, the other is refunded in full, automatically, once."""
    order_id = terminal.identify(ZHAO_MIN).checkout()
    one, other = (the_attempt(two_apps, order_id, app) for app in APPS)
    notes = [pays(two_apps, one), pays(two_apps, other)]
    assert notify(two_apps, one, notes[0]) is Reply.ACKNOWLEDGE
    assert notify(two_apps, other, notes[1]) is Reply.ACKNOWLEDGE  # recorded, and owed back
    assert poll(two_apps, order_id) == "paid"
    other = the_attempt(two_apps, order_id, "sandbox2")
    assert (other.status, other.refund_due_fen) == ("paid", other.amount_fen)
    with two_apps.app_context():
        order = db.session.get(PaymentOrder, order_id)
        assert [a.provider for a in checkout.paid_twice(order)] == ["sandbox2"]  # the receipt screen says so
        for provider in payments(two_apps).providers.values():
            refunds.refund_what_is_due(uow(), provider)
            refunds.refund_what_is_due(uow(), provider)  # the next sweep asks nothing more
    other = the_attempt(two_apps, order_id, "sandbox2")
    assert (other.status, other.refund_due_fen) == ("refunded", 0)
    with two_apps.app_context():
        assert db.session.get(SandboxTrade, _trade_id(other)).refunded_fen == other.amount_fen  # the money went back
    ledger = read_ledger(two_apps)
    assert ledger.status(order_id) == "paid" and ledger.receipts == {order_id: 1}  # the first payment stands
    assert all(ledger.settled_by[b] == [order_id] for b in bills_of(two_apps, order_id))


def _trade_id(attempt: PaymentAttempt) -> int:
    return db.session.scalar(select(SandboxTrade.id).where(SandboxTrade.out_trade_no == attempt.out_trade_no))


def test_two_payments_recorded_at_the_same_instant_make_one_winner(two_apps, terminal):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    both = [the_attempt(two_apps, order_id, app) for app in APPS]
    notes = [pays(two_apps, attempt) for attempt in both]
    results, errors = run_together(2, lambda i: notify(two_apps, both[i], notes[i]))
    assert errors == [] and results == [Reply.ACKNOWLEDGE] * 2
    after = attempts(two_apps, order_id)
    with two_apps.app_context():
        winner = db.session.get(PaymentOrder, order_id).paid_attempt_id
    assert sorted(a.refund_due_fen for a in after) == [0, after[0].amount_fen]  # one owed back, in full
    assert next(a for a in after if a.refund_due_fen == 0).id == winner
    ledger = read_ledger(two_apps)
    assert ledger.receipts == {order_id: 1} and all(ledger.settled[b] == 1 for b in bills_of(two_apps, order_id))


def test_cancel_closes_every_code(two_apps, terminal):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    assert close(two_apps, order_id) == "cancelled"
    assert [a.status for a in attempts(two_apps, order_id)] == ["cancelled", "cancelled"]
    assert read_ledger(two_apps).live == {}  # the bills are free for another order


def test_a_new_code_after_expiry_is_a_new_round_of_the_same_order(two_apps, terminal):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    later = utcnow() + SETTINGS.ttl + dt.timedelta(seconds=1)
    assert poll(two_apps, order_id, later) == "expired"
    with two_apps.app_context():
        again = checkout.retry_order(uow(), terminal._visit().id, payments(two_apps).offered, SETTINGS, later)
        assert again.id == order_id and again.round_no == 2 and again.status == "pending"
    made = attempts(two_apps, order_id)
    assert [(a.round_no, a.provider, a.status) for a in made] == [
        (1, "sandbox", "expired"), (1, "sandbox2", "expired"), (2, "sandbox", "pending"), (2, "sandbox2", "pending")]
    assert len({a.out_trade_no for a in made}) == 4  # new trades at the apps
    assert sum(read_ledger(two_apps).live.values()) == len(bills_of(two_apps, order_id))  # held again


def unreachable(out_trade_no):
    raise ProviderError("timeout")


def test_a_late_payment_of_an_expired_code_whose_close_failed_wins_over_the_new_round(two_apps, terminal, monkeypatch):
    """The first round's cancel failed at one app (its trade stays open there) and the citizen
    pays that old code while the new round is on screen: the old payment wins, once, and the
    new round's codes are closed."""
    order_id = terminal.identify(ZHAO_MIN).checkout()
    old = the_attempt(two_apps, order_id, "sandbox2")
    pays(two_apps, old)  # scanned and paid just as the cancel fails
    provider = payments(two_apps).providers["sandbox2"]
    real_query, real_cancel = provider.query, provider.cancel
    monkeypatch.setattr(provider, "query", unreachable)
    monkeypatch.setattr(provider, "cancel", unreachable)
    later = utcnow() + SETTINGS.ttl + dt.timedelta(seconds=1)
    assert poll(two_apps, order_id, later) == "expired"
    assert the_attempt(two_apps, order_id, "sandbox2").trade_open
    with two_apps.app_context():
        checkout.retry_order(uow(), terminal._visit().id, payments(two_apps).offered, SETTINGS, later)
    monkeypatch.setattr(provider, "query", real_query)
    monkeypatch.setattr(provider, "cancel", real_cancel)
    sweep(two_apps, later)  # sandbox: the new round's code, pending
    with two_apps.app_context():
        sweeps.reconcile(uow(), provider, later)  # sandbox2: finds the old trade paid
    assert poll(two_apps, order_id, later) == "paid"
    made = {(a.round_no, a.provider): a for a in attempts(two_apps, order_id)}
    assert made[(1, "sandbox2")].status == "paid" and made[(1, "sandbox2")].refund_due_fen == 0
    assert made[(2, "sandbox")].status == "cancelled" and made[(2, "sandbox2")].status == "cancelled"
    ledger = read_ledger(two_apps)
    assert ledger.receipts == {order_id: 1} and all(ledger.settled_by[b] == [order_id] for b in bills_of(two_apps, order_id))


def test_the_receipt_screen_tells_the_citizen_who_paid_with_both_apps(two_apps):
    journey = Journey(two_apps.test_client())
    with two_apps.app_context():
        order_id = journey.pay(ZHAO_MIN).id
    page = journey.get("/payment")
    assert page.text.count('class="qr-card') == 2  # both codes, side by side
    notes = [(attempt, pays(two_apps, attempt)) for attempt in attempts(two_apps, order_id)]
    for attempt, note in notes:
        assert notify(two_apps, attempt, note) is Reply.ACKNOWLEDGE
    assert journey.get("/payment").headers["Location"] == "/receipt"
    receipt = journey.get("/receipt")
    assert 'id="paid-twice"' in receipt.text and "自动退回" in receipt.text  # in Chinese, the default
    assert receipt.text.count('id="receipt-number"') == 1  # one receipt, for the payment kept


def test_a_code_that_cannot_show_a_scan_is_taken_over_only_after_the_longer_grace(two_apps):
    """Bills held hostage, with an app that cannot say whether its code was scanned (as WeChat
    Pay's native trades, which exist unpaid from their creation): another terminal may take the
    bills over only after the longer grace, and then the held order's codes are closed at both
    apps, so neither can be paid any more."""
    blind = payments(two_apps).providers["sandbox2"]
    blind.shows_scans = False
    rules = dataclasses.replace(SETTINGS, take_over_grace=dt.timedelta(seconds=20),
                                take_over_grace_unseen=dt.timedelta(seconds=60), unseen_providers=frozenset({"sandbox2"}))
    a, b = Terminal(two_apps, "HALL-1").identify(ZHAO_MIN), Terminal(two_apps, "HALL-2").identify(ZHAO_MIN)
    bills = a.payable_bills()
    start = utcnow()

    def order(kiosk, now):
        key = kiosk.new_key()
        with two_apps.app_context():
            try:
                return checkout.create_order(uow(), kiosk._visit().id, bills, key, payments(two_apps).offered, rules, now).id
            except checkout.CheckoutError as error:
                return error.reason

    held = order(a, start)
    seen = the_attempt(two_apps, held, "sandbox2")
    with two_apps.app_context():
        blind.scan(seen.qr_payload.rsplit("/", 1)[1])  # looked at on a phone: that app cannot tell us
    assert order(b, start + dt.timedelta(seconds=30)) == "held_elsewhere"  # past the short grace, not the long one
    taken = order(b, start + dt.timedelta(seconds=61))
    assert isinstance(taken, int) and taken != held
    assert [a.status for a in attempts(two_apps, held)] == ["cancelled", "cancelled"]
    assert {trade_status(two_apps, attempt) for attempt in attempts(two_apps, held)} == {TRADE_CLOSED}
    assert read_ledger(two_apps).live == {bill: 1 for bill in bills}  # held by the new order only
