"""Identify: the keypad form as page and as htmx fragment; every failure keeps the input."""
import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import Visit
from tests.helpers import NOT_INSURED, QIAN_LEGACY_15, ZHAO_MIN, Journey


def test_the_attract_screen_offers_the_working_service_and_is_never_cached(demo, client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert 'id="service-pay"' in page.text
    assert '<html lang="zh-CN">' in page.text


def test_a_post_without_csrf_token_changes_nothing(demo, client):
    response = client.post("/start")
    assert response.status_code == 400
    with demo.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == 0


def test_identify_needs_a_started_session(demo, client):
    response = client.get("/identify")
    assert response.status_code == 303 and "/?ended=1" in response.headers["Location"]


@pytest.mark.parametrize("typed, words", [
    ("", "Please enter your ID number"),
    ("1101051985", "18 characters"),
    ("110105198509120428", "last character does not match"),
    ("110105198502300427", "not a real date"),
    ("11010519850912042A", "only digits"),
])
def test_an_invalid_number_gets_its_reason_and_keeps_what_was_typed(demo, client, typed, words):
    journey = Journey(client)
    journey.start()
    journey.post("/preferences/language", {"next": "/identify"})  # English for readable assertions
    page = journey.post("/identify", {"id_number": typed})
    assert page.status_code == 422
    assert words in page.text and 'role="alert"' in page.text
    assert f'value="{typed}"' in page.text
    assert "<html" in page.text  # a whole page without htmx


def test_as_an_htmx_fragment_only_the_form_comes_back(demo, client):
    journey = Journey(client)
    journey.start()
    page = journey.post("/identify", {"id_number": "110105198509120428"}, htmx=True)
    assert page.status_code == 422
    assert page.text.lstrip().startswith("<form") and "<html" not in page.text
    assert "HX-Request" in page.headers["Vary"]
    assert 'id="id-error"' in page.text


def test_a_valid_number_nobody_has_is_said_so(demo, client):
    journey = Journey(client)
    journey.start()
    journey.post("/preferences/language", {"next": "/identify"})
    page = journey.post("/identify", {"id_number": NOT_INSURED})
    assert page.status_code == 422 and "No insured person has this ID number" in page.text


def test_a_known_number_moves_on_to_the_person(demo, client):
    journey = Journey(client)
    journey.start()
    response = journey.post("/identify", {"id_number": ZHAO_MIN})
    assert response.status_code == 303 and response.headers["Location"] == "/person"
    htmx = Journey(demo.test_client())
    htmx.start()
    response = htmx.post("/identify", {"id_number": ZHAO_MIN}, htmx=True)
    assert response.headers["HX-Redirect"] == "/person"


def test_a_legacy_15_digit_card_finds_the_same_person(demo, client):
    journey = Journey(client)
    response = journey.identify(QIAN_LEGACY_15)
    assert response.headers["Location"] == "/person"
    assert "钱*福" in journey.get("/person").text


def test_person_shows_masked_name_and_id_and_not_me_goes_back(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    page = journey.get("/person")
    assert "赵*" in page.text and "1101**********0427" in page.text
    assert ZHAO_MIN not in page.text and "赵敏" not in page.text
    response = journey.post("/person/not-me")
    assert response.headers["Location"] == "/identify"
    assert journey.get("/person").status_code == 303  # the person is gone from the session
