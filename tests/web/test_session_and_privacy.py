"""Sessions end on the server; no ID number or name in logs, URLs or unmasked pages."""
import datetime as dt
import logging
import re

from sqlalchemy import func, select

from kiosk.domain.clock import utcnow
from kiosk.extensions import db
from kiosk.models import Visit
from tests.checkout_helpers import notify
from tests.helpers import ZHAO_MIN, Journey


def visits(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Visit.id)))


def test_done_destroys_the_session_on_the_server(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    assert visits(demo) == 1
    response = journey.post("/done")
    assert response.headers["Location"] == "/"
    assert visits(demo) == 0
    assert journey.get("/person").status_code == 303
    assert journey.get("/dues").headers["Location"] == "/?ended=1"


def test_an_idle_session_is_destroyed_by_the_server_even_if_the_browser_never_says_so(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    with demo.app_context():
        visit = db.session.scalars(select(Visit)).one()
        visit.last_seen_at = utcnow() - dt.timedelta(seconds=demo.config["IDLE_SECONDS"] + demo.config["IDLE_WARNING_SECONDS"] + demo.config["IDLE_GRACE_SECONDS"] + 1)
        db.session.commit()
    response = journey.get("/person")
    assert response.status_code == 303 and response.headers["Location"] == "/?ended=1"
    assert visits(demo) == 0
    assert "previous session has ended" in journey.get("/?ended=1").text or "清除" in journey.get("/?ended=1").text


def test_purge_sessions_sweeps_abandoned_visits(demo, runner):
    journey = Journey(demo.test_client())
    journey.identify(ZHAO_MIN)
    with demo.app_context():
        db.session.scalars(select(Visit)).one().last_seen_at = utcnow() - dt.timedelta(hours=1)
        db.session.commit()
    result = runner.invoke(args=["purge-sessions"])
    assert "1 idle sessions destroyed" in result.output and visits(demo) == 0


def test_continue_keeps_the_session_and_the_idle_end_destroys_it(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    assert journey.post("/session/continue", htmx=True).status_code == 204
    assert visits(demo) == 1
    response = journey.post("/session/end", htmx=True)
    assert response.headers["HX-Redirect"] == "/"
    assert visits(demo) == 0


def test_starting_again_never_shows_the_previous_citizen(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    journey.start()  # the next citizen taps the service menu on the same browser
    assert visits(demo) == 1
    assert journey.get("/person").status_code == 303
    assert "赵*" not in journey.get("/identify").text


def test_language_and_text_size_toggle_and_reset_for_the_next_citizen(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    response = journey.post("/preferences/language", {"next": "/person"})
    assert response.headers["Location"] == "/person"
    page = journey.get("/person")
    assert '<html lang="en">' in page.text and "Is this you?" in page.text and ">中文<" in page.text
    journey.post("/preferences/text-size", {"next": "/person"})
    assert 'class="large-text' in journey.get("/person").text
    journey.post("/done")
    page = journey.get("/")
    assert '<html lang="zh-CN">' in page.text and 'class="large-text' not in page.text


def test_a_toggle_never_redirects_off_the_site(demo, client):
    journey = Journey(client)
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = journey.post("/preferences/language", {"next": target})
        assert response.headers["Location"] == "/"


def test_every_citizen_page_is_no_store_and_loads_nothing_from_outside(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    for url in ("/", "/identify", "/person", "/dues"):
        page = journey.get(url)
        assert page.headers["Cache-Control"] == "no-store", url
        assert not re.search(r'(src|href)="(https?:)?//', page.text), url


def test_no_id_number_or_name_reaches_a_log_or_a_url(demo, client, caplog):
    caplog.set_level(logging.DEBUG)
    journey = Journey(client)
    urls = []
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
    notify(demo, order)
    for url in ("/payment", "/receipt"):
        response = journey.get(url, follow_redirects=True)
        urls += [r.request.url for r in response.history] + [response.request.url]
        assert ZHAO_MIN not in response.text and "赵敏" not in response.text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (ZHAO_MIN, "赵敏", "19850912"):
        assert secret not in logged
        assert not any(secret in url for url in urls)


def test_error_pages_are_friendly_and_in_the_person_language(demo, client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and 'id="start-again"' in page.text and "Traceback" not in page.text
