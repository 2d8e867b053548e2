"""Limits against abuse at the identify screen: look-ups per visit and per terminal, and a
lockout after repeated not-found answers (issue 5, section 4).

A session made 116 look-ups a second and scanned all 1,000 numbers of one birth date in a
region in about 9 s, learning names, schemes and welfare categories. These tests set low
limits through the configuration; the defaults are in config/settings.py.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import time

import pytest
from sqlalchemy import select

from config.settings import SettingsError, load_settings
from kiosk import create_app
from kiosk.domain.clock import LOCAL_ZONE
from kiosk.extensions import db
from kiosk.models import PaymentOrder, Visit
from tests.helpers import CHEN_JIANGUO, NOT_INSURED, ZHAO_MIN, Journey

# valid numbers (checksums right) that nobody in the demo has: what a scan tries
STRANGERS = ["110105199912312001", "11010519991231201X", "110105199912312028", "110105199912312036",
             "110105199912312044", "110105199912312052", "110105199912312060"]
WAIT_EN = "Too many ID numbers were tried here"
WAIT_ZH = "这里尝试的身份证号码过多"
NOT_FOUND_EN = "No insured person has this ID number"

GENEROUS = "1000 per minute"


def limits(per_visit=GENEROUS, per_terminal=GENEROUS, missed_per_visit=GENEROUS, missed_per_terminal=GENEROUS, **more):
    return {"LOOKUP_LIMIT_PER_VISIT": per_visit, "LOOKUP_LIMIT_PER_TERMINAL": per_terminal,
            "NOT_FOUND_LIMIT_PER_VISIT": missed_per_visit, "NOT_FOUND_LIMIT_PER_TERMINAL": missed_per_terminal, **more}


def visit(app, english=True) -> Journey:
    journey = Journey(app.test_client())
    journey.start()
    if english:
        journey.post("/preferences/language", {"next": "/identify"})
    return journey


def person_of_every_visit(app) -> list:
    with app.app_context():
        db.session.expire_all()
        return list(db.session.scalars(select(Visit.person_id)))


@pytest.mark.parametrize("app_config", [limits(per_visit="3 per minute")])
def test_a_visit_gets_a_few_look_ups_a_minute_then_a_clear_message_and_nothing_is_looked_up(demo):
    journey = visit(demo)
    for number in STRANGERS[:3]:
        assert journey.post("/identify", {"id_number": number}).status_code == 422  # not found, said so
    page = journey.post("/identify", {"id_number": ZHAO_MIN})  # a real person: would be found
    assert page.status_code == 429
    assert "<html" in page.text and WAIT_EN in page.text and "ask at the counter" in page.text
    assert 'role="alert"' in page.text and 'id="identify-form"' in page.text  # the screen, not a blank 429
    assert NOT_FOUND_EN not in page.text and ZHAO_MIN not in page.text  # no answer, and the number is not kept
    assert person_of_every_visit(demo) == [None]  # nothing was looked up
    # as an htmx fragment: only the form, swapped in place of the one on screen
    fragment = journey.post("/identify", {"id_number": ZHAO_MIN}, htmx=True)
    assert fragment.status_code == 429 and fragment.text.lstrip().startswith("<form") and WAIT_EN in fragment.text
    assert "<html" not in fragment.text and "HX-Request" in fragment.headers["Vary"]
    # another visit is not held back by this one
    assert visit(demo).post("/identify", {"id_number": ZHAO_MIN}).headers["Location"] == "/person"


@pytest.mark.parametrize("app_config", [limits(per_visit="1 per minute")])
def test_the_message_is_in_the_persons_language(demo):
    journey = visit(demo, english=False)  # Chinese is the default
    journey.post("/identify", {"id_number": NOT_INSURED})
    page = journey.post("/identify", {"id_number": NOT_INSURED})
    assert page.status_code == 429 and WAIT_ZH in page.text and "柜台" in page.text


@pytest.mark.parametrize("app_config", [limits(per_terminal="4 per minute")])
def test_starting_a_new_visit_for_each_look_up_does_not_escape_the_terminals_limit(demo):
    for number in STRANGERS[:4]:
        assert visit(demo).post("/identify", {"id_number": number}).status_code == 422
    page = visit(demo).post("/identify", {"id_number": ZHAO_MIN})
    assert page.status_code == 429 and WAIT_EN in page.text
    assert set(person_of_every_visit(demo)) == {None}


@pytest.mark.parametrize("app_config", [limits(missed_per_visit="2 per 10 minutes")])
def test_repeated_not_found_answers_lock_the_visit_out_but_found_people_do_not_count(demo):
    journey = visit(demo)
    for _ in range(3):  # a citizen who finds themselves and goes back is never held up
        assert journey.post("/identify", {"id_number": CHEN_JIANGUO}).status_code == 303
        journey.post("/person/not-me")
    for number in STRANGERS[:2]:
        assert NOT_FOUND_EN in journey.post("/identify", {"id_number": number}).text
    page = journey.post("/identify", {"id_number": ZHAO_MIN})
    assert page.status_code == 429 and WAIT_EN in page.text
    assert person_of_every_visit(demo) == [None]


@pytest.mark.parametrize("app_config", [limits(missed_per_visit="1 per 2 seconds; 2 per 10 minutes")])
def test_the_wait_grows_with_more_misses_and_the_screen_says_until_when(demo):
    journey = visit(demo)
    journey.post("/identify", {"id_number": STRANGERS[0]})
    short = journey.post("/identify", {"id_number": STRANGERS[1]})
    assert short.status_code == 429  # a short wait after the first miss...
    time.sleep(2.1)
    assert NOT_FOUND_EN in journey.post("/identify", {"id_number": STRANGERS[1]}).text
    long = journey.post("/identify", {"id_number": STRANGERS[2]})
    assert long.status_code == 429  # ...and a long one after the second
    waits = [_until(page.text) - dt.datetime.now(LOCAL_ZONE).replace(tzinfo=None) for page in (short, long)]
    assert waits[0] <= dt.timedelta(minutes=2) and dt.timedelta(minutes=9) < waits[1] <= dt.timedelta(minutes=11)


@pytest.mark.parametrize("app_config", [limits(missed_per_terminal="3 per hour")])
def test_not_found_answers_are_also_counted_for_the_whole_terminal(demo):
    for number in STRANGERS[:3]:
        assert NOT_FOUND_EN in visit(demo).post("/identify", {"id_number": number}).text
    assert visit(demo).post("/identify", {"id_number": ZHAO_MIN}).status_code == 429


@pytest.mark.parametrize("app_config", [limits(per_visit="2 per minute", missed_per_visit="1 per minute")])
def test_the_id_number_is_never_in_a_limit_key_or_a_log_line(demo, caplog):
    caplog.set_level(logging.DEBUG)
    journey = visit(demo)
    for number in (NOT_INSURED, ZHAO_MIN, CHEN_JIANGUO):
        journey.post("/identify", {"id_number": number})
    from kiosk.extensions import limiter

    keys = " ".join(map(str, [*limiter.storage.storage, *limiter.storage.events]))  # the memory storage's keys
    assert keys and "visit:" in keys and "terminal:" in keys
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "exceeded" in logged  # the refusal is logged for the operator...
    for number in (NOT_INSURED, ZHAO_MIN, CHEN_JIANGUO):
        assert number not in keys and number not in logged  # ...without any number typed
        assert number[-4:] not in keys


@pytest.mark.parametrize("app_config", [limits("1 per minute", "1 per minute", "1 per minute", "1 per minute")])
def test_only_the_look_up_is_limited_never_the_qr_poll_static_files_or_provider_callbacks(demo):
    journey = visit(demo)
    journey.post("/identify", {"id_number": ZHAO_MIN})
    _, bills, key = journey.dues()
    journey.post("/pay", {"bills": bills, "key": key})
    for _ in range(5):
        assert journey.get("/payment/status", headers={"HX-Request": "true"}).status_code in (200, 204)  # 204: nothing changed
        assert journey.get("/payment").status_code == 200
        assert journey.get("/static/css/kiosk.css").status_code == 200
        assert demo.test_client().post("/payments/notify/sandbox", data={"out_trade_no": "x"}).status_code == 400
        assert journey.get("/dues").status_code in (200, 303)


def test_a_limit_setting_that_does_not_parse_stops_start_up():
    # Flask-Limiter would log the mistake and apply no limit at all
    with pytest.raises(SettingsError, match="KIOSK_LOOKUP_LIMIT_PER_VISIT"):
        load_settings("testing", environ={"KIOSK_LOOKUP_LIMIT_PER_VISIT": "ten a minute"})


def test_the_defaults_limit_a_scan_to_a_crawl():
    settings = load_settings("testing", environ={})
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    assert settings["LOOKUP_LIMIT_PER_TERMINAL"] == "60 per minute"
    assert settings["NOT_FOUND_LIMIT_PER_TERMINAL"] == "20 per hour"  # 1,000 numbers: two days, not 9 s


@pytest.mark.parametrize("app_config", [limits(per_terminal="2 per minute", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")])
def test_a_storage_that_cannot_be_reached_falls_back_to_counting_in_this_process(demo):
    for number in STRANGERS[:2]:
        assert visit(demo).post("/identify", {"id_number": number}).status_code == 422
    assert visit(demo).post("/identify", {"id_number": ZHAO_MIN}).status_code == 429  # never a 500


REDIS_URL = "redis://127.0.0.1:6379"


def _redis_or_skip():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not available at {REDIS_URL}: {exc}")  # only PostgreSQL is guaranteed


@pytest.mark.parametrize("storage", ["memory://", REDIS_URL])
def test_counts_are_shared_by_app_instances_only_in_redis(demo, storage):
    """Two app instances (two gunicorn workers, say) on one database: memory counts per
    process, so the second starts from zero; Redis counts once for both."""
    if storage == REDIS_URL:
        _redis_or_skip()
    config = {**{k: demo.config[k] for k in ("ENV_NAME", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS",
                                             "ID_DIGEST_KEY")},
              **limits(per_terminal="2 per minute"), "RATELIMIT_STORAGE_URI": storage,
              # a namespace of its own: other test runs may share this Redis
              "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"kiosk-test-{secrets.token_hex(6)}"}}
    first = create_app(config)
    for number in STRANGERS[:2]:
        assert visit(first).post("/identify", {"id_number": number}).status_code == 422
    assert visit(first).post("/identify", {"id_number": ZHAO_MIN}).status_code == 429
    second = create_app(config)  # the other worker
    expected = 429 if storage == REDIS_URL else 303
    assert visit(second).post("/identify", {"id_number": ZHAO_MIN}).status_code == expected
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def _until(html: str) -> dt.datetime:
    """The local time the refusal says to wait until (today, to the minute)."""
    hours, minutes = map(int, re.search(r"until (\d\d):(\d\d)", html).groups())
    now = dt.datetime.now(LOCAL_ZONE).replace(tzinfo=None)
    until = now.replace(hour=hours, minute=minutes, second=59, microsecond=0)
    return until + dt.timedelta(days=1) if until < now - dt.timedelta(minutes=1) else until


# -- bills held hostage (the policy is tested in tests/services/test_hostage_bills.py) -----------

def _first_terminal_shows_a_qr(demo):
    a = Journey(demo.test_client())
    with demo.app_context():
        order = a.pay(ZHAO_MIN)
        return a, order.id, sorted(item.bill_id for item in order.items)


@pytest.mark.parametrize("app_config", [{"TAKE_OVER_GRACE_SECONDS": 3600}])
def test_within_the_grace_period_another_terminal_sees_the_bills_being_paid_elsewhere(demo):
    _, order_id, held = _first_terminal_shows_a_qr(demo)
    b = visit(demo)
    b.post("/identify", {"id_number": ZHAO_MIN})
    page, bills, _ = b.dues()
    assert bills == [] and page.text.lower().count("being paid at another terminal") == len(held)


@pytest.mark.parametrize("app_config", [{"TAKE_OVER_GRACE_SECONDS": 0}])
def test_after_the_grace_period_another_terminal_may_pay_bills_whose_qr_was_never_scanned(demo):
    a, order_id, held = _first_terminal_shows_a_qr(demo)
    b = visit(demo)
    b.post("/identify", {"id_number": ZHAO_MIN})
    page, bills, key = b.dues()
    assert sorted(bills) == held and "Being paid at another terminal" not in page.text
    total = b.post("/dues/total", {"bills": bills, "key": key}, htmx=True)
    assert "¥0.00" not in total.text  # the total counts them
    assert b.post("/pay", {"bills": bills, "key": key}).headers["Location"] == "/payment"
    with demo.app_context():
        db.session.expire_all()
        assert db.session.get(PaymentOrder, order_id).status == "cancelled"
    moved = a.get("/payment")  # the first terminal's QR is gone, and it says where the payment went
    assert moved.status_code == 200 and 'id="moved"' in moved.text and "<svg" not in moved.text


@pytest.mark.parametrize("app_config", [{"ORDERS_PER_PERSON": 1}])
def test_too_many_orders_for_one_person_at_one_terminal_get_a_clear_message(demo):
    a, order_id, held = _first_terminal_shows_a_qr(demo)
    a.post("/payment/cancel")
    a.post("/preferences/language", {"next": "/dues"})
    _, bills, key = a.dues()
    page = a.post("/pay", {"bills": bills, "key": key})
    assert page.status_code == 422 and "Too many payment codes were made for this person" in page.text
