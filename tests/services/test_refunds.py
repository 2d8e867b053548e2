"""Refunds: through the provider, never twice, never more than was paid, each followed to its end."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kiosk.domain.clock import utcnow
from kiosk.domain.orders import Source
from kiosk.extensions import db
from kiosk.models import PaymentOrder, Refund, SandboxRefund
from kiosk.payments import provider as provider_of
from kiosk.payments.base import ProviderError
from kiosk.services import refunds
from kiosk.services.refunds import RefundRefused, available_fen, follow_refunds, request_refund
from tests.helpers import ZHAO_MIN
from tests.services.conftest import attempt_id, bills_of, buyer_pays, poll, read_ledger, run_together, trade_of, uow
from tests.services.test_exactly_once import late_payment_with_replacement, post_notification

LATER = dt.timedelta(minutes=5)  # past the moment follow_refunds leaves a fresh refund alone


def paid_order(app, terminal) -> int:
    order_id = terminal.identify(ZHAO_MIN).checkout()
    buyer_pays(app, order_id)
    assert poll(app, order_id) == "paid"
    return order_id


def refund(app, order_id, amount, reason="citizen asked", **kwargs) -> tuple[str, int]:
    """Ask for a refund as staff; returns the refund's state and amount."""
    with app.app_context():
        done = request_refund(uow(), order_id, amount, reason, Source.STAFF, provider_of(app), **kwargs)
        return done.state, done.amount_fen


def refused(app, order_id, amount, **kwargs) -> str:
    with pytest.raises(RefundRefused) as caught:
        refund(app, order_id, amount, **kwargs)
    return caught.value.code


def available(app, order_id) -> int:
    with app.app_context():
        return available_fen(db.session, order_id)


def follow(app, now=None) -> int:
    with app.app_context():
        return follow_refunds(uow(), provider_of(app), now or utcnow() + LATER)


def provider_refunds(app) -> list[tuple[str, int]]:
    """The sandbox's ledger of refunds: (request number, fen)."""
    with app.app_context():
        return [(r.out_request_no, r.amount_fen) for r in db.session.scalars(select(SandboxRefund).order_by(SandboxRefund.id))]


def our_refunds(app, order_id) -> list[tuple[str, int]]:
    with app.app_context():
        return [(r.state, r.amount_fen) for r in db.session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))]


def test_a_full_refund_gives_the_money_back_reopens_the_bills_and_voids_the_receipt(demo, terminal):
    order_id = paid_order(demo, terminal)
    total = read_ledger(demo).totals[order_id]
    assert refund(demo, order_id, total) == ("success", total)
    ledger = read_ledger(demo)
    assert ledger.status(order_id) == "refunded"
    assert (ledger.receipts[order_id], ledger.voided[order_id]) == (0, 1)
    assert not ledger.settled and not ledger.live
    assert "refunded" in ledger.kinds(order_id)
    assert trade_of(demo, order_id).refunded_fen == total and available(demo, order_id) == 0
    assert refused(demo, order_id, 1) == "not_paid"
    # the citizen can pay the same bills again with a new order
    bills = bills_of(demo, order_id)
    assert set(bills) <= set(terminal.payable_bills())
    again = terminal.checkout(bills)
    buyer_pays(demo, again)
    assert poll(demo, again) == "paid"
    ledger = read_ledger(demo)
    assert all(ledger.settled_by[bill] == [again] for bill in bills) and ledger.receipts[again] == 1


def test_partial_refunds_leave_the_order_paid_and_never_go_above_what_is_left(demo, terminal):
    order_id = paid_order(demo, terminal)
    total = read_ledger(demo).totals[order_id]
    assert refund(demo, order_id, 100) == ("success", 100)
    assert refund(demo, order_id, 200) == ("success", 200)
    ledger = read_ledger(demo)
    assert ledger.status(order_id) == "paid" and ledger.receipts[order_id] == 1
    assert ledger.kinds(order_id, "refund") == ["refund", "refund"]
    assert available(demo, order_id) == total - 300
    assert refused(demo, order_id, total - 300 + 1) == "too_much"
    assert refused(demo, order_id, 0) == "bad_amount"
    assert trade_of(demo, order_id).refunded_fen == 300  # nothing reached the provider
    assert refund(demo, order_id, total - 300)[0] == "success"
    assert read_ledger(demo).status(order_id) == "refunded"
    assert refused(demo, order_id, 1) == "not_paid"


def test_an_unpaid_order_is_never_refunded(demo, terminal):
    order_id = terminal.identify(ZHAO_MIN).checkout()
    assert refused(demo, order_id, 1) == "not_paid"
    assert refused(demo, 999999, 1) == "not_found"
    assert provider_refunds(demo) == [] and our_refunds(demo, order_id) == []


def test_the_same_request_number_twice_refunds_once(demo, terminal):
    order_id = paid_order(demo, terminal)
    assert refund(demo, order_id, 100, out_request_no="R-ONCE") == ("success", 100)
    assert refund(demo, order_id, 100, out_request_no="R-ONCE") == ("success", 100)
    assert provider_refunds(demo) == [("R-ONCE", 100)]
    assert our_refunds(demo, order_id) == [("success", 100)]
    assert trade_of(demo, order_id).refunded_fen == 100


