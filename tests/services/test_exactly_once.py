"""Payments are recorded exactly once and never lost, on SQLite and on PostgreSQL.

Every test asserts on what an operator would check after an incident: the order's status,
its refund due, the receipts, which order settled each bill, and the payment events.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

import kiosk.services.settlement as settlement
from kiosk.domain.orders import Source
from kiosk.domain.orders import OrderStatus
from kiosk.extensions import db
from kiosk.models import PaymentOrder, PaymentOrderItem, SandboxTrade
from kiosk.payments.sandbox import sign
from kiosk.services.checkout import CheckoutError
from tests.helpers import ZHAO_MIN, Journey
from tests.services.conftest import (
    attempt_id,
    close,
    poll,
    sweep,
    uow,
    refusal_rows,
    refusals,
    NOTIFY_URL, Terminal, bills_of, buyer_pays, buyer_scans, provider_of, provider_says_paid, read_ledger, resign,
    run_together, subprocess_config,
)

PAID, PENDING = OrderStatus.PAID.value, OrderStatus.PENDING.value
ROOT = Path(__file__).resolve().parents[2]


def post_notification(app, params, client=None):
    return (client or app.test_client()).post(NOTIFY_URL, data=params)


def assert_paid_once(app, order_id: int) -> None:
    """The order is PAID with nothing to refund, has one receipt, and settled each of its bills exactly once."""
    ledger = read_ledger(app)
    bills = bills_of(app, order_id)
    assert ledger.status(order_id) == PAID
    assert ledger.refund_due(order_id) == 0
    assert ledger.receipts == {order_id: 1}
    assert bills and all(ledger.settled_by.get(bill) == [order_id] for bill in bills)
    assert ledger.kinds(order_id, "paid") == ["paid"]


def assert_untouched(app, order_id: int) -> None:
    """Nothing was recorded for the order: still pending, no receipt, no settled bill."""
    ledger = read_ledger(app)
    assert ledger.status(order_id) == PENDING
    assert ledger.refund_due(order_id) == 0
    assert not ledger.receipts
    assert not ledger.settled
    assert ledger.kinds(order_id, "paid") == []
    assert all(ledger.live[bill] == 1 for bill in bills_of(app, order_id))


# -- 1. the provider retries its notification ----------------------------------------------------

def test_a_retried_notification_is_acknowledged_every_time_and_recorded_once(demo, terminal):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    assert len(bills_of(demo, order_id)) == 3  # two overdue months and this month
    note = buyer_pays(demo, order_id, notify_id="N-retried")
    client = demo.test_client()
    for attempt in range(5):
        response = post_notification(demo, note, client)
        assert (response.status_code, response.text) == (200, "success"), attempt
        assert_paid_once(demo, order_id)
    # the kiosk's poller and the operator's sweep look too: nothing more happens
    poll(demo, order_id)
    sweep(demo)
    # Alipay later sends TRADE_FINISHED for the same trade, with a notify_id of its own
    finished = resign(demo, note, trade_status="TRADE_FINISHED", notify_id="N-finished")
    assert post_notification(demo, finished, client).text == "success"
    assert_paid_once(demo, order_id)
    assert read_ledger(demo).kinds(None) == []  # nothing refused or unknown on the way


# -- 2. forged and tampered notifications ----------------------------------------------------------

FORGERIES = {
    "wrong key": lambda app, note: dict(note, sign=sign(note, "not-the-merchant-key")),
    "no signature": lambda app, note: {k: v for k, v in note.items() if k != "sign"},
    "empty signature": lambda app, note: dict(note, sign=""),
    "amount changed after signing": lambda app, note: dict(note, total_amount="0.01"),
    "order changed after signing": lambda app, note: dict(note, out_trade_no=note["out_trade_no"] + "0"),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_badly_signed_notification_is_refused_and_changes_nothing(demo, terminal, forgery):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    buyer_scans(demo, order_id)  # the buyer has not paid: only the forger says so
    with demo.app_context():
        order = db.session.get(PaymentOrder, order_id)
        trade = db.session.scalar(select(SandboxTrade).where(SandboxTrade.out_trade_no == order.attempt.out_trade_no))
        # what a genuine notification would look like if the buyer had paid
        trade.status = "TRADE_SUCCESS"
        genuine_shape = provider_of(demo).notification_for(trade)
        db.session.rollback()
    forged = FORGERIES[forgery](demo, genuine_shape)
    response = post_notification(demo, forged)
    assert response.status_code == 400 and response.text != "success"
    assert_untouched(demo, order_id)
    assert read_ledger(demo).kinds(None) == []  # refusals are counted, not written one row each
    assert sum(refusals(demo).values()) == 1
    # the kiosk asks the provider, which knows nothing was paid
    poll(demo, order_id)
    assert_untouched(demo, order_id)


@pytest.mark.parametrize("amount", ["0.01", "paid + 0.01"])
def test_a_validly_signed_notification_with_another_amount_is_refused(demo, terminal, amount):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    note = buyer_pays(demo, order_id)
    total = read_ledger(demo).totals[order_id]
    fen = 1 if amount == "0.01" else total + 1
    tampered = resign(demo, note, total_amount=f"{fen // 100}.{fen % 100:02d}", notify_id="N-tampered")
    response = post_notification(demo, tampered)
    assert response.status_code == 400 and response.text != "success"
    assert_untouched(demo, order_id)
    assert read_ledger(demo).kinds(order_id, "amount_mismatch") == ["amount_mismatch"]
    # the genuine notification still records the payment
    assert post_notification(demo, note).text == "success"
    assert_paid_once(demo, order_id)


def test_a_validly_signed_notification_for_an_unknown_order_is_refused(demo, terminal):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    note = buyer_pays(demo, order_id)
    stranger = resign(demo, note, out_trade_no="K-NOT-OURS")
    response = post_notification(demo, stranger)
    assert response.status_code == 400 and response.text != "success"
    assert_untouched(demo, order_id)
    assert refusals(demo) == {"unknown_order": 1}
    assert read_ledger(demo).kinds(None) == []


def test_a_flood_of_refused_callbacks_is_counted_without_growing_the_database(demo, terminal, caplog):
    """An attacker posting garbage (3,330 rows in 10 s before): each refusal is logged without the
    callback's content and counted in one row per day and reason."""
    order_id = terminal.identify(ZHAO_MIN).checkout()
    note = buyer_pays(demo, order_id)
    client = demo.test_client()
    garbage = [dict(note, sign="0" * 64), resign(demo, note, total_amount="lots"), resign(demo, note, out_trade_no="K-NOT-OURS")]
    with caplog.at_level("WARNING", logger="kiosk"):
        for i in range(150):
            assert post_notification(demo, garbage[i % 3], client).status_code == 400
    assert refusals(demo) == {"bad_signature": 50, "malformed": 50, "unknown_order": 50}
    assert refusal_rows(demo) == 3
    assert read_ledger(demo).kinds(None) == []
    assert_untouched(demo, order_id)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "refused a sandbox callback: bad_signature" in logged
    assert note["out_trade_no"] not in logged and note["trade_no"] not in logged


