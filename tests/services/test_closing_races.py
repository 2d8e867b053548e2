"""Payments that race the closing of their order, and the sweep that must find every payment.

Alipay may answer a cancel by refunding a payment that arrived a moment earlier; the
notification of that payment still comes afterwards, and must not settle anything.
"""
from __future__ import annotations

from sqlalchemy import update

from kiosk.domain.orders import OrderStatus
from kiosk.extensions import db
from kiosk.models import PaymentOrder, SandboxTrade
from kiosk.payments.base import ProviderError, TradeState
from tests.helpers import CHEN_JIANGUO, ZHAO_MIN
from tests.services.conftest import NOTIFY_URL, Terminal, close, poll, sweep, trade_of, bills_of, buyer_pays, buyer_scans, provider_of, read_ledger
from tests.services.test_exactly_once import assert_paid_once

CANCELLED, PAID, PENDING = OrderStatus.CANCELLED.value, OrderStatus.PAID.value, OrderStatus.PENDING.value
REFUNDED = "refunded"


def _cancel_while_the_buyer_pays(demo, terminal, monkeypatch, *, delivered: bool) -> tuple[int, str, dict[str, str], list]:
    """The citizen cancels; just after we ask the provider, before our cancel, the buyer pays.
    ``delivered``: its notification also arrives before the cancel. Returns the order id, its
    status after the cancel, the notification (for retries) and the answers it got meanwhile."""
    order_id = terminal.identify(ZHAO_MIN).checkout()
    buyer_scans(demo, order_id)
    provider = provider_of(demo)
    real_query, notes, answers = provider.query, [], []

    def buyer_pays_just_after_we_ask(out_trade_no):
        status = real_query(out_trade_no)
        if not notes:
            notes.append(buyer_pays(demo, order_id))
            if delivered:
                response = demo.test_client().post(NOTIFY_URL, data=notes[0])
                answers.append((response.status_code, response.text))
        return status

    monkeypatch.setattr(provider, "query", buyer_pays_just_after_we_ask)
    status = close(demo, order_id)
    monkeypatch.undo()
    trade = trade_of(demo, order_id)
    assert (trade.status, trade.refunded_fen) == ("TRADE_CLOSED", trade.amount_fen)  # the money went back
    return order_id, status, notes[0], answers


def _bills_are_paid_once_with_a_new_qr(demo, terminal, order_id) -> None:
    new = terminal.checkout(bills_of(demo, order_id))
    assert demo.test_client().post(NOTIFY_URL, data=buyer_pays(demo, new)).text == "success"
    assert_paid_once(demo, new)


def _refunded_and_nothing_settled(demo, order_id) -> None:
    ledger = read_ledger(demo)
    assert ledger.status(order_id) == REFUNDED and ledger.refund_due(order_id) == 0  # nothing more to give back
    assert not ledger.settled and not ledger.live and not ledger.receipts and not ledger.voided
    assert ledger.kinds(order_id, "paid") == []
    assert ledger.kinds(order_id, "refunded_at_provider") == ["refunded_at_provider"]  # one true entry


def test_a_payment_refunded_by_the_cancel_is_never_settled_when_its_notification_comes(demo, terminal, monkeypatch):
    order_id, status, note, _ = _cancel_while_the_buyer_pays(demo, terminal, monkeypatch, delivered=False)
    assert status == REFUNDED  # the kiosk tells the citizen the money went back
    # the payment's notification (sent when the buyer paid) arrives, and is retried
    for _ in range(2):
        response = demo.test_client().post(NOTIFY_URL, data=note)
        assert (response.status_code, response.text) == (200, "success")  # acknowledged: nothing to retry
    _refunded_and_nothing_settled(demo, order_id)
    # the bills are still due and free: the citizen pays them with a new QR
    _bills_are_paid_once_with_a_new_qr(demo, terminal, order_id)


def test_a_notification_that_arrives_while_the_order_is_closing_is_put_off_and_settles_nothing(demo, terminal, monkeypatch):
    """The worst moment: the buyer pays and the notification arrives between our query and our
    cancel, which then refunds the money. Recording it would leave bills paid with no money:
    it is answered "try later", and the retry finds the order refunded."""
    order_id, status, note, answers = _cancel_while_the_buyer_pays(demo, terminal, monkeypatch, delivered=True)
    assert answers == [(503, "failure")]
    assert status == REFUNDED
    assert demo.test_client().post(NOTIFY_URL, data=note).text == "success"
    _refunded_and_nothing_settled(demo, order_id)
    _bills_are_paid_once_with_a_new_qr(demo, terminal, order_id)