def test_racing_full_refunds_give_back_the_total_at_most_once(demo, terminal):
    order_id = paid_order(demo, terminal)
    total = read_ledger(demo).totals[order_id]

    def one(i):
        try:
            return refund(demo, order_id, total, out_request_no=f"RACE-{i}")[0]
        except RefundRefused as exc:
            return exc.code

    results, errors = run_together(8, one)
    assert errors == []
    assert results.count("success") == 1
    assert set(results) - {"success"} <= {"nothing_left", "not_paid"}  # not_paid: once it is all back
    assert trade_of(demo, order_id).refunded_fen == total
    assert sum(fen for state, fen in our_refunds(demo, order_id) if state == "success") == total
    assert read_ledger(demo).status(order_id) == "refunded"


def test_a_refund_the_provider_did_not_answer_stays_processing_until_followed_up(demo, terminal, monkeypatch):
    """A timeout: we do not know whether the money went back, so nothing more is refundable
    until follow_refunds asks. Here the request never arrived: it failed, and may be asked again."""
    order_id = paid_order(demo, terminal)
    total = read_ledger(demo).totals[order_id]

    def timeout(*args, **kwargs):
        raise ProviderError("timed out")

    with monkeypatch.context() as patched:
        patched.setattr(type(provider_of(demo)), "refund", timeout)
        assert refund(demo, order_id, total) == ("processing", total)
    assert available(demo, order_id) == 0 and refused(demo, order_id, 1) == "nothing_left"
    assert follow(demo, now=utcnow()) == 0  # a refund just asked for is left to its own request
    assert follow(demo) == 1
    assert our_refunds(demo, order_id) == [("failed", total)]
    assert read_ledger(demo).status(order_id) == "paid" and available(demo, order_id) == total
    assert refund(demo, order_id, total)[0] == "success"
    assert read_ledger(demo).status(order_id) == "refunded"


def test_a_refund_whose_answer_was_lost_is_found_done_by_the_follow_up(demo, terminal, monkeypatch):
    order_id = paid_order(demo, terminal)
    total = read_ledger(demo).totals[order_id]
    real = type(provider_of(demo)).refund

    def answer_lost(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise ProviderError("connection reset")

    with monkeypatch.context() as patched:
        patched.setattr(type(provider_of(demo)), "refund", answer_lost)
        assert refund(demo, order_id, total)[0] == "processing"
    assert read_ledger(demo).status(order_id) == "paid"
    assert follow(demo) == 1
    assert our_refunds(demo, order_id) == [("success", total)]
    assert read_ledger(demo).status(order_id) == "refunded" and len(provider_refunds(demo)) == 1
    assert follow(demo) == 0


def test_a_crash_before_the_provider_was_asked_leaves_a_row_the_follow_up_ends(demo, terminal, monkeypatch):
    order_id = paid_order(demo, terminal)

    def crash(*args, **kwargs):
        raise RuntimeError("the app server failed here")

    with monkeypatch.context() as patched:
        patched.setattr(type(provider_of(demo)), "refund", crash)
        with pytest.raises(RuntimeError):
            refund(demo, order_id, 500)
    assert our_refunds(demo, order_id) == [("processing", 500)]
    assert follow(demo) == 1
    assert our_refunds(demo, order_id) == [("failed", 500)] and provider_refunds(demo) == []
    assert "refund_failed" in read_ledger(demo).kinds(order_id)


def test_money_paid_twice_is_given_back_once_however_often_the_sweep_runs(demo, terminal, runner):
    old, new = late_payment_with_replacement(demo, terminal)
    assert post_notification(demo, buyer_pays(demo, new)).text == "success"
    before = read_ledger(demo)
    assert before.refund_due(new) == before.totals[new] and before.receipts == {old: 1}
    first = runner.invoke(args=["refunds"])
    assert first.exit_code == 0 and "1 refunds of money paid twice asked for" in first.output
    second = runner.invoke(args=["refunds"])
    assert second.exit_code == 0 and "0 refunds of money paid twice asked for" in second.output
    assert provider_refunds(demo) == [(refunds.automatic_request_no(attempt_id(demo, new)), before.totals[new])]
    after = read_ledger(demo)
    assert (after.status(new), after.refund_due(new)) == ("refunded", 0)
    # the order that paid the bills is untouched
    assert after.status(old) == "paid" and after.receipts == {old: 1}
    assert all(after.settled_by[bill] == [old] for bill in bills_of(demo, old))


def test_the_automatic_refund_is_asked_once_even_when_called_again_directly(demo, terminal):
    old, new = late_payment_with_replacement(demo, terminal)
    post_notification(demo, buyer_pays(demo, new))
    with demo.app_context():
        assert refunds.refund_what_is_due(uow(), provider_of(demo)) == 1
        # a racing or repeated request under the same number answers the first refund
        total = db.session.get(PaymentOrder, new).total_fen
        again = request_refund(uow(), new, total, "again", Source.REFUND, provider_of(demo),
                               out_request_no=refunds.automatic_request_no(attempt_id(demo, new)))
        assert again.state == "success"
    assert len(provider_refunds(demo)) == 1
