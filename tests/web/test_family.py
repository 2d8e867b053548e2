"""Paying for others through the kiosk's screens (issue 7): add a family member, confirm, the
grouped list, one order, the receipt per person, and every refusal with its message."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import PaymentOrder, VisitMember
from tests.checkout_helpers import notify
from tests.helpers import (CHEN_JIANGUO, HUANG_XIULAN, HUANG_ZHIQIANG, HUANG_ZIHAN, LI_XIAOHONG, NOT_INSURED, WANG_DASHAN,
                           ZHANG_SAN, ZHAO_MIN, Journey, amount_text, latest_order)

NAMES = ("黄志强", "黄秀兰", "黄子涵")
NUMBERS = (HUANG_ZHIQIANG, HUANG_XIULAN, HUANG_ZIHAN)


def family(client) -> Journey:
    journey = Journey(client)
    journey.identify(HUANG_ZHIQIANG)
    journey.get("/dues")
    for number in (HUANG_XIULAN, HUANG_ZIHAN):
        response = journey.add_member(number)
        assert response.status_code == 303 and response.headers["Location"] == "/dues"
    return journey


def private(html: str) -> None:
    for secret in NAMES + NUMBERS:
        assert secret not in html


def test_the_dues_screen_offers_to_add_a_family_member(demo, client):
    journey = Journey(client)
    journey.identify(HUANG_ZHIQIANG)
    page = journey.get("/dues")
    assert re.search(r'<a class="button secondary add-member" id="add-member" href="/family/add">添加家庭成员</a>', page.text)
    keypad = journey.get("/family/add")
    assert 'id="member-heading"' in keypad.text and 'action="/family/add"' in keypad.text and 'data-keypad-for="id_number"' in keypad.text


def test_a_family_member_is_confirmed_by_masked_name_and_id_then_grouped(demo, client):
    journey = Journey(client)
    journey.identify(HUANG_ZHIQIANG)
    journey.get("/family/add")
    response = journey.post("/family/add", {"id_number": HUANG_XIULAN})
    assert response.status_code == 303 and response.headers["Location"] == "/family/confirm"  # nothing personal in the URL
    confirm = journey.get("/family/confirm")
    assert 'id="member-name">黄*兰<' in confirm.text and 'id="member-id">1101**********2621<' in confirm.text
    private(confirm.text)
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(VisitMember)) == 0  # not before Yes
    assert journey.post("/family/confirm").headers["Location"] == "/dues"
    page, bills, _ = journey.dues()
    assert len(bills) == 2
    headings = re.findall(r'class="person-name">([^<]*)</span> · <span class="person-id">([^<]*)<', page.text)
    assert headings == [("黄*强", "1101**********1510"), ("黄*兰", "1101**********2621")]
    assert page.text.index("缴费人") < page.text.index("黄*兰")  # the payer's group first, marked
    assert amount_text(page.text, "total-amount") == "¥520.00"  # 400 + 120 (70 % subsidy)
    private(page.text)


def test_no_thanks_on_the_confirm_screen_adds_nobody(demo, client):
    journey = Journey(client)
    journey.identify(HUANG_ZHIQIANG)
    journey.add_member(HUANG_XIULAN, confirm=False)
    assert journey.post("/family/cancel").headers["Location"] == "/dues"
    assert journey.get("/family/confirm").headers["Location"] == "/dues"  # nothing waits any more
    _, bills, _ = journey.dues()
    assert len(bills) == 1


@pytest.mark.parametrize("number, message", [
    (HUANG_ZHIQIANG, "这是您本人的证件号码"),
    (HUANG_XIULAN, "此人已在列表中"),
    (NOT_INSURED, "没有查到该身份证号码的参保信息"),
    ("110105198509120428", "最后一位（校验位）与前面的数字对不上"),
])
def test_the_payer_a_member_twice_an_unknown_or_invalid_number_are_refused_with_a_message(demo, client, number, message):
    journey = family(client)
    response = journey.post("/family/add", {"id_number": number})
    assert response.status_code == 422 and message in response.text
    assert 'action="/family/add"' in response.text  # still adding a member
    fragment = journey.post("/family/add", {"id_number": number}, htmx=True)
    assert fragment.status_code == 422 and fragment.text.lstrip().startswith("<form") and message in fragment.text
    _, bills, _ = journey.dues()
    assert len(bills) == 5  # nothing changed


def test_six_persons_at_most_the_seventh_is_refused_with_a_message(demo, client):
    journey = family(client)
    for number in (ZHANG_SAN, LI_XIAOHONG, WANG_DASHAN):
        journey.add_member(number)
    page = journey.get("/dues")
    assert 'id="add-member"' not in page.text and 'id="family-full"' in page.text
    refused = journey.get("/family/add")
    assert "一次缴费最多包含六人" in refused.text and 'data-keypad-for' not in refused.text
    response = journey.post("/family/add", {"id_number": ZHAO_MIN})
    assert response.status_code == 422 and "一次缴费最多包含六人" in response.text
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(VisitMember)) == 5


def test_a_member_can_be_removed_before_paying(demo, client):
    journey = family(client)
    page = journey.get("/dues")
    remove = re.findall(r'<form id="remove-(\d+)"', page.text)
    assert len(remove) == 2  # the members', not the payer's
    response = journey.post("/family/remove", {"person": remove[0]})
    assert response.headers["Location"] == "/dues"
    page, bills, _ = journey.dues()
    assert "黄*兰" not in page.text and len(bills) == 4
    assert journey.post("/family/remove", {"person": "not a number"}).headers["Location"] == "/dues"


def test_not_me_drops_the_family_too(demo, client):
    journey = family(client)
    assert journey.post("/person/not-me").headers["Location"] == "/identify"
    journey.post("/identify", {"id_number": HUANG_ZHIQIANG})
    _, bills, _ = journey.dues()
    assert len(bills) == 1
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(VisitMember)) == 0


def test_a_member_with_nothing_to_pay_keeps_their_group_with_the_reason(demo, client):
    journey = family(client)
    journey.add_member(WANG_DASHAN)  # extreme poverty: fully subsidised
    page = journey.get("/dues")
    assert "王*山" in page.text and "已由政府全额资助" in page.text


def test_one_order_and_one_qr_for_the_family_and_a_receipt_per_person(demo, client):
    journey = family(client)
    _, bills, key = journey.dues()
    assert journey.post("/pay", {"bills": bills, "key": key}).headers["Location"] == "/payment"
    with demo.app_context():
        order = latest_order()
        assert len({item.person_id for item in order.items}) == 3 and len(order.current_attempts) == 1
        total = order.total_fen
    qr = journey.get("/payment")
    assert qr.text.count('class="qr-card') == 1 and amount_text(qr.text, "order-amount") == f"¥{total / 100:,.2f}"
    notify(demo, order)
    page = journey.get("/receipt")
    insured = re.findall(r'id="insured-\d">([^<]*)<', page.text)
    assert [re.sub(r"\s+", " ", text) for text in insured] == [
        "参保人：黄*强 · 1101**********1510 （缴费人）", "参保人：黄*兰 · 1101**********2621", "参保人：黄*涵 · 1101**********1834"]
    assert page.text.count("小计") == 3
    assert amount_text(page.text, "receipt-total") == f"¥{total / 100:,.2f}"
    private(page.text)


def test_a_forged_bill_of_a_stranger_is_refused_as_a_stale_screen(demo, client):
    stranger = Journey(demo.test_client())
    stranger.identify(CHEN_JIANGUO)
    _, foreign, _ = stranger.dues()
    journey = family(client)
    _, bills, key = journey.dues()
    response = journey.post("/pay", {"bills": bills + foreign[:1], "key": key})
    assert response.status_code == 422 and "页面信息已过期" in response.text
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaymentOrder)) == 1  # the demo's counter payment only


@pytest.mark.parametrize("forged", [str(2**31), str(2**63), "9" * 30])
def test_a_bill_id_beyond_any_row_is_refused_never_a_500(demo, client, forged):
    # the family's Pay asks the database whose bills they are: a number no row can have
    # (beyond SQLite's and PostgreSQL's integers) must not reach it
    journey = family(client)
    _, bills, key = journey.dues()
    response = journey.post("/pay", {"bills": bills + [forged], "key": key})
    assert response.status_code == 303 and response.headers["Location"] == "/dues"
    assert journey.post("/dues/total", {"bills": [forged]}, htmx=True).status_code < 500
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaymentOrder)) == 1  # the demo's counter payment only


def test_no_family_screens_without_a_visit_or_during_a_payment(demo, client):
    journey = Journey(client)
    journey.get("/")
    for url in ("/family/add", "/family/confirm"):
        assert journey.get(url).headers["Location"].startswith("/?ended=1")
    journey = family(client)
    _, bills, key = journey.dues()
    journey.post("/pay", {"bills": bills, "key": key})
    assert journey.get("/family/add").headers["Location"] == "/payment"
    assert journey.post("/family/add", {"id_number": ZHANG_SAN}).headers["Location"] == "/payment"


LOW = {"LOOKUP_LIMIT_PER_VISIT": "3 per minute", "LOOKUP_LIMIT_PER_TERMINAL": "1000 per minute",
       "NOT_FOUND_LIMIT_PER_VISIT": "1000 per minute", "NOT_FOUND_LIMIT_PER_TERMINAL": "1000 per minute"}


@pytest.mark.parametrize("app_config", [LOW])
def test_adding_a_member_counts_against_the_same_look_up_limits_as_identifying(demo, client):
    journey = Journey(client)
    journey.identify(NOT_INSURED)  # one look-up
    journey.post("/identify", {"id_number": HUANG_ZHIQIANG})  # two
    assert journey.add_member(HUANG_XIULAN).headers["Location"] == "/dues"  # three
    page = journey.post("/family/add", {"id_number": HUANG_ZIHAN})
    assert page.status_code == 429 and "这里尝试的身份证号码过多" in page.text
    assert 'id="member-heading"' in page.text and 'action="/family/add"' in page.text  # still the member's keypad
    assert HUANG_ZIHAN not in page.text
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(VisitMember)) == 1


def test_removing_a_member_during_a_payment_changes_nothing(demo, client):
    journey = family(client)
    page, bills, key = journey.dues()
    remove = re.findall(r'<form id="remove-(\d+)"', page.text)
    journey.post("/pay", {"bills": bills, "key": key})
    assert journey.post("/family/remove", {"person": remove[0]}).headers["Location"] == "/payment"
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(VisitMember)) == 2
