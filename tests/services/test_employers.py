"""Employer arrears and instalment agreements at the counter (issue 8, seed 002), on SQLite and
PostgreSQL: proposed by one, approved by another supervisor, each instalment paid once."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kiosk.demo import DEMO_EMPLOYER
from kiosk.domain.clock import local_today, utcnow
from kiosk.domain.counter import CounterMethod, CounterProblem
from kiosk.domain.employer import AgreementKind, AgreementProblem, AgreementState
from kiosk.extensions import db
from kiosk.models import AuditEntry, Employer, Instalment
from kiosk.services import employers
from kiosk.services.employers import Party
from tests.services.conftest import run_together, uow
from tests.services.test_counter import Desk, drawer
from tests.services.test_staff_refunds import make

TODAY = local_today(utcnow())
FIRST_DUE = TODAY + dt.timedelta(days=10)


@pytest.fixture
def firm(demo) -> int:
    with demo.app_context():
        return db.session.scalar(select(Employer.id).where(Employer.code == DEMO_EMPLOYER[0]))


@pytest.fixture
def staff_ids(demo) -> dict[str, int]:
    return {"cashier": make(demo, "c1", "cashier"), "boss": make(demo, "s1", "supervisor"), "boss2": make(demo, "s2", "supervisor")}


def standing(app, firm, on=TODAY) -> employers.Standing:
    with app.app_context():
        found = employers.standing(db.session, firm, on)
        db.session.expunge_all()
        return found


def propose(app, firm, by, kind=AgreementKind.EMPLOYER, parties=None, count=3) -> list[int]:
    with app.app_context():
        return employers.propose(uow(), firm, kind, parties or [Party("北京演示商贸有限公司")], count, FIRST_DUE, by)


def decide(app, agreement_id, by, approve=True) -> None:
    with app.app_context():
        employers.decide(uow(), agreement_id, by, approve)


def instalments(app, agreement_id) -> list[Instalment]:
    with app.app_context():
        rows = list(db.session.scalars(select(Instalment).where(Instalment.agreement_id == agreement_id).order_by(Instalment.number)))
        db.session.expunge_all()
        return rows


def test_an_agreement_fixes_the_debt_and_its_instalments_add_up_to_it(demo, firm, staff_ids):
    before = standing(demo, firm)
    debt = before.open_principal_fen + before.open_late_fee_fen
    assert before.open_principal_fen == 6 * DEMO_EMPLOYER[4] and before.balance_fen == debt
    [agreement_id] = propose(demo, firm, staff_ids["cashier"])
    rows = instalments(demo, agreement_id)
    assert sum(row.amount_fen for row in rows) == debt and len(rows) == 3
    # proposed: nothing agreed yet, late fees still run
    later = TODAY + dt.timedelta(days=20)
    assert standing(demo, firm, later).open_late_fee_fen > before.open_late_fee_fen
    decide(demo, agreement_id, staff_ids["boss"])
    # approved: the arrears are agreed, and the balance stays the debt while the agreement is kept
    after = standing(demo, firm)
    assert after.open_arrears == [] and after.balance_fen == debt
    assert standing(demo, firm, FIRST_DUE).balance_fen == debt  # on the first due date: nothing late yet


def test_nobody_approves_their_own_agreement_and_a_cashier_approves_none(demo, firm, staff_ids):
    [agreement_id] = propose(demo, firm, staff_ids["boss"])
    for who, code in ((staff_ids["boss"], "own"), (staff_ids["cashier"], "role")):
        with pytest.raises(AgreementProblem) as refused:
            decide(demo, agreement_id, who)
        assert refused.value.code == code
    decide(demo, agreement_id, staff_ids["boss2"], approve=False)
    assert standing(demo, firm).agreements[0].agreement.state == AgreementState.REJECTED.value
    assert standing(demo, firm).open_arrears  # rejected: the arrears are still open, a new proposal may be made
    propose(demo, firm, staff_ids["cashier"])


def test_instalments_are_paid_at_the_counter_once_and_the_balance_goes_down(demo, firm, staff_ids):
    [agreement_id] = propose(demo, firm, staff_ids["cashier"])
    decide(demo, agreement_id, staff_ids["boss"])
    desk = Desk(demo)
    rows = instalments(demo, agreement_id)
    debt = standing(demo, firm).balance_fen
    with demo.app_context():
        with pytest.raises(CounterProblem):
            employers.pay_instalment(uow(), rows[0].id, CounterMethod.CASH, staff_ids["cashier"], desk.terminal_id(),
                                     tendered_fen=rows[0].amount_fen - 1)
        paid = employers.pay_instalment(uow(), rows[0].id, CounterMethod.CASH, staff_ids["cashier"], desk.terminal_id(),
                                        tendered_fen=rows[0].amount_fen + 500)
        assert (paid.paid_fen, paid.late_fee_fen, paid.change_fen) == (rows[0].amount_fen, 0, 500)
        with pytest.raises(AgreementProblem) as again:
            employers.pay_instalment(uow(), rows[0].id, CounterMethod.CASH, staff_ids["cashier"], desk.terminal_id(),
                                     tendered_fen=rows[0].amount_fen)
        assert again.value.code == "paid"
    assert standing(demo, firm).balance_fen == debt - rows[0].amount_fen
    assert drawer(demo, desk.terminal_id()) == rows[0].amount_fen
    with demo.app_context():
        for row in rows[1:]:
            employers.pay_instalment(uow(), row.id, CounterMethod.POS_CARD, staff_ids["cashier"], desk.terminal_id(),
                                     reference="POS-445566")
        actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("instalment.%"))))
    assert actions == ["instalment.pay"] * 3
    done = standing(demo, firm)
    assert done.balance_fen == 0 and done.agreements[0].agreement.state == AgreementState.COMPLETED.value


def test_racing_cashiers_take_an_instalment_once(demo, firm, staff_ids):
    [agreement_id] = propose(demo, firm, staff_ids["cashier"])
    decide(demo, agreement_id, staff_ids["boss"])
    row = instalments(demo, agreement_id)[0]
    desk = Desk(demo)

    def take(i):
        with demo.app_context():
            return employers.pay_instalment(uow(), row.id, CounterMethod.CASH, staff_ids["cashier"], desk.terminal_id(),
                                            tendered_fen=row.amount_fen)

    results, errors = run_together(3, take)
    assert len([r for r in results if r is not None]) == 1 and len(errors) == 2
    assert drawer(demo, desk.terminal_id()) == row.amount_fen


def test_a_late_instalment_pays_its_late_fee(demo, firm, staff_ids):
    [agreement_id] = propose(demo, firm, staff_ids["cashier"])
    decide(demo, agreement_id, staff_ids["boss"])
    row = instalments(demo, agreement_id)[0]
    late = dt.datetime.combine(row.due_date + dt.timedelta(days=10), dt.time(4))
    assert not standing(demo, firm, row.due_date + dt.timedelta(days=10)).agreements[0].kept
    with demo.app_context():
        paid = employers.pay_instalment(uow(), row.id, CounterMethod.POS_CARD, staff_ids["cashier"], Desk(demo).terminal_id(),
                                        reference="POS-112233", now=late)
    assert paid.late_fee_fen == round(row.amount_fen * 5 * 10 / 10_000) and paid.paid_fen == row.amount_fen + paid.late_fee_fen


def test_a_split_employer_is_signed_for_by_each_party_for_its_share(demo, firm, staff_ids):
    debt = standing(demo, firm).balance_fen
    first = debt // 3
    with pytest.raises(AgreementProblem) as refused:
        propose(demo, firm, staff_ids["cashier"], AgreementKind.SPLIT, [Party("甲公司", first), Party("乙公司", first)])
    assert refused.value.code == "shares"
    ids = propose(demo, firm, staff_ids["cashier"], AgreementKind.SPLIT, [Party("甲公司", first), Party("乙公司", debt - first)])
    decide(demo, ids[0], staff_ids["boss"])  # the batch together
    views = standing(demo, firm).agreements
    assert [view.agreement.state for view in views] == [AgreementState.ACTIVE.value] * 2
    assert sum(view.agreement.debt_fen for view in views) == debt
    assert sum(view.agreement.principal_fen for view in views) == 6 * DEMO_EMPLOYER[4]
    assert [view.agreement.counterparty for view in views] == ["甲公司", "乙公司"]


def test_nothing_to_agree_once_every_arrear_is_under_an_agreement(demo, firm, staff_ids):
    [agreement_id] = propose(demo, firm, staff_ids["cashier"], AgreementKind.BANKRUPTCY, [Party("清算组")])
    with pytest.raises(AgreementProblem):
        propose(demo, firm, staff_ids["cashier"])  # one proposal at a time
    decide(demo, agreement_id, staff_ids["boss"])
    with pytest.raises(AgreementProblem) as refused:
        propose(demo, firm, staff_ids["cashier"])
    assert refused.value.code == "nothing_owed"
