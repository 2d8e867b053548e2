"""Employer arrears at /staff/employers/: find an employer, see what it owes (the balance always
shown), print its arrears notice, propose an instalment agreement (a supervisor who did not
propose it approves), and take its instalments at the counter."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, request
from flask_login import current_user

from ..domain.clock import local_today, utcnow
from ..domain.counter import CounterMethod, CounterProblem, typed_fen
from ..domain.employer import AgreementKind, AgreementProblem
from ..models import Instalment, InstalmentAgreement
from ..services import employers
from ..services.employers import Party
from . import go, render, terminals, uow
from .counter import CASHIERS
from .forms import ActionForm, AgreementForm, InstalmentPayForm
from .messages import AGREEMENT_KINDS, AGREEMENT_PROBLEMS, AGREEMENT_STATES, COUNTER_PROBLEMS
from .staff import role_required

bp = Blueprint("employers", __name__, url_prefix="/staff/employers")

# the notice gives the employer this long to pay before the agency acts
NOTICE_DAYS = 15


def _today() -> dt.date:
    return local_today(utcnow())


@bp.get("/")
@role_required(*CASHIERS)
def index():
    query = request.args.get("q", "")[:100]
    return render("staff/employers.html", query=query, found=employers.find(uow().session, query) if query else None)


def _standing(employer_id: int):
    found = employers.standing(uow().session, employer_id, _today())
    if found is None:
        abort(404)
    return found


def _page(employer_id: int, status: int = 200, form: AgreementForm | None = None, error=None, pay_errors=None):
    return render("staff/employer.html", status=status, standing=_standing(employer_id), form=form or AgreementForm(),
                  action_form=ActionForm(), pay_form=InstalmentPayForm(), error=error, pay_errors=pay_errors or {},
                  kinds=AGREEMENT_KINDS, states=AGREEMENT_STATES, may_decide=current_user.role == "supervisor",
                  at_counter=terminals.current(counter=True) is not None)


@bp.get("/<int:employer_id>")
@role_required(*CASHIERS)
def employer(employer_id: int):
    return _page(employer_id)


@bp.get("/<int:employer_id>/notice")
@role_required(*CASHIERS)
def notice(employer_id: int):
    """The arrears notice (社会保险费补缴通知), to print and hand over or post."""
    found = _standing(employer_id)
    return render("staff/arrears_notice.html", standing=found, pay_by=_today() + dt.timedelta(days=NOTICE_DAYS))


def _parties(form: AgreementForm, kind: AgreementKind) -> list[Party]:
    """One party per line: its name, and for a split, its share in yuan after a comma."""
    parties = []
    for line in (form.parties.data or "").splitlines():
        if not line.strip():
            continue
        if kind is AgreementKind.SPLIT:
            name, _, share = line.replace("，", ",").rpartition(",")
            parties.append(Party(name.strip(), typed_fen(share)))
        else:
            parties.append(Party(line.strip()))
    return parties


@bp.post("/<int:employer_id>/agreements")
@role_required(*CASHIERS)
def propose(employer_id: int):
    _standing(employer_id)
    form = AgreementForm()
    try:
        kind = AgreementKind(form.kind.data or "")
        count = int(form.count.data or "")
        first_due = dt.date.fromisoformat(form.first_due.data or "")
    except ValueError:
        return _page(employer_id, 422, form, AGREEMENT_PROBLEMS["form"])
    try:
        employers.propose(uow(), employer_id, kind, _parties(form, kind), count, first_due, current_user.id, terminals.counter_code())
    except CounterProblem:
        return _page(employer_id, 422, form, AGREEMENT_PROBLEMS["shares"])
    except AgreementProblem as problem:
        return _page(employer_id, 422, form, AGREEMENT_PROBLEMS[problem.code])
    return go("employers.employer", employer_id=employer_id)


def _decide(agreement_id: int, approve: bool):
    agreement = uow().session.get(InstalmentAgreement, agreement_id)
    if agreement is None:
        abort(404)
    employer_id = agreement.employer_id
    try:
        employers.decide(uow(), agreement_id, current_user.id, approve, terminals.counter_code())
    except AgreementProblem as problem:
        return _page(employer_id, 422, error=AGREEMENT_PROBLEMS[problem.code])
    return go("employers.employer", employer_id=employer_id)


@bp.post("/agreements/<int:agreement_id>/approve")
@role_required("supervisor")
def approve(agreement_id: int):
    return _decide(agreement_id, True)


@bp.post("/agreements/<int:agreement_id>/reject")
@role_required("supervisor")
def reject(agreement_id: int):
    return _decide(agreement_id, False)


@bp.post("/instalments/<int:instalment_id>/pay")
@role_required(*CASHIERS)
def pay(instalment_id: int):
    row = uow().session.get(Instalment, instalment_id)
    if row is None:
        abort(404)
    employer_id = row.agreement.employer_id
    counter = terminals.current(counter=True)
    if counter is None:
        return render("staff/not_a_counter.html", status=403)
    form = InstalmentPayForm()
    try:
        method = CounterMethod(form.method.data or "")
        tendered = typed_fen(form.tendered.data) if method.takes_cash else None
        paid = employers.pay_instalment(uow(), instalment_id, method, current_user.id, counter.id, tendered, form.reference.data)
    except ValueError as problem:  # CounterProblem and AgreementProblem are ValueErrors; a bad method too
        code = getattr(problem, "code", "method")
        message = AGREEMENT_PROBLEMS.get(code) or COUNTER_PROBLEMS.get(code) or COUNTER_PROBLEMS["method"]
        return _page(employer_id, 422, pay_errors={instalment_id: message})
    return render("staff/instalment_paid.html", paid=paid, instalment=uow().session.get(Instalment, instalment_id),
                  standing=_standing(employer_id))
