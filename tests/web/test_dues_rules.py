"""The dues screen and the receipt under the region's rules: a shut window says when it opens,
a late enrolment shows its waiting period, the receipt lists each item's subsidy."""
import datetime as dt
import json

import pytest
from sqlalchemy import select

from kiosk.demo import RULES_FILE
from kiosk.extensions import db
from kiosk.models import Person
from kiosk.services.rules import load_rule_files
from kiosk.services.uow import UnitOfWork
from tests.helpers import LI_XIAOHONG, ZHANG_SAN, Journey, amount_text, wallet_token

DEMO = json.loads(RULES_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def sept_to_dec(demo, tmp_path):
    """The demo region with a real window: 1 September to 31 December of the year before."""
    rules = [{k: v for k, v in rule.items() if not k.startswith("window_")} for rule in DEMO["rules"]]
    path = tmp_path / "demo-region.json"
    path.write_text(json.dumps(dict(DEMO, rules=rules)), encoding="utf-8")
    with demo.app_context():
        load_rule_files(UnitOfWork(db.session), [path])
    return demo


def on(monkeypatch, day: dt.date):
    """The kiosk's screens think it is ``day`` (noon in Beijing)."""
    monkeypatch.setattr("kiosk.web.kiosk.utcnow", lambda: dt.datetime(day.year, day.month, day.day, 4, 0))


def english(journey):
    journey.post("/preferences/language", {"next": "/dues"})


def test_outside_the_window_the_dues_screen_says_when_it_opens(sept_to_dec, client, monkeypatch):
    on(monkeypatch, dt.date(2027, 1, 15))
    journey = Journey(client)
    journey.identify(ZHANG_SAN)
    page, bills, _ = journey.dues()
    assert bills == [] and 'id="nothing-due"' in page.text
    assert "2027年9月1日" in page.text and "2027年12月31日" in page.text  # the person's language: Chinese first
    english(journey)
    page, _, _ = journey.dues()
    notice = amount_text(page.text, "window-notice")
    assert "for 2028 can be paid from September 1, 2027 to December 31, 2027" in notice


def test_outside_the_window_a_family_member_says_when_it_opens_too(sept_to_dec, client, monkeypatch):
    """Paying for others: each person whose window is shut says when it opens, under their name."""
    on(monkeypatch, dt.date(2027, 1, 15))
    journey = Journey(client)
    journey.identify(ZHANG_SAN)
    journey.get("/dues")
    journey.add_member(LI_XIAOHONG)
    english(journey)
    page, _, _ = journey.dues()
    for index in (1, 2):
        assert "for 2028 can be paid from September 1, 2027" in amount_text(page.text, f"window-notice-{index}")
    assert 'id="window-notice"' not in page.text  # under each person, not once for the list


def test_inside_the_window_there_is_no_notice_and_the_year_is_payable(sept_to_dec, client, monkeypatch):
    on(monkeypatch, dt.date(2026, 12, 31))
    journey = Journey(client)
    journey.identify(ZHANG_SAN)
    page, bills, _ = journey.dues()
    assert len(bills) == 1 and 'id="window-notice"' not in page.text
    assert amount_text(page.text, "total-amount") == "¥400.00"


def test_a_late_enrolment_shows_its_waiting_period(sept_to_dec, client, monkeypatch):
    with sept_to_dec.app_context():
        zhang = db.session.scalar(select(Person).where(Person.name == "张三"))
        zhang.enrolments[0].start_date, zhang.enrolments[0].gap_years = dt.date(2026, 3, 1), 2
        db.session.commit()
    on(monkeypatch, dt.date(2026, 6, 10))  # the 2026 window shut last December
    journey = Journey(client)
    journey.identify(ZHANG_SAN)
    english(journey)
    page, bills, _ = journey.dues()
    assert len(bills) == 1
    assert "Late enrolment: medical costs are covered after a waiting period of 4 months." in page.text


def test_the_receipt_lists_each_items_subsidy(demo, client):
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(LI_XIAOHONG)
        token = wallet_token(order)
    wallet = Journey(demo.test_client())
    assert wallet.post(f"/sandbox/wallet/{token}/pay").status_code == 200
    demo.config["PROVIDER_QUERY_INTERVAL_SECONDS"] = 0
    assert journey.get("/payment").status_code == 303
    english(journey)
    receipt = journey.get("/receipt").text
    assert "<td>Subsidy</td><td>−<span class=\"money\">¥280.00</span></td>" in receipt
    assert amount_text(receipt, "receipt-total") == "¥120.00"