# -- 3. racing recorders ----------------------------------------------------------------------------

@pytest.mark.parametrize("via", ["record_paid", "callback"])
def test_eight_racing_recorders_record_one_payment(demo, terminal, via):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    note = buyer_pays(demo, order_id)
    total = read_ledger(demo).totals[order_id]
    attempt = attempt_id(demo, order_id)
    clients = [demo.test_client() for _ in range(8)]

    def work(i):
        if via == "callback":
            response = post_notification(demo, note, clients[i])
            return response.status_code, response.text
        with demo.app_context():
            settlement.record_payment(uow(), attempt, trade_no=note["trade_no"], amount_fen=total, source=Source.NOTIFY)
            return read_ledger(demo).status(order_id)

    results, errors = run_together(8, work)
    assert errors == []
    expected = (200, "success") if via == "callback" else PAID
    assert results == [expected] * 8
    assert_paid_once(demo, order_id)


def test_two_orders_for_the_same_bills_settling_at_once_settle_each_bill_once(demo):
    """A cancelled order paid late and its replacement paid at the same instant: one settles, one is refunded."""
    kiosk = Terminal(demo).identify(ZHAO_MIN)
    old = kiosk.checkout()
    buyer_scans(demo, old)
    close(demo, old)
    new = kiosk.checkout(bills_of(demo, old))
    totals = read_ledger(demo).totals
    attempts = {order_id: attempt_id(demo, order_id) for order_id in (old, new)}

    def work(i):
        order_id = (old, new)[i]
        with demo.app_context():
            settlement.record_payment(uow(), attempts[order_id], trade_no=f"T{i}", amount_fen=totals[order_id], source=Source.NOTIFY)
            return read_ledger(demo).status(order_id)

    results, errors = run_together(2, work)
    assert errors == [] and results == [PAID, PAID]
    ledger = read_ledger(demo)
    bills = bills_of(demo, old)
    assert all(ledger.settled[bill] == 1 for bill in bills)
    winners = {ledger.settled_by[bill][0] for bill in bills}
    assert len(winners) == 1
    (winner,) = winners
    loser = new if winner == old else old
    assert ledger.receipts == {winner: 1}
    assert ledger.refund_due(winner) == 0
    assert ledger.refund_due(loser) == totals[loser]
    assert ledger.kinds(loser, "refund_due") == ["refund_due"]


