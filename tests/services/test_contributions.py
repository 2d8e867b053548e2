"""Changing the chosen base, contribution years and the calculator, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from flask import current_app
from sqlalchemy import func, select

from kiosk.domain.clock import local_today, utcnow
from kiosk.domain.contributions import Clamp, InvalidAmount, next_month
from kiosk.domain.premiums import Scheme
from kiosk.extensions import db
from kiosk.models import BaseChange, Bill, Enrolment, Person
from kiosk.services import bases, calculator
from kiosk.services.contributions import contribution_record
from kiosk.services.dues import due_lines, freeze_dues
from kiosk.services.people import find_person
from kiosk.services.uow import UnitOfWork
from tests.helpers import CHEN_JIANGUO, LIU_FANG, SUN_LI, ZHANG_SAN, ZHAO_MIN


@pytest.fixture
def ctx(demo):
    with demo.app_context():
        yield demo


def person(number: str) -> Person:
    return find_person(number, current_app.config["ID_DIGEST_KEY"])


def today() -> dt.date:
    return local_today(utcnow())


def flexible_ids(someone: Person) -> list[int]:
    return [e.id for e in someone.enrolments if e.scheme in ("flexible_medical", "flexible_pension")]


def changes() -> int:
    return db.session.scalar(select(func.count()).select_from(BaseChange))


def test_a_new_base_applies_from_next_month_and_never_reprices_a_frozen_bill(ctx):
    chen = person(CHEN_JIANGUO)
    freeze_dues(UnitOfWork(db.session), chen.id, today())  # this month's bills are frozen, as the dues screen does
    before = {(b.scheme, b.period_start): b.principal_fen for b in db.session.scalars(select(Bill).where(Bill.person_id == chen.id))}
    effective = bases.change_base(UnitOfWork(db.session), chen.id, flexible_ids(chen), 800000, today())
    assert effective == next_month(today())
    saved = db.session.scalars(select(BaseChange)).all()
    assert {(c.effective_month, c.base_fen) for c in saved} == {(effective, 800000)} and len(saved) == 2
    db.session.expire_all()
    chen = person(CHEN_JIANGUO)
    # the same day: every bill as it was
    lines = due_lines(db.session, chen, today())
    assert {(l.bill.scheme, l.bill.period_start): l.bill.principal_fen for l in lines} == before
    # next month: the old months keep their amounts, the new month is priced on the new base
    later = {(l.bill.scheme, l.bill.period_start): l.bill.principal_fen for l in due_lines(db.session, chen, effective)}
    assert later[("flexible_medical", effective)] == 72000 and later[("flexible_pension", effective)] == 160000
    assert all(later[key] == amount for key, amount in before.items() if key in later)


def test_a_second_change_in_the_month_replaces_the_first(ctx):
    zhao = person(ZHAO_MIN)
    bases.change_base(UnitOfWork(db.session), zhao.id, flexible_ids(zhao), 800000, today())
    bases.change_base(UnitOfWork(db.session), zhao.id, flexible_ids(zhao), 700000, today())
    assert [c.base_fen for c in db.session.scalars(select(BaseChange))] == [700000]
    (line,) = bases.base_lines(db.session, person(ZHAO_MIN), today())
    assert (line.current.base.base_fen, line.upcoming.base.base_fen, line.upcoming_month) == (500000, 700000, next_month(today()))


@pytest.mark.parametrize("base_fen", [399999, 2000001, 0])
def test_a_base_outside_floor_and_cap_is_refused_and_nothing_changes(ctx, base_fen):
    zhao = person(ZHAO_MIN)
    with pytest.raises(bases.BaseChangeError) as error:
        bases.change_base(UnitOfWork(db.session), zhao.id, flexible_ids(zhao), base_fen, today())
    assert error.value.reason == "out_of_range" and changes() == 0


def test_another_persons_or_a_non_flexible_enrolment_is_refused(ctx):
    zhao, chen, zhang = person(ZHAO_MIN), person(CHEN_JIANGUO), person(ZHANG_SAN)
    for forged in ([flexible_ids(chen)[0]], [*flexible_ids(zhao), flexible_ids(chen)[0]], [zhang.enrolments[0].id], [10**6]):
        with pytest.raises(bases.BaseChangeError) as error:
            bases.change_base(UnitOfWork(db.session), zhao.id, forged, 600000, today())
        assert error.value.reason == "not_yours"
    with pytest.raises(bases.BaseChangeError) as error:
        bases.change_base(UnitOfWork(db.session), zhao.id, [], 600000, today())
    assert error.value.reason == "nothing_selected" and changes() == 0


def test_the_screen_lines_preview_each_flexible_scheme(ctx):
    lines = bases.base_lines(db.session, person(CHEN_JIANGUO), today(), new_base_fen=1000000)
    assert [(l.scheme, l.current.monthly_fen, l.preview.monthly_fen) for l in lines] == [
        (Scheme.FLEXIBLE_MEDICAL, 54000, 90000), (Scheme.FLEXIBLE_PENSION, 120000, 200000)]
    assert all((l.floor_fen, l.cap_fen) == (400000, 2000000) for l in lines)
    assert bases.base_lines(db.session, person(ZHANG_SAN), today()) == []


def test_contribution_years_add_history_and_periods_paid_here(ctx):
    chen = contribution_record(db.session, person(CHEN_JIANGUO), today())
    assert [(s.scheme, s.total_months) for s in chen.schemes] == [(Scheme.FLEXIBLE_MEDICAL, 60), (Scheme.FLEXIBLE_PENSION, 130)]
    assert (chen.top_up.missing_months, chen.top_up.monthly_fen, chen.top_up.cost_fen) == (50, 80000, 50 * 80000)
    # Sun Li paid a resident year at the counter: twelve months, no pension, no top-up
    sun = contribution_record(db.session, person(SUN_LI), today())
    assert [(s.scheme, s.paid_here_months) for s in sun.schemes] == [(Scheme.RESIDENT_MEDICAL, 12 * len(
        [b for b in db.session.scalars(select(Bill).where(Bill.person_id == person(SUN_LI).id))]))]
    assert sun.top_up is None
    liu = contribution_record(db.session, person(LIU_FANG), today())
    assert [(s.scheme, s.years) for s in liu.schemes] == [(Scheme.EMPLOYEE_MEDICAL, 5)] and liu.top_up is None


def test_the_calculator_uses_the_terminal_regions_rules_in_force(ctx):
    code = ctx.config["TERMINAL_CODE"]
    assert calculator.region_id_for_terminal(db.session, code) == person(ZHAO_MIN).region_id
    flexible = calculator.quote(db.session, code, None, Scheme.FLEXIBLE_MEDICAL, "3000", today())
    assert (flexible.base.base_fen, flexible.base.clamp, flexible.monthly_fen) == (400000, Clamp.FLOOR, 36000)
    assert calculator.quote(db.session, code, None, Scheme.RESIDENT_MEDICAL, None, today()).annual_fen == 40000
    with pytest.raises(InvalidAmount):
        calculator.quote(db.session, code, None, Scheme.FLEXIBLE_PENSION, "lots", today())
    # seed 001 from the demo region's employee rule: wage 3,000 -> employer 210, supplementary 36, individual 60
    employee = calculator.quote(db.session, code, None, Scheme.EMPLOYEE_MEDICAL, "3000", today())
    assert (employee.employer_fen, employee.supplementary_fen, employee.individual_fen) == (21000, 3600, 6000)


def test_the_calculator_writes_nothing(ctx):
    tables = (Bill, BaseChange, Enrolment)
    counts = [db.session.scalar(select(func.count()).select_from(t)) for t in tables]
    calculator.quote(db.session, ctx.config["TERMINAL_CODE"], None, Scheme.FLEXIBLE_MEDICAL, "5000", today())
    db.session.rollback()
    assert [db.session.scalar(select(func.count()).select_from(t)) for t in tables] == counts
