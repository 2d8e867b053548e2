"""Terminals on one app (issue 8): only enrolled browsers use the kiosk's pages, a counter is a
counter only where enrolled as one, heartbeats, the printer warning, and two kiosks and a counter
on one app instance, each with its own receipts."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kiosk.domain.terminals import TerminalKind
from kiosk.extensions import db
from kiosk.models import Receipt, Terminal, Visit
from kiosk.domain.clock import local_today, utcnow
from kiosk.services import reports, staff, terminals
from kiosk.services.uow import UnitOfWork
from tests.checkout_helpers import notify
from tests.helpers import CHEN_JIANGUO, ZHANG_SAN, ZHAO_MIN, Journey
from tests.web.test_counter import identify, pay
from tests.web.test_staff import csrf_token_of, log_in, make_staff

# production's way: no terminal served by setting, every terminal an enrolled browser
ENROLLED_ONLY = {"TERMINAL_CODE": None, "COUNTER_CODE": None}


def new_terminal(app, code, kind=TerminalKind.BUREAU_KIOSK) -> str:
    """A registered terminal and a fresh one-time code for it."""
    with app.app_context():
        admin = staff.create_staff(UnitOfWork(db.session), f"admin-{code}", "Admin", "admin", "long enough password")
        terminal_id = terminals.register(UnitOfWork(db.session), code, code, kind, "Hall", "110105", admin)
        return terminals.issue_code(UnitOfWork(db.session), terminal_id, admin)


def enrol(client, code):
    page = client.get("/enrol")
    return client.post("/enrol", data={"code": code, "csrf_token": csrf_token_of(page.text)})


@pytest.mark.parametrize("app_config", [ENROLLED_ONLY])
def test_an_unenrolled_browser_cannot_open_the_kiosk_pages(demo, client):
    for path in ("/", "/identify", "/dues", "/calculator"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["Location"].endswith("/enrol"), path
    htmx = client.get("/", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].endswith("/enrol")
    assert 'id="code"' in client.get("/enrol").text
    with demo.app_context():
        assert db.session.scalar(select(Visit.id)) is None


@pytest.mark.parametrize("app_config", [ENROLLED_ONLY])
def test_a_browser_enrolled_with_a_code_is_that_kiosk(demo, client):
    code = new_terminal(demo, "HALL-07")
    wrong = enrol(client, "AAAA-AAAA")
    assert wrong.status_code == 422 and 'id="code-error"' in wrong.text
    done = enrol(client, code)
    assert done.status_code == 200 and "HALL-07" in done.text
    cookie = client.get_cookie("kiosk_terminal")
    assert cookie is not None and cookie.http_only
    journey = Journey(client)
    assert journey.get("/").status_code == 200
    journey.identify(ZHANG_SAN)
    with demo.app_context():
        visit = db.session.scalar(select(Visit))
        assert db.session.get(Terminal, visit.terminal_id).code == "HALL-07"
    # the code worked once: a second browser cannot use it
    assert enrol(demo.test_client(), code).status_code == 422


@pytest.mark.parametrize("app_config", [ENROLLED_ONLY])
def test_a_counter_is_a_counter_only_where_enrolled_as_one(demo, runner, client):
    make_staff(runner, "li.na", "cashier")
    enrol(client, new_terminal(demo, "HALL-07"))  # a kiosk
    log_in(client, "li.na")
    refused = client.get("/counter/")
    assert refused.status_code == 403 and 'id="not-a-counter"' in refused.text
    enrol(client, new_terminal(demo, "WIN-03", TerminalKind.COUNTER))
    page = client.get("/counter/")
    assert page.status_code == 200 and "WIN-03" in page.text


@pytest.mark.parametrize("app_config", [ENROLLED_ONLY])
def test_heartbeats_come_only_from_terminals_and_a_printer_out_of_paper_is_told_before_paying(demo, client):
    def beat(**form):
        token = csrf_token_of(client.get("/enrol").text)
        return client.post("/terminal/heartbeat", data=form, headers={"X-CSRFToken": token})

    assert beat().status_code == 403
    enrol(client, new_terminal(demo, "HALL-07"))
    assert beat(printer="jammed").status_code == 422
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    assert 'id="printer-notice"' not in journey.get("/dues").text
    assert beat(printer="paper_out").status_code == 204
    with demo.app_context():
        terminal = db.session.scalar(select(Terminal).where(Terminal.code == "HALL-07"))
        assert terminal.printer_status == "paper_out" and terminal.last_seen_at is not None
    assert 'id="printer-notice"' in journey.get("/dues").text
    assert beat(printer="ok").status_code == 204
    assert 'id="printer-notice"' not in journey.get("/dues").text


@pytest.mark.parametrize("app_config", [ENROLLED_ONLY])
def test_the_kiosk_page_sends_its_heartbeat(demo, client):
    enrol(client, new_terminal(demo, "HALL-07"))
    page = client.get("/")
    assert re.search(r'data-heartbeat-url="/terminal/heartbeat"', page.text)


@pytest.mark.parametrize("app_config", [ENROLLED_ONLY])
def test_two_kiosks_and_a_counter_on_one_app_each_have_their_own_receipts_and_end_of_day_lines(demo, runner):
    kiosk_a, kiosk_b, desk = demo.test_client(), demo.test_client(), demo.test_client()
    enrol(kiosk_a, new_terminal(demo, "HALL-A"))
    enrol(kiosk_b, new_terminal(demo, "BANK-B", TerminalKind.BANK_KIOSK))
    enrol(desk, new_terminal(demo, "WIN-C", TerminalKind.COUNTER))
    for client, number in ((kiosk_a, ZHAO_MIN), (kiosk_b, CHEN_JIANGUO)):
        journey = Journey(client)
        with demo.app_context():
            order = journey.pay(number)
        notify(demo, order)
        assert journey.get("/receipt").status_code == 200
    make_staff(runner, "li.na", "cashier")
    log_in(desk, "li.na")
    identify(desk, ZHANG_SAN)
    assert pay(desk, tendered="400").status_code == 303
    with demo.app_context():
        codes = sorted(db.session.scalars(select(Receipt.terminal_code).where(Receipt.terminal_code != "DEMO-01")))
        day = reports.day_report(db.session, local_today(utcnow()))
    assert codes == ["BANK-B", "HALL-A", "WIN-C"]
    # and each its own end-of-day line
    lines = {line.terminal: (line.channel, line.cashier, line.payments) for line in day.lines if line.terminal != "DEMO-01"}
    assert lines == {"HALL-A": ("sandbox", None, 1), "BANK-B": ("sandbox", None, 1), "WIN-C": ("cash", "Li Na", 1)}


def test_the_dashboard_lists_terminals_for_supervisors_and_only_admins_register(demo, runner, client):
    make_staff(runner, "boss", "supervisor")
    make_staff(runner, "root", "admin")
    log_in(client, "boss")
    assert client.get("/admin/terminals").status_code == 200
    page = client.get("/admin/terminals")
    assert 'id="register-form"' not in page.text
    refused = client.post("/admin/terminals", data={"csrf_token": csrf_token_of(page.text), "code": "X-1", "kind": "counter"})
    assert refused.status_code == 403
    client.post("/staff/logout", data={"csrf_token": csrf_token_of(page.text)})
    log_in(client, "root")
    page = client.get("/admin/terminals")
    made = client.post("/admin/terminals", data={"csrf_token": csrf_token_of(page.text), "code": "bank-09", "name": "Bank lobby",
                                                 "kind": "bank_kiosk", "location": "ICBC", "region": "110105"})
    assert made.status_code == 303
    page = client.get("/admin/terminals")
    assert 'id="terminal-BANK-09"' in page.text
    with demo.app_context():
        terminal_id = db.session.scalar(select(Terminal.id).where(Terminal.code == "BANK-09"))
    coded = client.post(f"/admin/terminals/{terminal_id}/code", data={"csrf_token": csrf_token_of(page.text)})
    code = re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}", coded.text.split('id="new-code"')[1]).group(0)
    assert enrol(demo.test_client(), code).status_code == 200
    taken = client.post("/admin/terminals", data={"csrf_token": csrf_token_of(page.text), "code": "BANK-09", "kind": "bank_kiosk"})
    assert taken.status_code == 422 and 'id="terminal-error"' in taken.text


@pytest.mark.parametrize("app_config", [ENROLLED_ONLY])
def test_a_refund_is_asked_at_a_counter_and_approved_from_a_back_office_that_is_none(demo, runner, client):
    make_staff(runner, "li.na", "cashier")
    make_staff(runner, "wang", "supervisor")
    desk, back_office = client, demo.test_client()
    enrol(desk, new_terminal(demo, "WIN-C", TerminalKind.COUNTER))
    log_in(desk, "li.na")
    identify(desk, ZHANG_SAN)
    receipt = re.search(r'id="receipt-number">([^<]+)<', desk.get(pay(desk, tendered="400").headers["Location"]).text).group(1)
    log_in(back_office, "wang")
    page = back_office.get(f"/staff/refunds/new?receipt={receipt}")
    refused = back_office.post("/staff/refunds/new", data={"csrf_token": csrf_token_of(page.text), "receipt": receipt,
                                                           "kind": "refund", "reason": "wrong year"})
    assert refused.status_code == 422 and 'id="refund-error"' in refused.text
    page = desk.get(f"/staff/refunds/new?receipt={receipt}")
    asked = desk.post("/staff/refunds/new", data={"csrf_token": csrf_token_of(page.text), "receipt": receipt, "kind": "refund",
                                                  "reason": "wrong year"})
    assert asked.status_code == 303
    listing = back_office.get("/staff/refunds/")
    request_id = re.search(r'id="approve-(\d+)"', listing.text).group(1)
    approved = back_office.post(f"/staff/refunds/{request_id}/approve", data={"csrf_token": csrf_token_of(listing.text)})
    assert approved.status_code == 303
    with demo.app_context():
        from kiosk.models import RefundRequest

        assert db.session.scalar(select(RefundRequest.state)) == "done"


@pytest.mark.parametrize("app_config", [ENROLLED_ONLY])
def test_enrolment_codes_cannot_be_guessed_quickly(demo, client):
    code = new_terminal(demo, "HALL-07")
    answers = [enrol(client, f"AAAA-AA{n:02d}").status_code for n in range(10)]
    assert answers == [422] * 10
    refused = enrol(client, code)  # even the right code waits: the tries from here are used up
    assert refused.status_code == 429 and 'id="code-error"' in refused.text
    assert client.get_cookie("kiosk_terminal") is None