def test_the_sweep_records_every_payment_even_when_one_order_fails(demo, runner):
    troubled = Terminal(demo, "HALL-1").identify(ZHAO_MIN).checkout()
    fine = Terminal(demo, "HALL-2").identify(CHEN_JIANGUO).checkout()
    buyer_pays(demo, troubled)
    buyer_pays(demo, fine)
    with demo.app_context():  # the provider reports another amount for the first one
        db.session.execute(update(SandboxTrade).where(SandboxTrade.out_trade_no == db.session.get(PaymentOrder, troubled).attempt.out_trade_no)
                           .values(amount_fen=SandboxTrade.amount_fen + 1))
        db.session.commit()
    result = runner.invoke(args=["reconcile"])
    assert result.exception is None and "2 unfinished payment attempts" in result.output
    ledger = read_ledger(demo)
    assert ledger.status(troubled) == PENDING and ledger.kinds(troubled, "amount_mismatch") == ["amount_mismatch"]
    assert ledger.status(fine) == PAID and ledger.receipts == {fine: 1}


def test_a_payment_on_a_trade_the_provider_failed_to_close_is_found_by_the_sweep(demo, terminal, monkeypatch):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    buyer_scans(demo, order_id)
    provider = provider_of(demo)

    def cancel_fails(out_trade_no):
        raise ProviderError("timeout")

    monkeypatch.setattr(provider, "cancel", cancel_fails)
    close(demo, order_id)
    monkeypatch.undo()
    buyer_pays(demo, order_id)  # the QR still works at the provider; the notification is lost
    with demo.app_context():
        assert provider.query(trade_of(demo, order_id).out_trade_no).state is TradeState.PAID
    sweep(demo)
    assert read_ledger(demo).status(order_id) == PAID


def test_the_new_qr_is_withdrawn_once_a_late_payment_of_the_old_one_pays_its_bills(demo, terminal):
    """The citizen must not be able to pay the same bills again on the replacement QR."""
    from tests.services.test_exactly_once import late_payment_with_replacement

    old, new = late_payment_with_replacement(demo, terminal)
    poll(demo, new)  # the kiosk's next poll
    assert read_ledger(demo).status(new) == CANCELLED
    assert trade_of(demo, new).status == "TRADE_CLOSED"  # the phone can no longer pay it
    assert_paid_once(demo, old)


def test_a_poll_that_sees_a_wrong_amount_keeps_the_order_for_an_operator(demo, terminal, monkeypatch):
    from kiosk.payments.base import TradeStatus

    order_id = terminal.identify(ZHAO_MIN).checkout()
    provider = provider_of(demo)
    monkeypatch.setattr(provider, "query", lambda out_trade_no: TradeStatus(TradeState.PAID, "T1", 1))
    assert poll(demo, order_id) == PENDING
    assert read_ledger(demo).kinds(order_id, "amount_mismatch") == ["amount_mismatch"]


def test_the_sweep_asks_only_about_trades_the_provider_may_still_take_money_for(demo, monkeypatch):
    """Closed orders whose cancel the provider confirmed are never asked about again; one whose
    cancel failed is asked about (and closed) once, then left alone."""
    from tests.services.conftest import Terminal

    provider = provider_of(demo)
    closed_fine = Terminal(demo).identify(ZHAO_MIN).checkout()
    close(demo, closed_fine)
    cancel_failed = Terminal(demo).identify(CHEN_JIANGUO).checkout()
    monkeypatch.setattr(provider, "cancel", lambda out_trade_no: (_ for _ in ()).throw(ProviderError("timeout")))
    close(demo, cancel_failed)
    monkeypatch.undo()
    asked = []
    real_query = provider.query
    monkeypatch.setattr(provider, "query", lambda out_trade_no: asked.append(out_trade_no) or real_query(out_trade_no))
    assert sweep(demo) == 1
    with demo.app_context():
        assert asked == [db.session.get(PaymentOrder, cancel_failed).attempt.out_trade_no]
    assert trade_of(demo, cancel_failed).status == "TRADE_CLOSED"  # the sweep closed what the first cancel could not
    assert sweep(demo) == 0