# -- 4. double taps and two terminals ---------------------------------------------------------------

def test_racing_taps_with_one_checkout_key_make_one_order(demo, terminal):
    terminal.identify(ZHAO_MIN)
    bills = terminal.payable_bills()
    key = terminal.new_key()
    results, errors = run_together(8, lambda i: terminal.checkout(bills, key))
    assert errors == []
    ledger = read_ledger(demo)
    assert len(ledger.orders) == 1 and set(results) == set(ledger.orders)
    (order_id,) = ledger.orders
    assert ledger.status(order_id) == PENDING and ledger.kinds(order_id, "created") == ["created"]
    assert all(ledger.live[bill] == 1 for bill in bills)


def test_a_double_tap_on_pay_makes_one_order(demo):
    journey = Journey(demo.test_client())
    journey.identify(ZHAO_MIN)
    _, bills, key = journey.dues()
    # a second browser tab on the same session: same cookie, same form
    twin = Journey(demo.test_client())
    twin.client.set_cookie("session", journey.client.get_cookie("session").value)
    twin.token = journey.token
    taps = (journey, twin)

    results, errors = run_together(2, lambda i: taps[i].post("/pay", {"bills": bills, "key": key}))
    assert errors == []
    assert [(r.status_code, r.headers.get("Location", "")[-8:]) for r in results] == [(303, "/payment")] * 2
    ledger = read_ledger(demo)
    assert len(ledger.orders) == 1
    (order_id,) = ledger.orders
    assert ledger.status(order_id) == PENDING and sorted(bills_of(demo, order_id)) == sorted(bills)
    assert journey.get("/payment").status_code == 200 and twin.get("/payment").status_code == 200


def test_two_terminals_racing_for_the_same_bills_make_one_live_order(demo):
    kiosks = [Terminal(demo, code).identify(ZHAO_MIN) for code in ("HALL-1", "HALL-2", "BANK-1", "BANK-2")]
    bills = kiosks[0].payable_bills()
    keys = [k.new_key() for k in kiosks]

    def work(i):
        try:
            return kiosks[i].checkout(bills, keys[i])
        except CheckoutError as error:
            return error.reason

    results, errors = run_together(len(kiosks), work)
    assert errors == []
    orders = [r for r in results if isinstance(r, int)]
    assert len(orders) == 1, results
    # refused at the database (held_elsewhere) or, if it looked later, already shown as held (not_payable)
    assert all(r in ("held_elsewhere", "not_payable") for r in results if not isinstance(r, int)), results
    ledger = read_ledger(demo)
    assert list(ledger.orders) == orders and ledger.status(orders[0]) == PENDING
    assert all(ledger.live[bill] == 1 for bill in bills)


# -- 5. a payment confirmed after the order was closed --------------------------------------------

def _close(app, order_id, how):
    if how == "cancelled":
        close(app, order_id)
    else:  # the poller finds the deadline passed
        with app.app_context():
            deadline = db.session.get(PaymentOrder, order_id).expires_at
        poll(app, order_id, now=deadline)


@pytest.mark.parametrize("how", ["cancelled", "expired"])
def test_a_late_payment_of_a_closed_order_is_kept_as_a_refund_not_a_second_settlement(demo, terminal, how):
    terminal.identify(ZHAO_MIN)
    old = terminal.checkout()
    buyer_scans(demo, old)
    _close(demo, old, how)
    assert read_ledger(demo).status(old) == how
    new = terminal.checkout(bills_of(demo, old))  # a new QR for the same bills
    assert post_notification(demo, buyer_pays(demo, new)).text == "success"
    assert_paid_once(demo, new)

    # the provider confirms the old trade after all (the buyer paid it as it was being closed)
    late = provider_says_paid(demo, old)
    for _ in range(2):  # and retries it
        assert post_notification(demo, late).text == "success"
    ledger = read_ledger(demo)
    assert ledger.status(old) == PAID
    assert ledger.refund_due(old) == ledger.totals[old] > 0
    assert ledger.receipts == {new: 1}  # no receipt for money that paid nothing
    assert all(ledger.settled_by[bill] == [new] for bill in bills_of(demo, old))
    assert ledger.kinds(old, "refund_due") == ["refund_due"] and ledger.kinds(old, "paid") == ["paid"]
    assert ledger.refund_due(new) == 0


