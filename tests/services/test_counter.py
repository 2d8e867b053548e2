"""Counter payments (issue 8): cash with change and the drawer, card payments, and the same
exactly-once guarantees as the kiosk's across channels, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kiosk.domain.clock import local_today, utcnow
from kiosk.domain.counter import CounterMethod, CounterProblem
from kiosk.domain.orders import OrderStatus
from kiosk.domain.terminals import TerminalKind
from kiosk.extensions import db
from kiosk.models import AuditEntry, CounterPayment, DrawerEntry, PaymentOrder, PaymentOrderItem, Receipt
from kiosk.services import checkout, counter, staff, visits
from kiosk.services.checkout import CheckoutError
from tests.helpers import CHEN_JIANGUO, HUANG_XIULAN, HUANG_ZHIQIANG, ZHANG_SAN, ZHAO_MIN
from tests.services.conftest import Terminal, buyer_pays, poll, run_together, uow

CASH = counter.Tender(CounterMethod.CASH, tendered_fen=50_000)


class Desk(Terminal):
    """A cashier's browser at the counter COUNTER-01: a visit at a counter terminal."""

    def __init__(self, app, code: str = "COUNTER-01"):
        self.app = app
        with app.app_context():
            self.token = visits.start_visit(uow(), code, kind=TerminalKind.COUNTER)
            self.cashier = staff.create_staff(uow(), f"cashier{code}", "Li Na", "cashier", "long enough password")

    def take(self, tender=CASH, bill_ids=None, key=None) -> counter.CounterReceipt:
        bill_ids = self.family_bills() if bill_ids is None else bill_ids
        key = key or self.new_key()
        with self.app.app_context():
            return counter.take_payment(uow(), self._visit().id, bill_ids, key, tender, self.cashier)

    def terminal_id(self) -> int:
        with self.app.app_context():
            return self._visit().terminal_id


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def drawer(app, terminal_id: int) -> int:
    with app.app_context():
        return counter.drawer_balance(db.session, terminal_id)


def test_cash_payment_settles_the_bills_gives_change_and_fills_the_drawer(demo):
    desk = Desk(demo).identify(ZHANG_SAN)
    bills = desk.family_bills()
    with demo.app_context():
        counter.put_float(uow(), desk.terminal_id(), 20_000, desk.cashier)
    result = desk.take(counter.Tender(CounterMethod.CASH, tendered_fen=50_000))
    assert result.total_fen == 40_000 and result.change_fen == 10_000 and not result.again
    with demo.app_context():
        order = db.session.get(PaymentOrder, result.order_id)
        assert order.status == OrderStatus.PAID.value and order.staff_id == desk.cashier
        assert order.paid_attempt.provider == "cash"
        assert {item.bill_id for item in order.items if item.settled} == set(bills)
        assert db.session.scalar(select(Receipt.terminal_code).where(Receipt.order_id == order.id)) == "COUNTER-01"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "counter.payment"))
        assert entry.staff_id == desk.cashier and entry.terminal_code == "COUNTER-01"
        assert entry.after["total_fen"] == 40_000 and entry.after["change_fen"] == 10_000
    # the float and the money kept (tendered minus change): what the drawer should hold
    assert drawer(demo, desk.terminal_id()) == 20_000 + 40_000
    # paid: nothing left to pay for this person, at the counter or at a kiosk
    assert desk.family_bills() == []
    assert Terminal(demo).identify(ZHANG_SAN).payable_bills() == []


def test_too_little_cash_changes_nothing(demo):
    desk = Desk(demo).identify(ZHANG_SAN)
    with pytest.raises(CounterProblem) as refused:
        desk.take(counter.Tender(CounterMethod.CASH, tendered_fen=39_999))
    assert refused.value.code == "short"
    assert count(demo, PaymentOrder) == 1  # the demo's paid person only
    assert count(demo, DrawerEntry) == count(demo, CounterPayment) == 0
    assert len(desk.family_bills()) == 1


@pytest.mark.parametrize("tender, problem", [
    (counter.Tender(CounterMethod.POS_CARD, reference="12"), "reference"),
    (counter.Tender(CounterMethod.SS_CARD, reference="A1B2C3D4", card_number="123"), "card"),
    (counter.Tender(CounterMethod.CASH), "tendered"),
])
def test_a_card_payment_without_its_reference_or_card_changes_nothing(demo, tender, problem):
    desk = Desk(demo).identify(ZHAO_MIN)
    with pytest.raises(CounterProblem) as refused:
        desk.take(tender)
    assert refused.value.code == problem
    assert count(demo, CounterPayment) == 0 and count(demo, Receipt) == 1


def test_social_security_card_is_kept_masked_and_its_reference_recorded(demo):
    desk = Desk(demo).identify(ZHAO_MIN)
    result = desk.take(counter.Tender(CounterMethod.SS_CARD, reference="ss-778 812", card_number="A1234 5678 9"))
    assert result.change_fen is None
    with demo.app_context():
        taken = counter.taken(db.session, result.order_id)
        assert (taken.method, taken.reference, taken.card_masked) == ("ss_card", "SS778812", "A1****6789")
        assert taken.tendered_fen is None
        audit_text = str(db.session.scalar(select(AuditEntry.after).where(AuditEntry.action == "counter.payment")))
        assert "A123456789" not in audit_text and "A1****6789" in audit_text
    assert drawer(demo, desk.terminal_id()) == 0  # no cash moved


def test_the_same_form_twice_takes_the_money_once(demo):
    desk = Desk(demo).identify(CHEN_JIANGUO)
    bills, key = desk.family_bills(), desk.new_key()
    first = desk.take(bill_ids=bills, key=key, tender=counter.Tender(CounterMethod.CASH, tendered_fen=1_000_000))
    again = desk.take(bill_ids=bills, key=key, tender=counter.Tender(CounterMethod.CASH, tendered_fen=1_000_000))
    assert again.again and again.order_id == first.order_id
    assert count(demo, CounterPayment) == 1
    assert drawer(demo, desk.terminal_id()) == first.total_fen


