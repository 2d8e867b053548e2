"""Paying for others (issue 7, seed 003): one payer, up to five family members, one order and one
QR code; each item keeps its insured person, the receipt lists each person's items."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kiosk.domain.clock import local_today, utcnow
from kiosk.domain.idnumber import parse_resident_id
from kiosk.domain.orders import OrderStatus
from kiosk.extensions import db
from kiosk.models import Bill, PaymentOrder, PaymentOrderItem, Visit, VisitMember
from kiosk.payments import payments
from kiosk.services import checkout, receipts, visits
from kiosk.services.people import find_person
from tests.helpers import (CHEN_JIANGUO, HUANG_XIULAN, HUANG_ZHIQIANG, HUANG_ZIHAN, LI_XIAOHONG, LIU_FANG, WANG_DASHAN,
                           ZHANG_SAN, ZHAO_MIN)

from .conftest import SETTINGS, Terminal, buyer_pays, close, poll, uow

FAMILY = (HUANG_XIULAN, HUANG_ZIHAN)


def person_id(app, number: str) -> int:
    with app.app_context():
        return find_person(parse_resident_id(number, local_today(utcnow())).number, app.config["ID_DIGEST_KEY"]).id


def members_of(app, terminal: Terminal) -> list[int]:
    with app.app_context():
        visit = terminal._visit()
        return [member.person_id for member in visit.members]


def family(app) -> Terminal:
    terminal = Terminal(app).identify(HUANG_ZHIQIANG)
    for number in FAMILY:
        terminal.add_member(number)
    return terminal


def test_members_join_the_visit_in_order_after_the_payer(demo):
    terminal = family(demo)
    assert members_of(demo, terminal) == [person_id(demo, n) for n in FAMILY]
    with demo.app_context():
        visit = terminal._visit()
        assert [p.id for p in visits.persons_of(visit)] == [person_id(demo, n) for n in (HUANG_ZHIQIANG, *FAMILY)]
        groups, _ = checkout.present_family_dues(uow(), visit.id, local_today(utcnow()))
    assert [group.is_payer for group in groups] == [True, False, False]
    assert [len(group.payable) for group in groups] == [1, 1, 3]  # next year; next year (subsidised); 2 overdue + this month
    assert groups[1].payable[0].bill.subsidy_fen > 0
    assert any(line.late_fee_fen > 0 for line in groups[2].payable)


def test_the_payer_and_someone_added_already_are_refused_and_nothing_changes(demo):
    terminal = family(demo)
    for number, reason in ((HUANG_ZHIQIANG, "is_payer"), (HUANG_XIULAN, "already_added")):
        with pytest.raises(visits.FamilyError) as refused:
            terminal.add_member(number)
        assert refused.value.reason == reason
    assert members_of(demo, terminal) == [person_id(demo, n) for n in FAMILY]
    with demo.app_context():
        assert terminal._visit().candidate_id is None


def test_six_persons_at_most_the_seventh_is_refused(demo):
    terminal = Terminal(demo).identify(HUANG_ZHIQIANG)
    for number in (HUANG_XIULAN, HUANG_ZIHAN, ZHANG_SAN, LI_XIAOHONG, WANG_DASHAN):
        terminal.add_member(number)
    with pytest.raises(visits.FamilyError) as refused:
        terminal.add_member(ZHAO_MIN)
    assert refused.value.reason == "too_many"
    assert len(members_of(demo, terminal)) == 5
    with demo.app_context():
        assert not visits.may_add_member(terminal._visit())


def test_the_database_refuses_a_sixth_member_and_a_duplicate_whatever_the_code_does(demo):
    from sqlalchemy.exc import IntegrityError

    terminal = family(demo)
    with demo.app_context():
        visit_id = terminal._visit().id
        for row in (VisitMember(visit_id=visit_id, person_id=person_id(demo, ZHAO_MIN), position=6),
                    VisitMember(visit_id=visit_id, person_id=person_id(demo, HUANG_XIULAN), position=3),
                    VisitMember(visit_id=visit_id, person_id=person_id(demo, ZHAO_MIN), position=1)):
            db.session.add(row)
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()


def test_a_member_can_be_removed_and_their_place_is_free_again(demo):
    terminal = family(demo)
    with demo.app_context():
        visit_id = terminal._visit().id
        assert visits.remove_member(uow(), visit_id, person_id(demo, HUANG_XIULAN))
        assert not visits.remove_member(uow(), visit_id, person_id(demo, HUANG_ZHIQIANG))  # the payer is not a member
    assert members_of(demo, terminal) == [person_id(demo, HUANG_ZIHAN)]
    terminal.add_member(ZHANG_SAN)
    assert members_of(demo, terminal) == [person_id(demo, ZHANG_SAN), person_id(demo, HUANG_ZIHAN)]  # by place


def test_members_go_with_a_new_identification_and_with_the_visit(demo):
    terminal = family(demo)
    with demo.app_context():
        visits.set_person(uow(), terminal._visit().id, None)  # "Not me / back"
    assert members_of(demo, terminal) == []
    terminal.identify(HUANG_ZHIQIANG).add_member(HUANG_XIULAN)
    with demo.app_context():
        visits.end_visit(uow(), terminal.token)
        assert db.session.scalar(select(func.count()).select_from(VisitMember)) == 0
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_one_order_for_three_persons_with_one_payer(demo):
    terminal = family(demo)
    bills = terminal.family_bills()
    order_id = terminal.checkout(bills)
    with demo.app_context():
        order = db.session.get(PaymentOrder, order_id)
        payer = person_id(demo, HUANG_ZHIQIANG)
        assert order.payer_id == payer
        assert sorted(item.bill_id for item in order.items) == sorted(bills)
        assert {item.person_id for item in order.items} == {person_id(demo, n) for n in (HUANG_ZHIQIANG, *FAMILY)}
        for item in order.items:
            assert item.person_id == item.bill.person_id
        assert order.total_fen == sum(item.amount_fen for item in order.items)
        assert len(order.current_attempts) == 1  # one QR code for the whole family


def test_a_forged_bill_of_someone_not_on_the_visit_is_refused_and_nothing_changes(demo):
    stranger = Terminal(demo).identify(ZHAO_MIN)
    foreign = stranger.payable_bills()
    terminal = family(demo)
    bills = terminal.family_bills()
    for forged in ([foreign[0]], bills + [foreign[0]], [10**9]):
        with pytest.raises(checkout.CheckoutError) as refused:
            terminal.checkout(forged)
        assert refused.value.reason == "stale"
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaymentOrder).where(PaymentOrder.payer_id == person_id(demo, HUANG_ZHIQIANG))) == 0


def test_a_removed_members_bills_cannot_be_paid_from_the_old_screen(demo):
    terminal = family(demo)
    key = terminal.new_key()
    bills = terminal.family_bills()
    with demo.app_context():
        visits.remove_member(uow(), terminal._visit().id, person_id(demo, HUANG_ZIHAN))
    with pytest.raises(checkout.CheckoutError) as refused:
        terminal.checkout(bills, key)
    assert refused.value.reason == "stale"


def test_a_bill_held_by_someone_elses_open_order_is_shown_held(demo):
    son = Terminal(demo, "DEMO-02").identify(HUANG_ZIHAN)
    son.checkout()  # the son is paying his own at another terminal right now
    terminal = family(demo)
    with demo.app_context():
        groups, _ = checkout.present_family_dues(uow(), terminal._visit().id, local_today(utcnow()), SETTINGS)
    assert [line.held_elsewhere for line in groups[2].lines] == [True, True, True]
    assert groups[2].payable == [] and len(groups[0].payable) == len(groups[1].payable) == 1


def test_the_same_key_makes_one_order_for_the_family(demo):
    terminal = family(demo)
    key = terminal.new_key()
    bills = terminal.family_bills()
    assert terminal.checkout(bills, key) == terminal.checkout(bills, key)


def test_the_rounds_limit_counts_for_a_member_whoever_pays(demo):
    """Anyone who knows an ID number could add its person as a family member under a new payer
    each time: the terminal's limit of QR rounds counts for the insured persons as well."""
    strict = dataclasses.replace(SETTINGS, orders_per_person=2)
    for payer in (ZHANG_SAN, LI_XIAOHONG):
        terminal = Terminal(demo).identify(payer).add_member(HUANG_ZIHAN)
        son = [b for b in terminal.family_bills() if b not in Terminal(demo).identify(payer).payable_bills()]
        with demo.app_context():
            order = checkout.create_order(uow(), terminal._visit().id, son, terminal.new_key(), payments(demo).offered, strict)
        close(demo, order.id)
    terminal = Terminal(demo).identify(WANG_DASHAN).add_member(HUANG_ZIHAN)
    bills = terminal.family_bills()
    with demo.app_context(), pytest.raises(checkout.CheckoutError) as refused:
        checkout.create_order(uow(), terminal._visit().id, bills, terminal.new_key(), payments(demo).offered, strict)
    assert refused.value.reason == "too_many_orders"