def late_payment_with_replacement(app, terminal) -> tuple[int, int]:
    """A cancelled order, a new QR for its bills, then the provider confirms the old one."""
    terminal.identify(ZHAO_MIN)
    old = terminal.checkout()
    buyer_scans(app, old)
    _close(app, old, "cancelled")
    new = terminal.checkout(bills_of(app, old))
    assert post_notification(app, provider_says_paid(app, old)).text == "success"
    return old, new


def test_a_late_payment_of_a_closed_order_settles_when_its_replacement_is_unpaid(demo, terminal):
    """The old trade is confirmed while the new QR is still on screen: the old one pays the bills,
    and if the citizen pays the new QR too, that money is owed back, never a second settlement."""
    old, new = late_payment_with_replacement(demo, terminal)
    assert post_notification(demo, buyer_pays(demo, new)).text == "success"
    ledger = read_ledger(demo)
    assert ledger.status(old) == ledger.status(new) == PAID
    assert all(ledger.settled_by[bill] == [old] for bill in bills_of(demo, old))
    assert ledger.receipts == {old: 1}
    assert (ledger.refund_due(old), ledger.refund_due(new)) == (0, ledger.totals[new])


# -- 6. never lost when the app fails half-way ----------------------------------------------------

def _raise(*args, **kwargs):
    raise RuntimeError("the app server failed here")


CRASH_POINTS = {
    # before the receipt is written, after the order row was flipped to PAID in the transaction
    "receipt number": lambda mp: mp.setattr(settlement, "receipt_number", _raise),
    # the receipt itself cannot be made
    "receipt": lambda mp: mp.setattr(settlement, "Receipt", _raise),
    # the very last step before the commit: everything else is written
    "paid event": lambda mp: mp.setattr(settlement, "log_event", lambda session, order_id, kind, *a, **k: _raise() if kind == "paid" else None),
}


@pytest.mark.parametrize("crash_point", CRASH_POINTS)
def test_a_failure_while_recording_leaves_nothing_half_written_and_the_retry_records_it(demo, terminal, monkeypatch, crash_point):
    demo.config["PROPAGATE_EXCEPTIONS"] = False  # answer 500 as production does
    order_id = terminal.identify(ZHAO_MIN).checkout()
    note = buyer_pays(demo, order_id)
    with monkeypatch.context() as patched:
        CRASH_POINTS[crash_point](patched)
        response = post_notification(demo, note)
        assert response.status_code == 500 and response.text != "success"
    assert_untouched(demo, order_id)
    # the provider retries the same notification: recorded in full
    response = post_notification(demo, note)
    assert (response.status_code, response.text) == (200, "success")
    assert_paid_once(demo, order_id)


def test_a_failure_while_the_poller_records_leaves_nothing_half_written(demo, monkeypatch):
    demo.config.update(PROPAGATE_EXCEPTIONS=False, PROVIDER_QUERY_INTERVAL_SECONDS=0)
    journey = Journey(demo.test_client())
    with demo.app_context():
        order_id = journey.pay(ZHAO_MIN).id
    buyer_pays(demo, order_id)
    with monkeypatch.context() as patched:
        CRASH_POINTS["receipt number"](patched)
        assert journey.get("/payment").status_code == 500
    assert_untouched(demo, order_id)
    page = journey.get("/payment")
    assert page.status_code == 303 and page.headers["Location"].endswith("/receipt")
    assert_paid_once(demo, order_id)


CRASH_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from kiosk import create_app
    import kiosk.services.settlement as settlement
    from kiosk.extensions import db
    from kiosk.payments import provider as payment_provider
    from kiosk.payments.base import Callback
    from kiosk.services.notifications import handle_notification
    from kiosk.services.uow import UnitOfWork

    app = create_app(json.loads(os.environ["KIOSK_TEST_APP_CONFIG"]))
    token, crash_at = sys.argv[1], sys.argv[2]
    with app.app_context():
        provider = payment_provider(app)
        provider.scan(token)
        trade = provider.settle(token, pay=True)  # the provider has the money now
        assert trade is not None, "the sandbox refused the payment"
        if crash_at == "before recording":
            os._exit(1)
        # the callback is being recorded, the transaction is open, and the process dies
        def die(*args, **kwargs):
            os._exit(1)
        settlement.receipt_number = die
        handle_notification(UnitOfWork(db.session), provider, Callback.of_form(provider.notification_for(trade)))
    os._exit(0)  # never reached
