"""The terminal registry (issue 8): one-time enrolment codes, enrolled browsers, heartbeats."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kiosk.domain.clock import utcnow
from kiosk.domain.terminals import CODE_VALID, SILENT_AFTER, PrinterStatus, TerminalKind, normalise_code
from kiosk.extensions import db
from kiosk.models import AuditEntry, EnrolmentCode, TerminalBrowser
from kiosk.services import staff, terminals
from kiosk.services.terminals import TerminalError
from tests.services.conftest import run_together, uow


@pytest.fixture
def admin(demo) -> int:
    with demo.app_context():
        return staff.create_staff(uow(), "root", "Root", "admin", "long enough password")


def register(app, admin, code="HALL-02", kind=TerminalKind.BANK_KIOSK, region="110105") -> int:
    with app.app_context():
        return terminals.register(uow(), code, "Lobby", kind, "ICBC Chaoyang branch", region, admin)


def test_a_code_enrols_one_browser_once(demo, admin):
    terminal_id = register(demo, admin)
    with demo.app_context():
        code = terminals.issue_code(uow(), terminal_id, admin)
        token, ref = terminals.enrol(uow(), code.lower().replace("-", " "))  # as typed: case and spacing do not matter
        assert (ref.id, ref.code, ref.kind) == (terminal_id, "HALL-02", TerminalKind.BANK_KIOSK)
        assert terminals.terminal_of_browser(db.session, token) == ref
        with pytest.raises(TerminalError):
            terminals.enrol(uow(), code)  # used
        # only digests are kept: neither the code nor the token is in the database
        assert db.session.scalar(select(EnrolmentCode.code_digest)) == terminals.digest(normalise_code(code))
        assert db.session.scalar(select(TerminalBrowser.token_digest)) == terminals.digest(token)
        actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions[-3:] == ["terminal.register", "terminal.enrolment_code", "terminal.enrol"]


def test_a_code_expires_and_a_new_code_replaces_the_old(demo, admin):
    terminal_id = register(demo, admin)
    with demo.app_context():
        old = terminals.issue_code(uow(), terminal_id, admin)
        new = terminals.issue_code(uow(), terminal_id, admin)
        with pytest.raises(TerminalError):
            terminals.enrol(uow(), old)
        with pytest.raises(TerminalError):
            terminals.enrol(uow(), new, now=utcnow() + CODE_VALID + dt.timedelta(seconds=1))
        assert terminals.enrol(uow(), new)[1].id == terminal_id


@pytest.mark.parametrize("typed", ["", "ABCD-EFGH", "2345-6789", "not a code at all"])
def test_a_wrong_code_enrols_nobody(demo, admin, typed):
    with demo.app_context():
        terminals.issue_code(uow(), register(demo, admin), admin)
        with pytest.raises(TerminalError) as refused:
            terminals.enrol(uow(), typed)
        assert refused.value.code == "bad_code"
        assert db.session.scalar(select(TerminalBrowser.id)) is None


def test_two_browsers_racing_with_one_code_enrol_one(demo, admin):
    terminal_id = register(demo, admin)
    with demo.app_context():
        code = terminals.issue_code(uow(), terminal_id, admin)

    def attempt(i):
        with demo.app_context():
            return terminals.enrol(uow(), code)

    results, errors = run_together(3, attempt)
    assert len([r for r in results if r is not None]) == 1
    assert len(errors) == 2 and all(isinstance(error, TerminalError) for error in errors)


def test_registering_refuses_a_taken_code_or_an_unknown_region(demo, admin):
    register(demo, admin)
    for code, region, problem in (("hall-02", "110105", "code_taken"), ("HALL-03", "999999", "no_region")):
        with pytest.raises(TerminalError) as refused:
            register(demo, admin, code=code, region=region)
        assert refused.value.code == problem


def test_the_dashboard_shows_last_contact_and_the_printer(demo, admin):
    terminal_id = register(demo, admin)
    now = utcnow()
    with demo.app_context():
        terminals.heartbeat(uow(), terminal_id, PrinterStatus.PAPER_OUT, now)
        terminals.heartbeat(uow(), terminal_id, None, now)  # no printer news: the last status stands
        rows = {row.terminal.code: row for row in terminals.dashboard(db.session, now)}
        assert rows["HALL-02"].printer is PrinterStatus.PAPER_OUT and not rows["HALL-02"].silent
        assert terminals.printer_of(db.session, terminal_id) is PrinterStatus.PAPER_OUT
        later = {row.terminal.code: row for row in terminals.dashboard(db.session, now + SILENT_AFTER + dt.timedelta(seconds=1))}
        assert later["HALL-02"].silent
