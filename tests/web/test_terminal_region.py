"""A terminal stands in the region of its setting (KIOSK_TERMINAL_REGION) and its dues follow that
region's rules, not the region of the person's ID number."""
import json

import pytest

from kiosk.extensions import db
from kiosk.models import Terminal
from kiosk.services.rules import load_rule_files
from kiosk.services.uow import UnitOfWork
from tests.helpers import ZHANG_SAN, Journey, amount_text

OTHER = {"region": {"code": "110106", "name": "Other", "agency_name": "Other agency"},
         "rules": [{"scheme": "resident_medical", "valid_from": "2024-01-01", "flat_fen": 50000,
                    "window_closes": "08-31", "window_closes_year": 0}]}


@pytest.fixture
def app_config():
    return {"TERMINAL_REGION": "110106", "TERMINAL_CODE": "OTHER-01"}


def test_the_terminals_region_prices_the_dues(demo, client, tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps(OTHER), encoding="utf-8")
    with demo.app_context():
        load_rule_files(UnitOfWork(db.session), [path])
    journey = Journey(client)
    journey.identify(ZHANG_SAN)  # a person of region 110105
    page, bills, _ = journey.dues()
    assert len(bills) == 1 and amount_text(page.text, "total-amount") == "¥500.00"
    with demo.app_context():
        terminal = db.session.query(Terminal).filter_by(code="OTHER-01").one()
        assert terminal.region.code == "110106"


def test_the_receipt_names_the_agency_of_the_region_whose_rules_priced_it(demo, client, tmp_path):
    """The terminal's region priced the bills, so its agency collects them, not the agency of the
    payer's own region (a family member may come from yet another one)."""
    from kiosk.domain.orders import Source
    from kiosk.services.settlement import record_payment

    path = tmp_path / "other.json"
    path.write_text(json.dumps(OTHER), encoding="utf-8")
    with demo.app_context():
        load_rule_files(UnitOfWork(db.session), [path])
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHANG_SAN)
        record_payment(UnitOfWork(db.session), order.attempts[0].id, trade_no="T-1", amount_fen=order.total_fen,
                       source=Source.POLL)
        db.session.expire_all()
        assert db.session.get(type(order), order.id).receipt.agency_name == "Other agency"