def _a_closer_claims_and_dies(app, order_id) -> None:
    """A kiosk's cancel claimed the order (CLOSING) and its process died before asking the provider."""
    import datetime as dt

    from kiosk.domain.clock import utcnow
    from kiosk.domain.orders import Source
    from kiosk.services.settlement import move
    from tests.services.conftest import uow

    with app.app_context():
        work = uow()
        with work:
            assert move(work.session, order_id, OrderStatus.CLOSING, Source.CANCEL, closing_at=utcnow() - dt.timedelta(seconds=1),
                        close_target=OrderStatus.CANCELLED.value)
            work.commit()


def test_a_payment_made_while_its_closer_died_is_recorded_by_the_sweep_once_the_lease_is_over(demo, terminal):
    import datetime as dt

    from kiosk.domain.clock import utcnow
    from kiosk.services.checkout import CLOSE_LEASE

    order_id = terminal.identify(ZHAO_MIN).checkout()
    _a_closer_claims_and_dies(demo, order_id)
    note = buyer_pays(demo, order_id)
    # the provider's notification meets an order being closed: try later
    response = demo.test_client().post(NOTIFY_URL, data=note)
    assert (response.status_code, response.text) == (503, "failure")
    assert sweep(demo) == 0  # the closer may still be at work: the sweep leaves it alone
    assert read_ledger(demo).status(order_id) == "closing"
    assert sweep(demo, now=utcnow() + CLOSE_LEASE + dt.timedelta(seconds=1)) == 1
    assert_paid_once(demo, order_id)  # the money the provider kept is recorded, never refunded
    assert trade_of(demo, order_id).refunded_fen == 0
    assert demo.test_client().post(NOTIFY_URL, data=note).text == "success"


def test_an_unpaid_order_whose_closer_died_is_closed_by_the_sweep(demo, terminal):
    import datetime as dt

    from kiosk.domain.clock import utcnow
    from kiosk.services.checkout import CLOSE_LEASE

    order_id = terminal.identify(ZHAO_MIN).checkout()
    buyer_scans(demo, order_id)
    _a_closer_claims_and_dies(demo, order_id)
    assert sweep(demo, now=utcnow() + CLOSE_LEASE + dt.timedelta(seconds=1)) == 1
    ledger = read_ledger(demo)
    assert ledger.status(order_id) == CANCELLED and not ledger.live and not ledger.settled
    assert trade_of(demo, order_id).status == "TRADE_CLOSED"  # the phone can no longer pay it


def test_a_signed_paid_notification_for_an_order_closed_unpaid_writes_no_false_audit_entry(demo, terminal):
    """No money moved: the cancel closed the trade unpaid. A validly signed "paid" notification
    (a leaked key, a provider's mistake) is refused after the provider says the trade is closed,
    and the audit trail does not claim a payment was made and refunded."""
    from tests.services.conftest import refusals, resign

    order_id = terminal.identify(ZHAO_MIN).checkout()
    buyer_scans(demo, order_id)
    assert close(demo, order_id) == CANCELLED
    assert trade_of(demo, order_id).refunded_fen == 0  # nothing was paid, nothing given back
    with demo.app_context():
        trade = trade_of(demo, order_id)
        forged = resign(demo, provider_of(demo).notification_for(trade), trade_status="TRADE_SUCCESS")
    response = demo.test_client().post(NOTIFY_URL, data=forged)
    assert (response.status_code, response.text) == (400, "failure")
    ledger = read_ledger(demo)
    assert ledger.status(order_id) == CANCELLED and not ledger.settled and not ledger.receipts
    assert ledger.kinds(order_id) == ["created", "cancelled"]  # no "paid", no "refunded_at_provider"
    assert refusals(demo) == {"not_confirmed_by_provider": 1}


