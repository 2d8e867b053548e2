"""The refund pages (issue 8): asking with a reason, the supervisor's decision, the role rules."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import RefundRequest
from tests.helpers import ZHANG_SAN, amount_text
from tests.web.test_counter import identify, pay, post
from tests.web.test_staff import csrf_token_of, log_in, make_staff


@pytest.fixture
def paid_receipt(demo, runner, client):
    """A cash payment taken by the cashier li.na: its receipt number."""
    for username, role in (("li.na", "cashier"), ("wang", "supervisor"), ("zhao", "supervisor")):
        assert make_staff(runner, username, role).exit_code == 0
    log_in(client, "li.na")
    post(client, "/counter/float", {"amount": "100"})
    identify(client, ZHANG_SAN)
    page = client.get(pay(client, tendered="400").headers["Location"])
    return amount_text(page.text, "receipt-number")


def ask(client, receipt, **fields):
    page = client.get(f"/staff/refunds/new?receipt={receipt}")
    data = {"csrf_token": csrf_token_of(page.text), "receipt": receipt, "kind": "refund", "amount": "", **fields}
    return client.post("/staff/refunds/new", data=data)


def switch_to(client, username):
    client.post("/staff/logout", data={"csrf_token": csrf_token_of(client.get("/staff/").text)})
    log_in(client, username)


def request_state(app) -> str:
    with app.app_context():
        return db.session.scalar(select(RefundRequest.state))


def test_the_ask_page_shows_what_can_be_refunded(paid_receipt, client):
    page = client.get(f"/staff/refunds/new?receipt={paid_receipt}")
    assert page.status_code == 200 and amount_text(page.text, "refundable") == "¥400.00"
    assert page.headers["Cache-Control"] == "no-store"


def test_an_unknown_receipt_number_is_said_plainly(paid_receipt, client):
    page = client.get("/staff/refunds/new?receipt=R000")
    assert page.status_code == 404 and 'id="refund-error"' in page.text


@pytest.mark.parametrize("fields, error_id", [
    ({"reason": ""}, "reason-error"),
    ({"reason": "x", "amount": "400.01"}, "amount-error"),
    ({"reason": "x", "amount": "abc"}, "amount-error"),
    ({"reason": "x", "kind": "steal"}, "kind-error"),
])
def test_a_request_the_rules_refuse_is_said_on_its_field_and_writes_nothing(app, paid_receipt, client, fields, error_id):
    response = ask(client, paid_receipt, **fields)
    assert response.status_code == 422 and f'id="{error_id}"' in response.text
    assert request_state(app) is None


def test_a_cashier_asks_and_cannot_decide(app, paid_receipt, client):
    assert ask(client, paid_receipt, reason="wrong year").status_code == 303
    listing = client.get("/staff/refunds/")
    request_id = int(re.search(r'id="request-(\d+)"', listing.text).group(1))
    assert f'id="approve-{request_id}"' not in listing.text
    refused = post(client, f"/staff/refunds/{request_id}/approve")
    assert refused.status_code == 403
    assert request_state(app) == "requested"


def test_a_supervisor_cannot_approve_their_own_request_but_another_can(app, paid_receipt, client):
    switch_to(client, "wang")
    ask(client, paid_receipt, reason="wrong year")
    with app.app_context():
        request_id = db.session.scalar(select(RefundRequest.id))
    listing = client.get("/staff/refunds/")
    assert f'id="approve-{request_id}"' not in listing.text
    own = post(client, f"/staff/refunds/{request_id}/approve")
    assert own.status_code == 422 and 'id="refund-error"' in own.text
    assert request_state(app) == "requested"
    switch_to(client, "zhao")
    assert post(client, f"/staff/refunds/{request_id}/approve").status_code == 303
    assert request_state(app) == "done"
    assert amount_text(client.get("/counter/").text, "drawer-balance") == "¥100.00"


def test_a_rejection_is_recorded(app, paid_receipt, client):
    ask(client, paid_receipt, reason="wrong year")
    with app.app_context():
        request_id = db.session.scalar(select(RefundRequest.id))
    switch_to(client, "wang")
    assert post(client, f"/staff/refunds/{request_id}/reject").status_code == 303
    assert request_state(app) == "rejected"
