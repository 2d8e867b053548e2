"""My payment records at the kiosk (issue 9): proving who you are by SMS code or ID-card reader,
the records by year and scheme, reprints, certificates and /verify/<code>."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from kiosk.domain import otp as otp_rules
from kiosk.extensions import db
from kiosk.models import Certificate, OtpChallenge, Receipt, SandboxSms, Visit
from kiosk.sms import SmsError, SmsThrottled, SmsUncertain
from tests.helpers import SUN_LI, ZHAO_MIN, Journey, csrf_token

ZHENG_KAI = "110105196210081057"  # the demo person with no registered phone
CODE = re.compile(r"验证码为(\d{6})")


def english(journey: Journey) -> None:
    journey.post("/preferences/language", {"next": "/"})


def records_identify(journey: Journey, number: str, name: str | None = None):
    journey.get("/")
    journey.post("/records/start")
    journey.get("/records/identify")
    data = {"id_number": number}
    if name is not None:
        data["name"] = name
    return journey.post("/records/identify", data)


def sent_codes(app) -> list[str]:
    with app.app_context():
        return [CODE.search(text).group(1) for text in db.session.scalars(select(SandboxSms.text).order_by(SandboxSms.id))]


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def proven_by_sms(journey: Journey, app, number: str = SUN_LI):
    records_identify(journey, number)
    assert journey.post("/records/code/send").headers["Location"].endswith("/records/code")
    return journey.post("/records/code", {"code": sent_codes(app)[-1]})


def test_a_code_by_sms_opens_the_records_and_only_the_masked_phone_is_shown(demo, client):
    journey = Journey(client)
    english(journey)
    assert records_identify(journey, SUN_LI).headers["Location"].endswith("/records/prove")
    prove = journey.get("/records/prove")
    assert "138****0007" in prove.text and "13800130007" not in prove.text
    # the records are not shown before the code
    assert journey.get("/records/").headers["Location"].endswith("/?ended=1")

    assert journey.post("/records/code/send").status_code == 303
    codes = sent_codes(demo)
    assert len(codes) == 1
    with demo.app_context():
        stored = db.session.scalar(select(OtpChallenge.code_hash))
    assert codes[0] not in stored and len(stored) == 64  # only a keyed hash is kept

    page = journey.get("/records/code")
    assert "138****0007" in page.text and "13800130007" not in page.text
    done = journey.post("/records/code", {"code": codes[0]})
    assert done.status_code == 303 and done.headers["Location"].endswith("/records/")
    records = journey.get("/records/")
    assert records.status_code == 200
    assert records.headers["Cache-Control"] == "no-store"
    text = text_of(records.text)
    assert "孙*" in text and "1101**********0726" in text and "孙丽" not in text and SUN_LI not in text
    assert "Urban and rural resident medical insurance" in text and "¥400.00" in text
    assert "12 months, ¥400.00" in text  # the year's total
    assert "Counter" in text  # the demo's counter payment is among them
    assert re.search(r'id="years-resident_medical">1 years? 0 months?', records.text)


def test_wrong_codes_cost_tries_and_the_fifth_spends_the_code(demo, client):
    journey = Journey(client)
    english(journey)
    records_identify(journey, SUN_LI)
    journey.post("/records/code/send")
    right = sent_codes(demo)[0]
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1):
        page = journey.post("/records/code", {"code": wrong})
        assert page.status_code == 422
        assert f"You can try {left} more times" in page.text
    assert "can no longer be used" in journey.post("/records/code", {"code": wrong}).text
    # the right code no longer helps: a new one must be asked for
    spent = journey.post("/records/code", {"code": right})
    assert spent.status_code == 422 and "can no longer be used" in spent.text
    assert journey.get("/records/").status_code == 303


def test_a_malformed_code_costs_no_try(demo, client):
    journey = Journey(client)
    english(journey)
    records_identify(journey, SUN_LI)
    journey.post("/records/code/send")
    page = journey.post("/records/code", {"code": "12a"})
    assert page.status_code == 422 and "The code has 6 digits" in page.text
    with demo.app_context():
        assert db.session.scalar(select(OtpChallenge.tries)) == 0


def test_a_code_expires_after_five_minutes(demo, client):
    journey = Journey(client)
    english(journey)
    records_identify(journey, SUN_LI)
    journey.post("/records/code/send")
    with demo.app_context():
        challenge = db.session.scalar(select(OtpChallenge))
        challenge.sent_at -= otp_rules.VALID_FOR + dt.timedelta(seconds=1)
        db.session.commit()
    page = journey.post("/records/code", {"code": sent_codes(demo)[0]})
    assert page.status_code == 422 and "This code has expired" in page.text
    assert journey.get("/records/").status_code == 303


def test_codes_to_one_person_are_limited_and_the_limit_says_until_when(demo, client):
    journey = Journey(client)
    english(journey)
    records_identify(journey, SUN_LI)
    limit = otp_rules.PER_PERSON[0]
    for _ in range(limit):
        assert journey.post("/records/code/send").status_code == 303
    refused = journey.post("/records/code/send")
    assert refused.status_code == 429
    assert "Too many codes were sent. Please wait until" in refused.text
    assert len(sent_codes(demo)) == limit
    # another visit (a new session at the same kiosk) does not escape the person's limit
    other = Journey(demo.test_client())
    english(other)
    records_identify(other, SUN_LI)
    assert other.post("/records/code/send").status_code == 429
    assert len(sent_codes(demo)) == limit


def test_a_new_code_replaces_the_one_before(demo, client):
    journey = Journey(client)
    records_identify(journey, SUN_LI)
    journey.post("/records/code/send")
    journey.post("/records/code/send")
    first, second = sent_codes(demo)
    if first != second:
        assert journey.post("/records/code", {"code": first}).status_code == 422
    assert journey.post("/records/code", {"code": second}).status_code == 303


@pytest.mark.parametrize("error, words", [
    (SmsThrottled("isv.BUSINESS_LIMIT_CONTROL"), "The SMS service is busy for this number"),
    (SmsError("isv.AMOUNT_NOT_ENOUGH"), "The code could not be sent just now"),
])
def test_a_gateway_that_refuses_is_explained_and_the_refusal_does_not_count(demo, client, monkeypatch, error, words):
    gateway = demo.extensions["kiosk_sms"]

    def refuse(phone, code):
        raise error

    monkeypatch.setattr(gateway, "send_code", refuse)
    journey = Journey(client)
    english(journey)
    records_identify(journey, SUN_LI)
    page = journey.post("/records/code/send")
    assert page.status_code in (422, 429)
    assert words in page.text and "isv." not in page.text  # the provider's words are for the log, not the citizen
    with demo.app_context():
        assert db.session.scalar(select(func.count(OtpChallenge.id))) == 0


def test_a_gateway_that_cannot_say_whether_it_sent_keeps_the_code_and_counts_it(demo, client, monkeypatch):
    gateway = demo.extensions["kiosk_sms"]
    delivered = []

    def no_answer(phone, code):
        delivered.append(code)  # the provider had it, and the phone may get it
        raise SmsUncertain("aliyun: no usable answer (ReadTimeout)")

    monkeypatch.setattr(gateway, "send_code", no_answer)
    journey = Journey(client)
    records_identify(journey, SUN_LI)
    response = journey.post("/records/code/send")
    assert response.status_code == 303 and response.headers["Location"].endswith("/records/code")
    with demo.app_context():
        assert db.session.scalar(select(func.count(OtpChallenge.id))) == 1  # counts against the limits
    assert journey.post("/records/code", {"code": delivered[0]}).status_code == 303
    assert journey.get("/records/").status_code == 200


def test_names_tried_against_a_number_count_as_misses(demo, client):
    journey = Journey(client)
    english(journey)
    assert records_identify(journey, SUN_LI, name="张三").status_code == 422
    for name in ("李四", "王五"):  # the same visit tries more names
        assert journey.post("/records/identify", {"id_number": SUN_LI, "name": name}).status_code == 422
    refused = journey.post("/records/identify", {"id_number": SUN_LI, "name": "孙丽"})
    assert refused.status_code == 429 and "Too many ID numbers were tried here" in refused.text
    with demo.app_context():
        assert db.session.scalar(select(Visit.proven_by)) is None


def test_a_receipt_id_no_row_can_have_changes_nothing(demo, client):
    journey = Journey(client)
    records_identify(journey, SUN_LI, name="孙丽")
    for value in ("99999999999", "-1", "abc", ""):
        response = journey.post("/records/reprint", {"receipt": value})
        assert response.status_code == 303 and response.headers["Location"].endswith("/records/"), value


def test_a_person_without_a_registered_phone_is_told_to_use_the_card(demo, client):
    journey = Journey(client)
    english(journey)
    records_identify(journey, ZHENG_KAI)
    page = journey.get("/records/prove")
    assert 'id="no-phone"' in page.text and 'id="send-code"' not in page.text
    refused = journey.post("/records/code/send")
    assert refused.status_code == 422 and "No mobile number is registered for you" in refused.text
    assert sent_codes(demo) == []


def test_the_id_card_reader_types_the_name_and_that_proves_it(demo, client):
    journey = Journey(client)
    response = records_identify(journey, SUN_LI, name=" 孙丽 ")
    assert response.status_code == 303 and response.headers["Location"].endswith("/records/")
    assert journey.get("/records/").status_code == 200
    assert sent_codes(demo) == []  # no SMS needed


def test_a_card_whose_name_is_not_the_persons_proves_nothing(demo, client):
    journey = Journey(client)
    english(journey)
    page = records_identify(journey, SUN_LI, name="赵敏")
    assert page.status_code == 422
    assert "The name read from this ID card is not the name registered for this number" in page.text
    with demo.app_context():
        visit = db.session.scalar(select(Visit))
        assert visit.person_id is None and visit.proven_by is None
    assert journey.get("/records/").status_code == 303


def test_a_code_sent_for_one_person_does_not_prove_another(demo, client):
    """Found by review: identify as yourself, ask for a code on your own phone, identify again
    as someone else and type your code: their records must stay closed."""
    journey = Journey(client)
    records_identify(journey, ZHAO_MIN)
    assert journey.post("/records/code/send").status_code == 303
    mine = sent_codes(demo)[-1]
    journey.get("/records/identify")
    journey.post("/records/identify", {"id_number": SUN_LI})
    assert journey.post("/records/code", {"code": mine}).status_code == 422
    assert journey.get("/records/").status_code == 303
    with demo.app_context():
        assert db.session.scalar(select(Visit.proven_by)) is None


def test_the_proof_ends_with_the_visit_and_with_a_change_of_person(demo, client):
    journey = Journey(client)
    records_identify(journey, SUN_LI, name="孙丽")
    assert journey.get("/records/").status_code == 200
    journey.post("/done")
    assert journey.get("/records/").status_code == 303
    # a proven visit whose person changes (identify again) is not proven for the new person
    records_identify(journey, SUN_LI, name="孙丽")
    journey.get("/records/identify")
    journey.post("/records/identify", {"id_number": ZHAO_MIN})
    assert journey.get("/records/").status_code == 303


def test_any_receipt_can_be_reprinted_from_the_records_marked_as_a_reprint(demo, client):
    journey = Journey(client)
    english(journey)
    proven_by_sms(journey, demo)
    records = journey.get("/records/")
    receipt_id = int(re.search(r'name="receipt" value="(\d+)"', records.text).group(1))
    with demo.app_context():
        before = db.session.get(Receipt, receipt_id).print_count
    page = journey.post("/records/reprint", {"receipt": receipt_id})
    assert page.status_code == 200
    assert 'id="receipt-reprint"' in page.text and "REPRINT" in page.text
    assert 'data-auto-print="1"' in page.text
    with demo.app_context():
        assert db.session.get(Receipt, receipt_id).print_count == before + 1


def test_a_receipt_of_someone_else_cannot_be_reprinted_from_my_records(demo, client):
    # 孙丽 has a receipt; 赵敏 proves who she is and asks for 孙丽's by its id
    with demo.app_context():
        other_receipt = db.session.scalar(select(Receipt.id))
        count = db.session.get(Receipt, other_receipt).print_count
    journey = Journey(client)
    records_identify(journey, ZHAO_MIN, name="赵敏")
    response = journey.post("/records/reprint", {"receipt": other_receipt})
    assert response.status_code == 303 and response.headers["Location"].endswith("/records/")
    with demo.app_context():
        assert db.session.get(Receipt, other_receipt).print_count == count


def test_a_certificate_states_the_years_payments_and_verifies_on_a_phone(demo, client):
    journey = Journey(client)
    english(journey)
    proven_by_sms(journey, demo)
    records = journey.get("/records/")
    year, scheme = re.search(r'name="year" value="(\d+)"><input type="hidden" name="scheme" value="(\w+)"', records.text).groups()
    page = journey.post("/records/certificate", {"year": year, "scheme": scheme})
    assert page.status_code == 200 and 'data-auto-print="1"' in page.text
    assert re.search(r'id="certificate-total">.*?¥400\.00', page.text, re.S)
    code = re.search(r'id="certificate-code">(\w+)<', page.text).group(1)
    url = re.search(r'data-verify-url="([^"]+)"', page.text).group(1)
    assert url == f"http://localhost/verify/{code}"  # PUBLIC_BASE_URL, never the request's Host
    assert "<svg" in page.text
    with demo.app_context():
        certificate = db.session.scalar(select(Certificate))
        assert (certificate.total_fen, certificate.months, certificate.year) == (40000, 12, int(year))

    phone = Journey(demo.test_client())  # anyone's phone: no visit, no terminal
    english(phone)
    verified = phone.get(f"/verify/{code}")
    assert verified.status_code == 200
    text = text_of(verified.text)
    assert "Genuine payment certificate" in text and "孙*" in text and "¥400.00" in text and "孙丽" not in text
    assert f"{year}-01-01 – {year}-12-31" in text  # the period: an annual premium covers the year
    assert verified.headers["Cache-Control"] == "no-store"


def test_an_altered_or_invented_code_does_not_verify(demo, client):
    journey = Journey(client)
    proven_by_sms(journey, demo)
    records = journey.get("/records/")
    year, scheme = re.search(r'name="year" value="(\d+)"><input type="hidden" name="scheme" value="(\w+)"', records.text).groups()
    code = re.search(r'id="certificate-code">(\w+)<', journey.post("/records/certificate", {"year": year, "scheme": scheme}).text).group(1)
    phone = demo.test_client()
    assert phone.get(f"/verify/{code.lower()}").status_code == 200  # typed from the paper in any case
    for position in (1, 8, len(code) - 3):
        altered = code[:position] + ("Z" if code[position] != "Z" else "Y") + code[position + 1:]
        page = phone.get(f"/verify/{altered}")
        assert page.status_code == 404 and 'id="verdict"' in page.text and "Genuine" not in page.text
    assert phone.get("/verify/R" + "0" * 29).status_code == 404
    assert phone.get("/verify/x").status_code == 404


def test_the_success_screen_carries_the_electronic_receipts_qr_code(demo, client):
    page = Journey(client).paid_receipt(demo, ZHAO_MIN)
    url = re.search(r'id="receipt-qr" data-verify-url="([^"]+)"', page.text).group(1)
    assert url.startswith("http://localhost/verify/R")
    number = re.search(r'id="receipt-number">(\w+)<', page.text).group(1)
    phone = demo.test_client()
    receipt = phone.get(url.removeprefix("http://localhost"))
    assert receipt.status_code == 200
    assert number in receipt.text and "赵*" in receipt.text and "赵敏" not in receipt.text and ZHAO_MIN not in receipt.text


def test_the_sandbox_sms_page_shows_messages_with_masked_numbers(demo, client):
    journey = Journey(client)
    records_identify(journey, SUN_LI)
    journey.post("/records/code/send")
    page = client.get("/sandbox/sms/")
    assert page.status_code == 200
    assert "138****0007" in page.text and "13800130007" not in page.text
    assert CODE.search(page.text)
    fragment = client.get("/sandbox/sms/", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="sms-list"')


@pytest.mark.parametrize("app_config", [{"TERMINAL_CODE": None, "COUNTER_CODE": None}])
def test_records_need_an_enrolled_kiosk_but_verifying_needs_none(demo, client):
    for path in ("/records/identify", "/records/", "/records/code", "/sandbox/sms/"):
        response = client.get(path)
        if path.startswith("/records"):
            assert response.status_code == 303 and response.headers["Location"].endswith("/enrol"), path
    # a phone that is no terminal opens a verification page and switches its language there
    phone = Journey(client)
    page = phone.get("/verify/R" + "0" * 29)
    assert page.status_code == 404
    phone.token = csrf_token(page.text)  # the page's own form token (Journey keeps only a 200's)
    switched = phone.post("/preferences/language", {"next": "/verify/R" + "0" * 29})
    assert switched.status_code == 303 and switched.headers["Location"].endswith("/verify/R" + "0" * 29)
    assert 'lang="en"' in phone.get("/verify/R" + "0" * 29).text


def test_a_payment_recovered_from_a_statement_is_in_the_records_with_how_it_came(demo, client):
    from kiosk.domain.orders import Source
    from kiosk.services.settlement import record_payment
    from kiosk.services.uow import UnitOfWork

    payer = Journey(client)
    with demo.app_context():
        order = payer.pay(ZHAO_MIN)
        attempt = order.attempt
        # the kiosk never heard of the payment; the next day's statement had it (services/statements.py)
        record_payment(UnitOfWork(db.session), attempt.id, trade_no="2026120122001", amount_fen=attempt.amount_fen,
                       source=Source.RECONCILE, because=("statement_repair", "paid on the statement"))
    payer.post("/done")
    journey = Journey(demo.test_client())
    english(journey)
    records_identify(journey, ZHAO_MIN, name="赵敏")
    page = journey.get("/records/").text
    assert text_of(page).count("Recovered from the provider's statement") == 3  # two overdue months and this month
    assert page.count('name="receipt"') == 1  # one receipt covers the three: one button