""")


@pytest.mark.parametrize("crash_at, recovery", [
    ("before recording", "poll"),
    ("inside the transaction", "poll"),
    ("inside the transaction", "reconcile"),
])
def test_a_payment_survives_a_process_crash(demo, runner, crash_at, recovery):
    demo.config["PROVIDER_QUERY_INTERVAL_SECONDS"] = 0
    journey = Journey(demo.test_client())
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
        order_id, out_trade_no, token = order.id, order.attempt.out_trade_no, order.attempt.qr_payload.rsplit("/", 1)[1]
    env = dict(os.environ, KIOSK_TEST_APP_CONFIG=subprocess_config(demo), PYTHONPATH=str(ROOT))
    crashed = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, token, crash_at], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert crashed.returncode == 1, crashed.stderr
    # the provider has the money, the app has nothing (an open transaction died with its process)
    with demo.app_context():
        assert provider_of(demo).query(out_trade_no).state.value == "paid"
    assert_untouched(demo, order_id)

    if recovery == "poll":
        page = journey.get("/payment")
        assert page.status_code == 303 and page.headers["Location"].endswith("/receipt")
        assert journey.get("/receipt").status_code == 200
    else:
        result = runner.invoke(args=["reconcile"])
        assert result.exit_code == 0 and "1 unfinished payment attempts" in result.output
    assert_paid_once(demo, order_id)
    assert read_ledger(demo).kinds(order_id, "paid") == ["paid"]


# -- 7. the database itself refuses a second settlement -------------------------------------------

def _second_order(app, bill_ids, live: bool, settled: bool) -> None:
    """Another order for ``bill_ids`` written straight into the tables, past every service check."""
    with app.app_context():
        first = db.session.scalar(select(PaymentOrder).order_by(PaymentOrder.id))
        items = db.session.scalars(select(PaymentOrderItem).where(PaymentOrderItem.bill_id.in_(bill_ids))).all()
        by_bill = {item.bill_id: item for item in items}
        db.session.add(PaymentOrder(
            idempotency_key="bypass", payer_id=first.payer_id, terminal_id=first.terminal_id, total_fen=sum(by_bill[b].amount_fen for b in bill_ids), expires_at=first.expires_at,
            items=[PaymentOrderItem(bill_id=b, person_id=by_bill[b].person_id, principal_fen=by_bill[b].principal_fen, subsidy_fen=by_bill[b].subsidy_fen,
                                    late_fee_fen=by_bill[b].late_fee_fen, amount_fen=by_bill[b].amount_fen, live=live,
                                    settled=settled) for b in bill_ids],
        ))
        db.session.commit()


def _index_named(error: IntegrityError, backend: str, index: str) -> bool:
    # PostgreSQL names the index; SQLite names the column
    return index in str(error.orig) if backend == "postgresql" else "payment_order_item.bill_id" in str(error.orig)


def test_the_database_refuses_a_second_live_item_for_a_bill(demo, terminal, backend):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    bill = bills_of(demo, order_id)[0]
    with pytest.raises(IntegrityError) as raised:
        _second_order(demo, [bill], live=True, settled=False)
    assert _index_named(raised.value, backend, "uq_item_live_bill")
    _second_order(demo, [bill], live=False, settled=False)  # a finished order's item is allowed
    assert read_ledger(demo).live[bill] == 1


def test_the_database_refuses_a_second_settled_item_for_a_bill(demo, terminal, backend):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    assert post_notification(demo, buyer_pays(demo, order_id)).text == "success"
    bill = bills_of(demo, order_id)[0]
    # inserted settled
    with pytest.raises(IntegrityError) as raised:
        _second_order(demo, [bill], live=False, settled=True)
    assert _index_named(raised.value, backend, "uq_item_settled_bill")
    # inserted unsettled (allowed), then updated to settled
    _second_order(demo, [bill], live=False, settled=False)
    with demo.app_context():
        bypass = db.session.scalar(select(PaymentOrder.id).where(PaymentOrder.idempotency_key == "bypass"))
        with pytest.raises(IntegrityError) as raised:
            db.session.execute(update(PaymentOrderItem).where(PaymentOrderItem.order_id == bypass).values(settled=True))
            db.session.commit()
        db.session.rollback()
    assert _index_named(raised.value, backend, "uq_item_settled_bill")
    ledger = read_ledger(demo)
    assert ledger.settled[bill] == 1 and ledger.settled_by[bill] == [order_id]