def test_on_sqlite_the_sandbox_never_loses_a_payment_to_a_racing_cancel(demo, terminal, backend):
    """SQLAlchemy drops FOR UPDATE on SQLite: the cancel read the trade unpaid, the buyer's payment
    committed, then the cancel wrote the trade closed over it (1 round in 15). Writing transactions
    now begin with BEGIN IMMEDIATE, so the cancel's read holds the write lock."""
    import threading

    from sqlalchemy import event

    order_id = terminal.identify(ZHAO_MIN).checkout()
    buyer_scans(demo, order_id)
    provider = provider_of(demo)
    with demo.app_context():
        engine, out_trade_no = db.engine, db.session.get(PaymentOrder, order_id).attempt.out_trade_no
    read, go_on = threading.Event(), threading.Event()

    def pause_the_cancel_after_it_read(conn, cursor, statement, parameters, context, executemany):
        if threading.current_thread().name == "cancel" and statement.lstrip().upper().startswith("UPDATE SANDBOX_TRADE"):
            read.set()
            go_on.wait(5)

    event.listen(engine, "before_cursor_execute", pause_the_cancel_after_it_read)
    outcome, bought = [], []
    def cancel_the_trade():
        with demo.app_context():
            outcome.append(provider.cancel(out_trade_no))

    cancel = threading.Thread(target=cancel_the_trade, name="cancel")
    try:
        cancel.start()
        read.wait(5)
        buyer = threading.Thread(target=lambda: bought.append(buyer_pays_if_possible(demo, order_id)))
        buyer.start()
        buyer.join(1)  # with the lock held by the cancel, the buyer waits (SQLite) or blocks on the row (PostgreSQL)
        go_on.set()
        cancel.join(15)
        buyer.join(15)
    finally:
        go_on.set()
        event.remove(engine, "before_cursor_execute", pause_the_cancel_after_it_read)
    trade = trade_of(demo, order_id)
    if bought[0]:  # the wallet told the buyer "paid": the money is either kept or given back, never lost
        assert trade.status == "TRADE_SUCCESS" or trade.refunded_fen == trade.amount_fen
    assert trade.status == "TRADE_CLOSED" and outcome[0].refunded == bool(trade.refunded_fen)


def buyer_pays_if_possible(app, order_id) -> bool:
    """The buyer taps Pay in the wallet; True if the wallet says paid."""
    from tests.services.conftest import wallet_token

    with app.app_context():
        return provider_of(app).settle(wallet_token(app, order_id), pay=True) is not None


def test_no_transaction_of_ours_is_open_while_the_provider_answers(demo, terminal, monkeypatch):
    """Found by review: reads made before a provider call left their transaction open across the
    network (on PostgreSQL a connection idle in transaction; on SQLite a pinned snapshot)."""
    from tests.services.conftest import provider_says_paid

    provider = provider_of(demo)
    open_during = []

    def watched(name, real):
        def call(*args, **kwargs):
            if db.session().in_transaction():
                open_during.append(name)
            return real(*args, **kwargs)
        return call

    for name in ("precreate", "query", "cancel"):
        monkeypatch.setattr(provider, name, watched(name, getattr(provider, name)))
    order_id = terminal.identify(ZHAO_MIN).checkout()  # precreate
    poll(demo, order_id)  # the poll asks the provider
    sweep(demo)  # the sweep asks too
    close(demo, order_id)  # the close asks, then cancels
    note = provider_says_paid(demo, order_id)
    demo.test_client().post(NOTIFY_URL, data=note)  # a late payment is confirmed with the provider
    assert open_during == []


def test_a_payment_of_another_amount_found_while_closing_is_given_back_not_left_closing(demo, terminal, monkeypatch):
    """Found by review: the close found the trade paid with another amount and stopped, leaving
    the order closing for ever and its bills held, so the person could pay them nowhere."""
    from kiosk.payments.base import TradeStatus

    order_id = terminal.identify(ZHAO_MIN).checkout()
    buyer_pays(demo, order_id)
    provider = provider_of(demo)
    real_query = provider.query

    def another_amount(out_trade_no):
        status = real_query(out_trade_no)
        return TradeStatus(status.state, status.trade_no, status.amount_fen + 1)

    monkeypatch.setattr(provider, "query", another_amount)
    assert close(demo, order_id) == REFUNDED
    monkeypatch.undo()
    ledger = read_ledger(demo)
    assert ledger.kinds(order_id, "amount_mismatch") == ["amount_mismatch"]  # for an operator, once
    assert not ledger.settled and not ledger.live and not ledger.receipts
    trade = trade_of(demo, order_id)
    assert trade.refunded_fen == trade.amount_fen  # the money went back
    assert sweep(demo) == 0  # nothing left for the sweep
    _bills_are_paid_once_with_a_new_qr(demo, terminal, order_id)
