"""Refunds and voids with four eyes (issue 8): the role rules, the cash drawer, the provider's
refund, the bills due again, and two supervisors deciding at once, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kiosk.domain.clock import utcnow
from kiosk.domain.counter import CounterMethod
from kiosk.domain.orders import OrderStatus
from kiosk.domain.refunds import RefundRuleBroken, RequestKind, RequestState
from kiosk.extensions import db
from kiosk.models import AuditEntry, PaymentOrder, Receipt, Refund, RefundRequest
from kiosk.payments import payments
from kiosk.services import counter, staff, staff_refunds
from tests.helpers import CHEN_JIANGUO, ZHANG_SAN
from tests.services.conftest import Terminal, buyer_pays, poll, run_together, uow
from tests.services.test_counter import Desk, drawer

PASSWORD = "long enough password"


def make(app, username, role) -> int:
    with app.app_context():
        return staff.create_staff(uow(), username, username, role, PASSWORD)


@pytest.fixture
def people(demo):
    return {"cashier": make(demo, "c1", "cashier"), "boss": make(demo, "s1", "supervisor"),
            "boss2": make(demo, "s2", "supervisor"), "admin": make(demo, "a1", "admin")}


def cash_sale(app, number=ZHANG_SAN, tendered=100_000) -> tuple[Desk, counter.CounterReceipt]:
    desk = Desk(app).identify(number)
    with app.app_context():
        counter.put_float(uow(), desk.terminal_id(), 10_000, desk.cashier)
    return desk, desk.take(counter.Tender(CounterMethod.CASH, tendered_fen=tendered))


def ask(app, order_id, by, kind=RequestKind.REFUND, amount=None, reason="paid by mistake", terminal_id=None) -> int:
    with app.app_context():
        return staff_refunds.ask(uow(), order_id, kind, amount, reason, by, terminal_id)


def decide(app, request_id, by, approve=True) -> RefundRequest:
    with app.app_context():
        request = staff_refunds.decide(uow(), request_id, by, approve, payments(app).providers)
        db.session.expunge(request)
        return request


def order_status(app, order_id) -> str:
    with app.app_context():
        return db.session.get(PaymentOrder, order_id).status


def test_a_cashier_cannot_approve_and_nobody_approves_their_own(demo, people):
    desk, sale = cash_sale(demo)
    request_id = ask(demo, sale.order_id, people["boss"], terminal_id=desk.terminal_id())
    for who, code in ((people["cashier"], "role"), (people["admin"], "role"), (people["boss"], "own")):
        with pytest.raises(RefundRuleBroken) as broken:
            decide(demo, request_id, who)
        assert broken.value.code == code
    with demo.app_context():
        assert db.session.get(RefundRequest, request_id).state == RequestState.REQUESTED.value
    assert order_status(demo, sale.order_id) == OrderStatus.PAID.value
    assert decide(demo, request_id, people["boss2"]).state == RequestState.DONE.value


def test_the_database_refuses_a_decision_by_the_one_who_asked(demo, people):
    """The four-eyes rule is a constraint too: a bug in the service could not get past it."""
    from sqlalchemy.exc import IntegrityError

    desk, sale = cash_sale(demo)
    request_id = ask(demo, sale.order_id, people["cashier"], terminal_id=desk.terminal_id())
    with demo.app_context(), pytest.raises(IntegrityError):
        request = db.session.get(RefundRequest, request_id)
        request.decided_by = people["cashier"]
        db.session.commit()


def test_an_approved_cash_refund_comes_out_of_the_drawer_and_the_bills_are_due_again(demo, people):
    desk, sale = cash_sale(demo)
    assert drawer(demo, desk.terminal_id()) == 10_000 + 40_000
    request_id = ask(demo, sale.order_id, people["cashier"], terminal_id=desk.terminal_id())
    done = decide(demo, request_id, people["boss"])
    assert done.state == RequestState.DONE.value and done.decided_by == people["boss"]
    assert order_status(demo, sale.order_id) == OrderStatus.REFUNDED.value
    assert drawer(demo, desk.terminal_id()) == 10_000
    with demo.app_context():
        assert db.session.scalar(select(Receipt.voided_at).where(Receipt.order_id == sale.order_id)) is not None
        refund = db.session.scalar(select(Refund).where(Refund.order_id == sale.order_id))
        assert (refund.out_request_no, refund.amount_fen, refund.state) == (f"S{request_id}", 40_000, "success")
        actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("refund.%")).order_by(AuditEntry.id)))
        assert actions == ["refund.request", "refund.approve", "refund.done"]
    assert len(Terminal(demo).identify(ZHANG_SAN).payable_bills()) == 1  # due again, at any terminal


def test_a_partial_refund_leaves_the_bills_paid(demo, people):
    desk, sale = cash_sale(demo)
    request_id = ask(demo, sale.order_id, people["cashier"], amount=10_000, terminal_id=desk.terminal_id())
    decide(demo, request_id, people["boss"])
    assert order_status(demo, sale.order_id) == OrderStatus.PAID.value
    assert drawer(demo, desk.terminal_id()) == 10_000 + 30_000
    with demo.app_context():
        assert staff_refunds.refundable_fen(db.session, sale.order_id) == 30_000
    # no more than what is left may be asked for
    with pytest.raises(RefundRuleBroken) as broken:
        ask(demo, sale.order_id, people["cashier"], amount=30_001, terminal_id=desk.terminal_id())
    assert broken.value.code == "too_much"


def test_a_rejected_request_changes_no_money(demo, people):
    desk, sale = cash_sale(demo)
    request_id = ask(demo, sale.order_id, people["cashier"], terminal_id=desk.terminal_id())
    assert decide(demo, request_id, people["boss"], approve=False).state == RequestState.REJECTED.value
    assert order_status(demo, sale.order_id) == OrderStatus.PAID.value
    assert drawer(demo, desk.terminal_id()) == 50_000
    # a new request may be made once the last one is decided
    ask(demo, sale.order_id, people["cashier"], terminal_id=desk.terminal_id())


def test_one_open_request_per_payment(demo, people):
    desk, sale = cash_sale(demo)
    ask(demo, sale.order_id, people["cashier"], amount=100, terminal_id=desk.terminal_id())
    with pytest.raises(RefundRuleBroken) as broken:
        ask(demo, sale.order_id, people["boss"], amount=100, terminal_id=desk.terminal_id())
    assert broken.value.code == "open"


@pytest.mark.parametrize("kwargs, code", [
    ({"reason": "  "}, "reason"),
    ({"amount": 0}, "amount"),
    ({"amount": 40_001}, "too_much"),
    ({"kind": RequestKind.VOID, "amount": 100}, "void_partial"),
])
def test_a_request_the_rules_refuse_writes_nothing(demo, people, kwargs, code):
    desk, sale = cash_sale(demo)
    with pytest.raises(RefundRuleBroken) as broken:
        ask(demo, sale.order_id, people["cashier"], terminal_id=desk.terminal_id(), **kwargs)
    assert broken.value.code == code
    with demo.app_context():
        assert db.session.scalar(select(RefundRequest.id)) is None


def test_a_void_only_on_the_day_of_the_payment(demo, people):
    desk, sale = cash_sale(demo)
    tomorrow = utcnow() + dt.timedelta(days=1)
    with demo.app_context(), pytest.raises(RefundRuleBroken) as broken:
        staff_refunds.ask(uow(), sale.order_id, RequestKind.VOID, None, "wrong person", people["cashier"], desk.terminal_id(),
                          now=tomorrow)
    assert broken.value.code == "void_day"
    request_id = ask(demo, sale.order_id, people["cashier"], kind=RequestKind.VOID, terminal_id=desk.terminal_id())
    assert decide(demo, request_id, people["boss"]).state == RequestState.DONE.value
    assert order_status(demo, sale.order_id) == OrderStatus.REFUNDED.value


def test_no_cash_refund_beyond_what_the_drawer_holds(demo, people):
    desk, sale = cash_sale(demo)
    other = Desk(demo, "COUNTER-02")  # asked at a counter whose drawer is empty
    request_id = ask(demo, sale.order_id, people["cashier"], terminal_id=other.terminal_id())
    with pytest.raises(RefundRuleBroken) as broken:
        decide(demo, request_id, people["boss"])
    assert broken.value.code == "drawer"
    assert order_status(demo, sale.order_id) == OrderStatus.PAID.value


def test_a_qr_payment_is_refunded_through_its_provider(demo, people):
    kiosk = Terminal(demo).identify(ZHANG_SAN)
    order_id = kiosk.checkout()
    buyer_pays(demo, order_id)
    assert poll(demo, order_id) == OrderStatus.PAID.value
    desk = Desk(demo)
    request_id = ask(demo, order_id, people["cashier"], terminal_id=desk.terminal_id())
    assert decide(demo, request_id, people["boss"]).state == RequestState.DONE.value
    assert order_status(demo, order_id) == OrderStatus.REFUNDED.value
    assert drawer(demo, desk.terminal_id()) == 0  # the provider gave it back, not the drawer
    with demo.app_context():
        from kiosk.models import SandboxRefund

        assert db.session.scalar(select(SandboxRefund.out_request_no)) == f"S{request_id}"


def test_two_supervisors_approving_at_once_refund_once(demo, people):
    desk, sale = cash_sale(demo, CHEN_JIANGUO, tendered=1_000_000)
    request_id = ask(demo, sale.order_id, people["cashier"], terminal_id=desk.terminal_id())
    results, errors = run_together(2, lambda i: decide(demo, request_id, people["boss" if i else "boss2"]))
    assert len(errors) == 1 and isinstance(errors[0], RefundRuleBroken) and errors[0].code == "decided"
    with demo.app_context():
        assert len(db.session.scalars(select(Refund).where(Refund.order_id == sale.order_id)).all()) == 1
    assert drawer(demo, desk.terminal_id()) == 10_000


def test_a_refund_the_provider_cannot_be_asked_for_ends_failed_and_the_payment_stands(demo, people):
    order_id = Terminal(demo).identify(ZHANG_SAN).checkout()
    buyer_pays(demo, order_id)
    assert poll(demo, order_id) == OrderStatus.PAID.value
    request_id = ask(demo, order_id, people["cashier"], terminal_id=Desk(demo).terminal_id())
    with demo.app_context():
        request = staff_refunds.decide(uow(), request_id, people["boss"], True, providers={})  # its provider is not configured here
        assert request.state == RequestState.FAILED.value
        detail = db.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "refund.failed"))
        assert "other_provider" in detail
    assert order_status(demo, order_id) == OrderStatus.PAID.value