def test_the_receipt_lists_each_persons_items_under_them_payer_first(demo):
    terminal = Terminal(demo).identify(LIU_FANG)  # a payer with nothing to pay herself
    for number in FAMILY:
        terminal.add_member(number)
    order_id = terminal.checkout(terminal.family_bills())
    buyer_pays(demo, order_id)
    assert poll(demo, order_id) == OrderStatus.PAID.value
    with demo.app_context():
        order = checkout.order_with_receipt(db.session, order_id)
        assert order.receipt.payer_masked == "刘*"
        groups = receipts.receipt_groups(order)
        assert [group.person.id for group in groups] == [person_id(demo, n) for n in FAMILY]
        assert not any(group.is_payer for group in groups)
        assert [len(group.items) for group in groups] == [1, 3]
        assert sum(group.paid_fen for group in groups) == order.total_fen


def test_the_payers_own_items_come_first_on_the_receipt(demo):
    terminal = family(demo)
    order_id = terminal.checkout(terminal.family_bills())
    buyer_pays(demo, order_id)
    poll(demo, order_id)
    with demo.app_context():
        groups = receipts.receipt_groups(checkout.order_with_receipt(db.session, order_id))
        assert [group.is_payer for group in groups] == [True, False, False]
        assert [group.person.id for group in groups] == [person_id(demo, n) for n in (HUANG_ZHIQIANG, *FAMILY)]


