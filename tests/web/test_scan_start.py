"""An ID card read on the attract screen starts the service: the number travels in the POST body
of /start (never in a URL) and is looked up as the identify form's, with the same checks, limits
and messages (audit of issue 7, item 3). And a number longer than any ID number is said so (item 2)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import Visit
from tests.helpers import ZHAO_MIN, Journey

from .test_limits import STRANGERS, WAIT_EN, limits, person_of_every_visit


def attract(client, english=True) -> Journey:
    journey = Journey(client)
    journey.get("/")
    if english:
        journey.post("/preferences/language", {"next": "/"})
    return journey


def test_a_card_read_on_the_attract_screen_goes_straight_to_the_person(demo, client):
    journey = attract(client)
    response = journey.post("/start", {"id_number": ZHAO_MIN})
    assert response.status_code == 303 and response.headers["Location"] == "/person"
    assert ZHAO_MIN not in response.headers["Location"]
    assert "赵*" in journey.get("/person").text
    assert person_of_every_visit(demo) != [None]


def test_a_bad_read_shows_the_identify_screen_with_the_reason_and_the_number(demo, client):
    journey = attract(client)
    page = journey.post("/start", {"id_number": "110105198509120428"})
    assert page.status_code == 422 and "<html" in page.text
    assert "last character does not match" in page.text and 'role="alert"' in page.text
    assert 'value="110105198509120428"' in page.text
    # the toggles on this page (drawn at /start) show the identify screen again, not /start
    assert 'name="next" value="/identify"' in page.text
    after = journey.post("/preferences/text-size", {"next": "/identify"})
    assert after.headers["Location"] == "/identify"
    assert journey.get("/identify").status_code == 200  # the visit the read started goes on


def test_a_read_without_csrf_token_starts_nothing(demo, client):
    client.get("/")
    response = client.post("/start", data={"id_number": ZHAO_MIN})
    assert response.status_code == 400
    with demo.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == 0


@pytest.mark.parametrize("app_config", [limits(per_terminal="3 per minute")])
def test_reads_on_the_attract_screen_count_against_the_same_limits_as_the_keypad(demo):
    journey = attract(demo.test_client())
    assert journey.post("/start", {"id_number": STRANGERS[0]}).status_code == 422
    assert journey.post("/identify", {"id_number": STRANGERS[1]}).status_code == 422
    assert journey.post("/start", {"id_number": STRANGERS[2]}).status_code == 422
    for way in ("/start", "/identify"):
        page = journey.post(way, {"id_number": ZHAO_MIN})
        assert page.status_code == 429 and WAIT_EN in page.text and 'id="identify-form"' in page.text
        assert ZHAO_MIN not in page.text
    assert set(person_of_every_visit(demo)) == {None}


def test_a_number_longer_than_any_id_number_is_said_so(demo, client):
    journey = attract(client)
    journey.post("/start")
    page = journey.post("/identify", {"id_number": "110105198509120428110105"})  # a second scan added to the first
    assert page.status_code == 422 and "longer than an ID number" in page.text
    page = journey.get("/identify")
    assert 'maxlength="18"' in page.text