def test_racing_submissions_of_one_form_take_one_payment(demo):
    desk = Desk(demo).identify(CHEN_JIANGUO)
    bills, key = desk.family_bills(), desk.new_key()
    tender = counter.Tender(CounterMethod.CASH, tendered_fen=1_000_000)
    results, errors = run_together(4, lambda i: desk.take(bill_ids=bills, key=key, tender=tender))
    assert not errors
    assert len({result.order_id for result in results}) == 1
    assert sum(not result.again for result in results) == 1
    assert count(demo, CounterPayment) == 1
    assert drawer(demo, desk.terminal_id()) == results[0].total_fen


def test_a_bill_being_paid_by_qr_at_a_kiosk_is_refused_at_the_counter(demo):
    kiosk = Terminal(demo).identify(ZHANG_SAN)
    order_id = kiosk.checkout()
    desk = Desk(demo).identify(ZHANG_SAN)
    assert kiosk.payable_bills() == []  # held by the kiosk's order
    with demo.app_context():
        lines = checkout.freeze_family_dues(uow(), desk._visit().id, local_today(utcnow()))
        held = [line.bill.id for line in lines if line.held_elsewhere]
    assert held
    with pytest.raises(CheckoutError) as refused:
        desk.take(bill_ids=held)
    assert refused.value.reason == "held_elsewhere"
    assert count(demo, CounterPayment) == 0
    # the kiosk's buyer pays: the bill is paid once, by the QR order
    buyer_pays(demo, order_id)
    assert poll(demo, order_id) == OrderStatus.PAID.value
    with demo.app_context():
        settled = db.session.scalar(select(func.count()).select_from(PaymentOrderItem)
                                    .where(PaymentOrderItem.bill_id.in_(held), PaymentOrderItem.settled.is_(True)))
    assert settled == len(held)


def test_a_kiosk_cannot_take_an_order_for_bills_the_counter_took(demo):
    kiosk = Terminal(demo).identify(ZHAO_MIN)
    bills, key = kiosk.payable_bills(), kiosk.new_key()
    Desk(demo).identify(ZHAO_MIN).take(bill_ids=bills, tender=counter.Tender(CounterMethod.POS_CARD, reference="POS123456"))
    with pytest.raises(CheckoutError) as refused:
        kiosk.checkout(bill_ids=bills, key=key)
    assert refused.value.reason == "not_payable"


def test_counter_and_kiosk_racing_for_the_same_bills_pay_them_once(demo):
    """A cashier's payment and a kiosk's order made at the same instant: one of them holds the
    bills; the bills are settled at most once whatever the interleaving."""
    kiosk = Terminal(demo).identify(CHEN_JIANGUO)
    desk = Desk(demo).identify(CHEN_JIANGUO)
    bills = kiosk.payable_bills()
    kiosk_key, desk_key = kiosk.new_key(), desk.new_key()
    tender = counter.Tender(CounterMethod.CASH, tendered_fen=1_000_000)

    def work(i):
        if i == 0:
            return kiosk.checkout(bill_ids=bills, key=kiosk_key)
        return desk.take(bill_ids=bills, key=desk_key, tender=tender)

    results, errors = run_together(2, work)
    assert all(isinstance(error, CheckoutError) for error in errors), errors
    with demo.app_context():
        settled = db.session.execute(select(PaymentOrderItem.bill_id, func.count()).where(
            PaymentOrderItem.bill_id.in_(bills), PaymentOrderItem.settled.is_(True)).group_by(PaymentOrderItem.bill_id)).all()
        live = db.session.execute(select(PaymentOrderItem.bill_id, func.count()).where(
            PaymentOrderItem.bill_id.in_(bills), PaymentOrderItem.live.is_(True)).group_by(PaymentOrderItem.bill_id)).all()
    assert all(n == 1 for _, n in settled) and all(n == 1 for _, n in live)


def test_a_family_pays_together_at_the_counter(demo):
    desk = Desk(demo).identify(HUANG_ZHIQIANG).add_member(HUANG_XIULAN)
    result = desk.take(counter.Tender(CounterMethod.CASH, tendered_fen=100_000))
    assert result.total_fen == 40_000 + 12_000 and result.change_fen == 100_000 - 52_000
    with demo.app_context():
        order = db.session.get(PaymentOrder, result.order_id)
        assert len({item.person_id for item in order.items}) == 2


def test_a_float_must_be_more_than_nothing(demo):
    desk = Desk(demo)
    with demo.app_context(), pytest.raises(CounterProblem):
        counter.put_float(uow(), desk.terminal_id(), 0, desk.cashier)
    assert count(demo, DrawerEntry) == 0


def test_counter_visits_outlast_a_kiosk_idle_timeout_but_not_the_counter_s(demo):
    import datetime as dt

    desk = Desk(demo).identify(ZHANG_SAN)
    kiosk = Terminal(demo).identify(ZHANG_SAN)
    later = utcnow() + dt.timedelta(minutes=5)
    with demo.app_context():
        visits.purge_idle(uow(), dt.timedelta(seconds=100), later)
        assert visits.load_visit(uow(), kiosk.token, dt.timedelta(hours=1), later) is None
        assert visits.load_visit(uow(), desk.token, visits.COUNTER_IDLE, later) is not None
        visits.purge_idle(uow(), dt.timedelta(seconds=100), later + visits.COUNTER_IDLE + dt.timedelta(minutes=6))
        assert visits.load_visit(uow(), desk.token, dt.timedelta(days=1), later) is None