# any selection of bills across the family, duplicates and order included: the items sum to the
# order's total and every item insures a person on the visit
PROPERTY_SETTINGS = dataclasses.replace(SETTINGS, orders_per_person=10_000)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_items_always_sum_to_the_order_total_and_insure_persons_on_the_visit(demo, data):
    terminal = family(demo).add_member(CHEN_JIANGUO)
    bills = terminal.family_bills()
    chosen = data.draw(st.lists(st.sampled_from(bills), min_size=1, max_size=12), label="chosen")
    with demo.app_context():
        visit = terminal._visit()
        on_visit = {person.id for person in visits.persons_of(visit)}
        order = checkout.create_order(uow(), visit.id, chosen, terminal.new_key(), payments(demo).offered, PROPERTY_SETTINGS)
        order_id = order.id
        items = db.session.scalars(select(PaymentOrderItem).where(PaymentOrderItem.order_id == order_id)).all()
        owners = dict(db.session.execute(select(Bill.id, Bill.person_id).where(Bill.id.in_(chosen))).all())
        assert sorted(item.bill_id for item in items) == sorted(set(chosen))
        assert sum(item.amount_fen for item in items) == db.session.get(PaymentOrder, order_id).total_fen
        assert all(item.person_id in on_visit and item.person_id == owners[item.bill_id] for item in items)
        assert all(item.amount_fen == item.principal_fen - item.subsidy_fen + item.late_fee_fen for item in items)
    close(demo, order_id)  # the bills are free again for the next example
    with demo.app_context():
        visits.end_visit(uow(), terminal.token)


def test_the_list_of_an_order_being_paid_does_not_change(demo):
    terminal = family(demo)
    order_id = terminal.checkout(terminal.family_bills())
    with demo.app_context():
        visit_id = terminal._visit().id
        for change in (lambda: visits.propose_member(uow(), visit_id, person_id(demo, ZHANG_SAN)),
                       lambda: visits.remove_member(uow(), visit_id, person_id(demo, HUANG_XIULAN))):
            with pytest.raises(visits.FamilyError) as refused:
                change()
            assert refused.value.reason == "paying"
    assert len(members_of(demo, terminal)) == 2
    close(demo, order_id)
    with demo.app_context():
        assert visits.remove_member(uow(), visit_id, person_id(demo, HUANG_XIULAN))
        # the closed order's bills are not offered a new QR code for the old list
        assert terminal._visit().order_id is None
