"""The counter's pages (issue 8): who may use them, the citizen looked up with the kiosk's rules
and messages, a cash or card payment taken, the receipt printed once and reprints marked."""
from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import select

from kiosk.domain.idnumber import IdProblem
from kiosk.web.messages import ID_PROBLEMS, PERSON_NOT_FOUND

from kiosk.extensions import db
from kiosk.models import AuditEntry, Receipt
from tests.helpers import HUANG_XIULAN, HUANG_ZHIQIANG, NOT_INSURED, ZHANG_SAN, amount_text
from tests.web.test_staff import csrf_token_of, log_in, make_staff


@pytest.fixture
def cashier(demo, runner, client):
    assert make_staff(runner, "li.na", "cashier").exit_code == 0
    log_in(client, "li.na")
    return client


def post(client, url, data=None, htmx=False):
    page = client.get("/counter/")
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data={"csrf_token": csrf_token_of(page.text), **(data or {})}, headers=headers)


def identify(client, number):
    return post(client, "/counter/identify", {"id_number": number})


def bills_and_key(html: str):
    bills = re.findall(r'name="bills" value="(\d+)"', html)
    key = re.search(r'name="key" type="hidden" value="([^"]*)"', html).group(1)
    return bills, key


def pay(client, **fields):
    page = client.get("/counter/")
    bills, key = bills_and_key(page.text)
    data = {"bills": bills, "key": key, "method": "cash", "csrf_token": csrf_token_of(page.text), **fields}
    return client.post("/counter/pay", data=data)


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_nobody_logged_in_is_sent_to_the_staff_log_in(demo, client):
    response = client.get("/counter/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert client.post("/counter/identify", data={"id_number": ZHANG_SAN}).status_code in (302, 400)


def test_an_administrator_does_not_take_payments(demo, runner, client):
    make_staff(runner, "boss", "admin")
    log_in(client, "boss")
    response = client.get("/counter/")
    assert response.status_code == 403 and 'id="forbidden"' in response.text


def test_a_post_without_its_csrf_token_is_refused(cashier):
    response = cashier.post("/counter/identify", data={"id_number": ZHANG_SAN})
    assert response.status_code == 400
    assert "counter_visit" not in str(cashier.get_cookie("session"))


@pytest.mark.parametrize("number, message", [
    ("11010519900307013", ID_PROBLEMS[IdProblem.LENGTH]),  # one character short
    ("110105199003070130", ID_PROBLEMS[IdProblem.CHECKSUM]),
    (NOT_INSURED, PERSON_NOT_FOUND),
])
def test_a_bad_or_unknown_id_number_is_said_on_the_field_and_changes_nothing(demo, app, cashier, number, message):
    """The kiosk's rules and messages, in the cashier's language (Chinese first)."""
    response = identify(cashier, number)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    with app.test_request_context(), force_locale("zh"):
        assert amount_text(response.text, "id-error") == str(escape(str(message)))
    assert "counter.identify" not in audit_actions(app)


def test_the_cashier_sees_the_citizen_masked_and_takes_cash_with_change(demo, app, cashier):
    assert identify(cashier, ZHANG_SAN).status_code == 303
    page = cashier.get("/counter/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert ZHANG_SAN not in page.text and "1101**********013X" in page.text and "张*" in page.text
    assert amount_text(page.text, "due-total") == "¥400.00"
    short = pay(cashier, tendered="399.99")
    assert short.status_code == 422 and 'id="tendered-error"' in short.text
    done = pay(cashier, tendered="500")
    assert done.status_code == 303
    receipt_page = cashier.get(done.headers["Location"])
    assert amount_text(receipt_page.text, "change") == "¥100.00"
    assert 'data-auto-print="1"' in receipt_page.text and 'id="receipt-reprint"' not in receipt_page.text
    assert "Counter" in amount_text(receipt_page.text, "receipt-channel") or "柜台" in amount_text(receipt_page.text, "receipt-channel")
    # a reload does not print again
    assert 'data-auto-print' not in cashier.get(done.headers["Location"]).text
    assert amount_text(cashier.get("/counter/").text, "drawer-balance") == "¥400.00"
    assert audit_actions(app)[-2:] == ["counter.identify", "counter.payment"]


def test_a_reprint_is_marked_counted_and_audited(demo, app, cashier):
    identify(cashier, ZHANG_SAN)
    location = pay(cashier, method="pos_card", reference="POS 123 456").headers["Location"]
    order_id = int(location.rsplit("/", 1)[1])
    cashier.get(location)
    reprint = post(cashier, f"/counter/payments/{order_id}/reprint")
    assert reprint.status_code == 200 and 'id="receipt-reprint"' in reprint.text
    with app.app_context():
        assert db.session.scalar(select(Receipt.print_count).where(Receipt.order_id == order_id)) == 2
    assert audit_actions(app)[-1] == "receipt.reprint"
    assert amount_text(reprint.text, "pos-reference") == "POS123456"


def test_a_card_payment_without_a_reference_is_refused_on_its_field(demo, cashier):
    identify(cashier, ZHANG_SAN)
    response = pay(cashier, method="pos_card", reference="")
    assert response.status_code == 422 and 'id="reference-error"' in response.text


def test_an_unknown_method_is_refused(demo, cashier):
    identify(cashier, ZHANG_SAN)
    response = pay(cashier, method="bitcoin")
    assert response.status_code == 422 and 'id="method-error"' in response.text


def test_the_total_follows_the_ticks_as_a_fragment(demo, cashier):
    identify(cashier, HUANG_ZHIQIANG)
    post(cashier, "/counter/family", {"member-id_number": HUANG_XIULAN})
    page = cashier.get("/counter/")
    bills, key = bills_and_key(page.text)
    assert len(bills) == 2 and amount_text(page.text, "due-total") == "¥520.00"
    fragment = cashier.post("/counter/total", data={"bills": bills[1:], "key": key, "csrf_token": csrf_token_of(page.text)},
                            headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert amount_text(fragment.text, "due-total") == "¥120.00"
    assert fragment.headers["Vary"] == "HX-Request" or "HX-Request" in fragment.headers["Vary"]


def test_another_counters_payment_is_not_shown_here(demo, app, cashier):
    identify(cashier, ZHANG_SAN)
    location = pay(cashier, tendered="400").headers["Location"]
    app.config["COUNTER_CODE"] = "COUNTER-02"
    assert cashier.get(location).status_code == 404


def test_next_customer_destroys_the_citizen_on_the_server(demo, app, cashier):
    identify(cashier, ZHANG_SAN)
    from kiosk.models import Visit

    with app.app_context():
        assert db.session.scalar(select(Visit.id).where(Visit.person_id.is_not(None))) is not None
    assert post(cashier, "/counter/next").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Visit.id).where(Visit.person_id.is_not(None))) is None
    assert 'id="id_number"' in cashier.get("/counter/").text


def test_a_float_is_typed_in_yuan(demo, cashier):
    assert post(cashier, "/counter/float", {"amount": "200"}).status_code == 303
    assert amount_text(cashier.get("/counter/").text, "drawer-balance") == "¥200.00"
    refused = post(cashier, "/counter/float", {"amount": "-5"})
    assert refused.status_code == 422 and 'id="float-error"' in refused.text


def test_a_qr_payment_at_the_counter_shows_on_the_customer_display_until_paid(demo, app, cashier):
    from kiosk.models import PaymentOrder
    from tests.checkout_helpers import notify

    assert 'id="display-welcome"' in cashier.get("/counter/display").text
    identify(cashier, ZHANG_SAN)
    assert pay(cashier, method="qr").headers["Location"].endswith("/counter/qr")
    waiting = cashier.get("/counter/qr")
    assert waiting.status_code == 200 and 'id="qr-waiting"' in waiting.text
    shown = cashier.get("/counter/display")
    assert amount_text(shown.text, "display-amount") == "¥400.00" and "<svg" in shown.text
    assert ZHANG_SAN not in shown.text
    # the display's poll is a fragment that owns its target
    fragment = cashier.get("/counter/display", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith(("{%", "<section")) and "<html" not in fragment.text
    with app.app_context():
        order = db.session.scalar(select(PaymentOrder).order_by(PaymentOrder.id.desc()))
        order_id = order.id
        assert order.staff_id is not None and order.terminal.code == "COUNTER-01"
        assert notify(app, order).text == "success"
    # the cashier's page follows it to the receipt; the display says paid
    polled = cashier.get("/counter/qr", headers={"HX-Request": "true"})
    assert polled.headers.get("HX-Redirect", "").endswith(f"/counter/payments/{order_id}")
    receipt_page = cashier.get(f"/counter/payments/{order_id}")
    assert 'id="paid-by-qr"' in receipt_page.text
    assert 'id="display-paid"' in cashier.get("/counter/display").text
    post(cashier, "/counter/next")
    assert 'id="display-welcome"' in cashier.get("/counter/display").text


def test_a_qr_at_the_counter_can_be_cancelled_and_nothing_is_charged(demo, app, cashier):
    identify(cashier, ZHANG_SAN)
    pay(cashier, method="qr")
    assert post(cashier, "/counter/qr/cancel").status_code == 303
    page = cashier.get("/counter/")
    assert amount_text(page.text, "due-total") == "¥400.00"  # due again, the QR closed
    assert 'id="display-welcome"' in cashier.get("/counter/display").text


def test_a_cashier_prints_an_a4_certificate_that_verifies(demo, app, cashier):
    from kiosk.models import Certificate
    from tests.helpers import SUN_LI

    identify(cashier, SUN_LI)
    home = cashier.get("/counter/")
    choice = re.search(r'<option value="(\d{4}:\w+)"', home.text).group(1)
    page = post(cashier, "/counter/certificate", {"choice": choice})
    assert page.status_code == 200
    assert 'class="receipt certificate a4"' in page.text and 'data-auto-print="1"' in page.text
    code = re.search(r'id="certificate-code">(\w+)<', page.text).group(1)
    with app.app_context():
        certificate = db.session.scalar(select(Certificate))
        assert (certificate.year, certificate.scheme, certificate.total_fen) == (int(choice[:4]), choice[5:], 40000)
        assert certificate.staff_id is not None
    assert audit_actions(app)[-1] == "certificate.issue"
    assert app.test_client().get(f"/verify/{code}").status_code == 200
    # a year and scheme with nothing paid: a message, no certificate
    for choice in ("1999:resident_medical", "²:resident_medical", "9" * 5000 + ":x", ""):
        refused = post(cashier, "/counter/certificate", {"choice": choice})
        assert refused.status_code == 422, choice[:20]
    with app.app_context():
        assert db.session.query(Certificate).count() == 1


def test_a_cashier_registers_a_citizens_phone_and_the_kiosk_sends_codes_there(demo, app, cashier):
    from kiosk.models import Person, SandboxSms
    from tests.helpers import Journey

    zheng_kai = "110105196210081057"  # the demo person with no phone
    identify(cashier, zheng_kai)
    page = cashier.get("/counter/")
    assert 'id="phone-now"' in page.text
    for typed in ("12345", "23800138000", "1380013800x", "１３８"):
        refused = post(cashier, "/counter/phone", {"phone": typed})
        assert refused.status_code == 422 and 'id="phone-error"' in refused.text, typed
    with app.app_context():
        assert db.session.scalar(select(Person.phone).where(Person.name == "郑凯")) is None
    assert post(cashier, "/counter/phone", {"phone": "+86 139-0000-1234"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Person.phone).where(Person.name == "郑凯")) == "13900001234"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.phone"))
        assert entry.before["phone"] is None and entry.after["phone"] == "139****1234"  # masked in the log
    assert "139****1234" in cashier.get("/counter/").text and "13900001234" not in cashier.get("/counter/").text

    kiosk = Journey(app.test_client())
    kiosk.get("/")
    kiosk.post("/records/start")
    kiosk.post("/records/identify", {"id_number": zheng_kai})
    assert kiosk.post("/records/code/send").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(SandboxSms.phone)) == "13900001234"
