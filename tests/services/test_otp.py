"""One-time codes as a service (issue 9), on SQLite and PostgreSQL: tries taken by
compare-and-set under racing guesses, limits across visits, hashes only."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kiosk.domain import otp as rules
from kiosk.domain.clock import utcnow
from kiosk.extensions import db
from kiosk.models import OtpChallenge, Visit
from kiosk.services import otp, visits
from kiosk.services.people import find_person
from tests.helpers import SUN_LI, ZHAO_MIN
from tests.services.conftest import run_together, uow

SECRET = otp.otp_secret("a test secret key")


class Phone:
    """An SMS gateway that remembers what it sent."""

    name = "test"

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send_code(self, phone: str, code: str) -> str:
        self.sent.append((phone, code))
        return f"TEST-{len(self.sent)}"


def visit_of(app, number: str, terminal: str = "DEMO-01") -> int:
    with app.app_context():
        token = visits.begin_visit(uow(), visits.terminal_id(db.session, terminal, "110105"), None)
        visit = db.session.scalar(select(Visit).where(Visit.token_digest == visits.token_digest(token)))
        visits.set_person(uow(), visit.id, find_person(number, app.config["ID_DIGEST_KEY"]).id)
        return visit.id


def terminal_of(app, visit_id: int) -> int:
    with app.app_context():
        return db.session.get(Visit, visit_id).terminal_id


def test_racing_guesses_cannot_take_more_than_five_tries(demo):
    visit_id = visit_of(demo, SUN_LI)
    phone = Phone()
    with demo.app_context():
        assert otp.send_code(uow(), phone, SECRET, visit_id=visit_id, terminal_id=terminal_of(demo, visit_id)).result is otp.Sent.SENT
    right = phone.sent[0][1]
    wrong = "000000" if right != "000000" else "111111"

    def guess(_):
        with demo.app_context():
            return otp.check_code(uow(), SECRET, visit_id=visit_id, typed=wrong).verdict

    verdicts, errors = run_together(8, guess)
    assert errors == []
    assert verdicts.count(rules.Verdict.WRONG) == rules.MAX_TRIES - 1  # exactly four tries were left after each
    with demo.app_context():
        assert db.session.scalar(select(OtpChallenge.tries)) == rules.MAX_TRIES
        assert otp.check_code(uow(), SECRET, visit_id=visit_id, typed=right).verdict is rules.Verdict.SPENT
        assert db.session.get(Visit, visit_id).proven_by is None


def test_the_right_code_proves_the_visit_once_and_never_again(demo):
    visit_id = visit_of(demo, SUN_LI)
    phone = Phone()
    with demo.app_context():
        otp.send_code(uow(), phone, SECRET, visit_id=visit_id, terminal_id=terminal_of(demo, visit_id))
        code = phone.sent[0][1]
        assert otp.check_code(uow(), SECRET, visit_id=visit_id, typed=f" {code[:3]} {code[3:]} ").verdict is rules.Verdict.OK
        assert db.session.get(Visit, visit_id).proven_by == "sms"
        assert otp.check_code(uow(), SECRET, visit_id=visit_id, typed=code).verdict is rules.Verdict.SPENT  # used


def test_a_code_is_bound_to_its_visit(demo):
    mine, theirs = visit_of(demo, SUN_LI), visit_of(demo, ZHAO_MIN)
    phone = Phone()
    with demo.app_context():
        otp.send_code(uow(), phone, SECRET, visit_id=mine, terminal_id=terminal_of(demo, mine))
        code = phone.sent[0][1]
        # another visit that never asked for a code has nothing to check against
        assert otp.check_code(uow(), SECRET, visit_id=theirs, typed=code).verdict is rules.Verdict.SPENT
        assert db.session.get(Visit, theirs).proven_by is None


def test_one_terminal_sends_at_most_its_hourly_limit(demo):
    phone = Phone()
    limit, window = rules.PER_TERMINAL
    with demo.app_context():
        terminal = None
        now = utcnow()
        people = [SUN_LI, ZHAO_MIN]
        sent = 0
        for index in range(limit + 1):
            visit_id = visit_of(demo, people[index % 2])
            terminal = terminal_of(demo, visit_id)
            # spread over the hour, so that the per-person limit (3 in 15 minutes) is never the one reached
            moment = now - window + dt.timedelta(minutes=2) + index * (window - dt.timedelta(minutes=3)) / limit
            outcome = otp.send_code(uow(), phone, SECRET, visit_id=visit_id, terminal_id=terminal, now=moment)
            sent += outcome.result is otp.Sent.SENT
        assert sent == limit
        assert outcome.result is otp.Sent.LIMITED and outcome.until > moment
        assert len(phone.sent) == limit


def test_old_challenges_are_swept_after_a_day(demo):
    visit_id = visit_of(demo, SUN_LI)
    with demo.app_context():
        otp.send_code(uow(), Phone(), SECRET, visit_id=visit_id, terminal_id=terminal_of(demo, visit_id),
                      now=utcnow() - dt.timedelta(days=2))
        otp.send_code(uow(), Phone(), SECRET, visit_id=visit_id, terminal_id=terminal_of(demo, visit_id))
        assert otp.purge_old(uow()) == 1
        assert db.session.scalar(select(OtpChallenge.id)) is not None


def test_a_destroyed_visit_leaves_its_challenges_counting(demo):
    visit_id = visit_of(demo, SUN_LI)
    with demo.app_context():
        otp.send_code(uow(), Phone(), SECRET, visit_id=visit_id, terminal_id=terminal_of(demo, visit_id))
        visits.purge_idle(uow(), dt.timedelta(seconds=-1))
        assert db.session.get(Visit, visit_id) is None
        challenge = db.session.scalar(select(OtpChallenge))
        assert challenge.visit_id is None and challenge.person_id is not None
