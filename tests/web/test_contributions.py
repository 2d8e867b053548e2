"""The calculator, the change of chosen base and the contribution years, through the test client."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kiosk.domain.premiums import PremiumRule, Scheme
from kiosk.extensions import db
from kiosk.models import BaseChange, Bill, ContributionHistory, Enrolment, PaymentOrder, Visit
from kiosk.services import calculator
from tests.helpers import CHEN_JIANGUO, ZHANG_SAN, ZHAO_MIN, Journey, amount_text

TABLES = (Bill, BaseChange, Enrolment, PaymentOrder, ContributionHistory, Visit)


def counts(app) -> list[int]:
    with app.app_context():
        return [db.session.scalar(select(func.count()).select_from(table)) for table in TABLES]


def enrolment_ids(html: str) -> list[str]:
    return re.findall(r'name="enrolments" id="enrolment-(\d+)"', html)


def english(journey: Journey) -> None:
    journey.get("/")
    journey.post("/preferences/language", {"next": "/"})


def test_the_calculator_is_a_second_service_on_the_attract_screen_and_needs_no_visit(demo, client):
    journey = Journey(client)
    attract = journey.get("/")
    assert 'id="service-calculator"' in attract.text and 'href="/calculator"' in attract.text
    page = journey.get("/calculator")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'id="calculator-form"' in page.text and 'data-keypad-for="amount"' in page.text


def test_a_flexible_base_is_clamped_and_the_page_says_so(demo, client):
    journey = Journey(client)
    english(journey)
    low = journey.post("/calculator", {"scheme": "flexible_medical", "amount": "3000"})
    assert low.status_code == 200
    assert (amount_text(low.text, "result-base"), amount_text(low.text, "result-monthly")) == ("¥4,000.00", "¥360.00")
    assert "Raised to the lowest base" in low.text
    high = journey.post("/calculator", {"scheme": "flexible_pension", "amount": "50000"}, htmx=True)
    assert "<html" not in high.text and amount_text(high.text, "result-monthly") == "¥4,000.00"
    assert "Lowered to the highest base" in high.text and amount_text(high.text, "result-rate") == "20%"
    exact = journey.post("/calculator", {"scheme": "flexible_medical", "amount": "5000.5"}, htmx=True)
    assert amount_text(exact.text, "result-monthly") == "¥450.05" and 'id="result-clamped"' not in exact.text


def test_employee_medical_shows_the_employer_supplementary_and_individual_parts(demo, client, monkeypatch):
    employee = PremiumRule(Scheme.EMPLOYEE_MEDICAL, dt.date(2024, 1, 1), rate_per_10000=200, base_floor_fen=229900,
                           base_cap_fen=3000000, rounding="yuan", employer_rate_per_10000=700, supplementary_rate_per_10000=120)
    real = calculator.rules_for
    monkeypatch.setattr(calculator, "rules_for", lambda session, region_id: [*real(session, region_id), employee])
    journey = Journey(client)
    english(journey)
    page = journey.post("/calculator", {"scheme": "employee_medical", "amount": "3000"}, htmx=True)
    assert page.status_code == 200
    parts = [amount_text(page.text, f"result-{part}") for part in ("employer", "supplementary", "individual", "total")]
    assert parts == ["¥210.00", "¥36.00", "¥60.00", "¥306.00"]
    assert "Employer (7%)" in page.text and "(1.2%)" in page.text


def test_resident_medical_shows_the_flat_year_and_its_subsidies(demo, client):
    journey = Journey(client)
    page = journey.post("/calculator", {"scheme": "resident_medical"}, htmx=True)
    assert amount_text(page.text, "result-annual") == "¥400.00"
    assert 'id="result-subsidy-minimum_living"' in page.text and "¥120.00" in page.text
    assert 'data-keypad-for="amount"' not in page.text  # no base to type


def test_every_subsidised_category_is_named_in_both_languages(demo, client):
    # the demo rule subsidises orphans too: their row had an empty label
    journey = Journey(client)
    for label in ("孤儿", "Orphans"):
        page = journey.post("/calculator", {"scheme": "resident_medical"}, htmx=True)
        rows = re.findall(r'<dt class="wide">([^<]*)</dt>\s*<dd class="wide" id="result-subsidy-(\w+)"', page.text)
        assert [category for _, category in rows] == ["minimum_living", "extreme_poverty", "orphan"]
        assert all(name.strip() for name, _ in rows) and (label, "orphan") in rows
        english(journey)


def test_picking_another_scheme_with_no_amount_says_nothing_yet(demo, client):
    journey = Journey(client)
    journey.get("/calculator")
    response = client.post("/calculator", data={"scheme": "employee_medical", "amount": ""},
                           headers={"X-CSRFToken": journey.token, "HX-Request": "true", "HX-Trigger-Name": "scheme"})
    assert response.status_code == 200 and 'role="alert"' not in response.text


@pytest.mark.parametrize("data", [
    {"scheme": "flexible_medical", "amount": ""}, {"scheme": "flexible_medical"}, {"scheme": "flexible_medical", "amount": "abc"},
    {"scheme": "flexible_medical", "amount": "-5000"}, {"scheme": "flexible_pension", "amount": "1e9"},
    {"scheme": "flexible_pension", "amount": "99999999999999999999999"}, {"scheme": "flexible_pension", "amount": "5000.123"},
    {"scheme": "flexible_medical", "amount": "５０００"}, {"scheme": "flexible_medical", "amount": "x" * 5000},
    {"scheme": "flexible_medical", "amount": "1000000.01"}, {"scheme": "nonsense", "amount": "5000"}, {"amount": "5000"},
    {"scheme": "flexible_medical", "amount": "5000 yuan"}, {"scheme": "", "amount": ""},
])
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_calculator_input_gets_a_message_never_a_500_and_changes_nothing(demo, client, data, htmx):
    journey = Journey(client)
    journey.get("/calculator")
    before = counts(demo)
    response = journey.post("/calculator", data, htmx=htmx)
    assert response.status_code == 422
    assert 'class="error" role="alert"' in response.text and 'id="calculator-result"' not in response.text
    assert counts(demo) == before


def test_a_nul_byte_is_refused_before_the_calculator_sees_it(demo, client):
    journey = Journey(client)
    journey.get("/calculator")
    before = counts(demo)
    response = journey.post("/calculator", {"scheme": "flexible_medical", "amount": "5000\x00"})
    assert response.status_code == 400 and counts(demo) == before


def test_a_calculator_post_without_its_csrf_token_is_refused(demo, client):
    response = client.post("/calculator", data={"scheme": "flexible_medical", "amount": "5000"})
    assert response.status_code == 400 and "calculator-result" not in response.text


def test_contribution_years_and_the_top_up_are_on_the_person_screen(demo, client):
    journey = Journey(client)
    english(journey)
    journey.identify(CHEN_JIANGUO)
    page = journey.get("/person")
    assert amount_text(page.text, "years-flexible_pension") == "10 years 10 months"
    assert amount_text(page.text, "years-flexible_medical") == "5 years 0 months"
    assert "4 years 2 months missing to the 15-year minimum" in page.text
    assert "¥40,000.00" in amount_text(page.text, "pension-top-up") and 'id="change-base"' in page.text
    other = Journey(client.application.test_client())
    english(other)
    other.identify(ZHANG_SAN)
    page = other.get("/person")
    assert amount_text(page.text, "years-resident_medical") == "3 years 0 months"
    assert 'id="pension-top-up"' not in page.text and 'id="pension-missing"' not in page.text
    assert 'id="change-base"' not in page.text


def test_the_base_screen_needs_an_identified_person_with_a_flexible_scheme(demo, client):
    journey = Journey(client)
    assert journey.get("/contribution-base").status_code in (302, 303)
    journey.identify(ZHANG_SAN)
    response = journey.get("/contribution-base")
    assert response.status_code == 303 and response.headers["Location"].endswith("/person")


def test_a_new_base_is_previewed_then_confirmed_from_next_month(demo, client):
    journey = Journey(client)
    english(journey)
    journey.identify(CHEN_JIANGUO)
    page = journey.get("/contribution-base")
    ids = enrolment_ids(page.text)
    assert len(ids) == 2 and "applies from" in page.text
    preview = journey.post("/contribution-base/preview", {"base": "8000", "enrolments": ids}, htmx=True)
    assert preview.status_code == 200 and "<html" not in preview.text
    assert "¥720.00" in amount_text(preview.text, "preview-flexible_medical")
    assert "¥1,600.00" in amount_text(preview.text, "preview-flexible_pension")
    assert counts(demo)[1] == 0  # a preview saves nothing
    confirm = journey.post("/contribution-base/confirm", {"base": "8000.00", "enrolments": ids})
    assert confirm.status_code == 303 and confirm.headers["Location"].endswith("/contribution-base?saved=1")
    with demo.app_context():
        assert sorted(c.base_fen for c in db.session.scalars(select(BaseChange))) == [800000, 800000]
    saved = journey.get("/contribution-base?saved=1")
    assert 'id="base-saved"' in saved.text and "¥8,000.00" in amount_text(saved.text, "upcoming-flexible_pension")


@pytest.mark.parametrize("base", ["3999.99", "20000.01", "0", "", "abc", "-5000", "99999999999"])
@pytest.mark.parametrize("step", ["preview", "confirm"])
def test_a_base_outside_the_range_or_not_a_number_is_refused_and_nothing_changes(demo, client, base, step):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    ids = enrolment_ids(journey.get("/contribution-base").text)
    before = counts(demo)
    response = journey.post(f"/contribution-base/{step}", {"base": base, "enrolments": ids}, htmx=True)
    assert response.status_code == 422 and 'id="base-error"' in response.text and 'id="base-confirm"' not in response.text
    assert counts(demo) == before


@pytest.mark.parametrize("step", ["preview", "confirm"])
def test_a_forged_enrolment_is_refused_and_nothing_changes(demo, client, step):
    chen = Journey(client.application.test_client())
    chen.identify(CHEN_JIANGUO)
    someone_elses = enrolment_ids(chen.get("/contribution-base").text)
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    own = enrolment_ids(journey.get("/contribution-base").text)
    before = counts(demo)
    for forged in ([someone_elses[0]], [*own, someone_elses[1]], ["999999"], ["abc"]):
        response = journey.post(f"/contribution-base/{step}", {"base": "6000", "enrolments": forged})
        assert response.status_code in (303, 422) and counts(demo) == before
        if response.status_code == 422:
            assert 'id="base-error"' in response.text


def test_the_base_change_refuses_a_post_without_a_person(demo, client):
    journey = Journey(client)
    journey.start()
    before = counts(demo)
    response = journey.post("/contribution-base/confirm", {"base": "6000", "enrolments": ["1"]})
    assert response.status_code in (302, 303) and counts(demo) == before


FUZZ = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def test_any_text_in_the_calculator_and_base_fields_is_answered_below_500_and_writes_nothing(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    ids = enrolment_ids(journey.get("/contribution-base").text)

    @FUZZ
    @given(st.text(max_size=40), st.sampled_from(["flexible_medical", "flexible_pension", "resident_medical", "", "x"]),
           st.sampled_from(["/calculator", "/contribution-base/preview", "/contribution-base/confirm"]), st.booleans())
    def probe(text, scheme, url, htmx):
        before = counts(demo)
        data = {"scheme": scheme, "amount": text} if url == "/calculator" else {"base": text, "enrolments": ids}
        response = journey.post(url, data, htmx=htmx)
        assert response.status_code < 500
        if url.endswith("confirm") and response.status_code in (303, 204):
            return  # a valid base was saved: that is what confirm is for
        assert counts(demo) == before

    probe()


def test_both_screens_speak_chinese_first_and_english_after_the_toggle(demo, client):
    journey = Journey(client)
    assert "缴费计算器" in journey.get("/calculator").text
    assert "自选月缴费基数（元）" in journey.post("/calculator", {"scheme": "flexible_medical", "amount": "3000"}).text
    journey.identify(CHEN_JIANGUO)
    person = journey.get("/person").text
    assert "累计缴费年限" in person and "距最低缴费年限 15 年还差 4 年 2 个月" in person
    page = journey.get("/contribution-base").text
    assert "调整我的缴费基数" in page and "新的缴费基数从" in page
    journey.post("/preferences/language", {"next": "/contribution-base"})
    assert "Change my contribution base" in journey.get("/contribution-base").text
    assert "Contribution calculator" in journey.get("/calculator").text
