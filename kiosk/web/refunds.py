"""Refunds and voids at /staff/refunds/: a cashier or supervisor asks, with a reason; another
member of staff, a supervisor, approves or rejects (four eyes). Views parse, call
``services.staff_refunds`` and pick a template."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from ..domain.counter import CounterProblem, typed_fen
from ..domain.refunds import RefundRuleBroken, RequestKind
from ..payments import payments
from ..services import refunds, staff_refunds
from . import go, render, terminals, uow
from .counter import CASHIERS
from .forms import ActionForm, RefundAskForm
from .messages import COUNTER_PROBLEMS, REFUND_RULES, REQUEST_KINDS, REQUEST_STATES
from .staff import role_required

bp = Blueprint("refunds", __name__, url_prefix="/staff/refunds")


def _list(status: int = 200, error=None):
    return render("staff/refunds.html", status=status, requests=staff_refunds.requests_to_show(uow().session),
                  form=ActionForm(), error=error, kinds=REQUEST_KINDS, states=REQUEST_STATES,
                  may_decide=current_user.role == "supervisor")


@bp.get("/")
@role_required(*CASHIERS)
def index():
    return _list()


def _ask_page(form: RefundAskForm, status: int = 200, error=None):
    session = uow().session
    order = staff_refunds.order_by_receipt(session, form.receipt.data or "")
    if order is None:
        return _list(404 if status == 200 else status, REFUND_RULES["not_found"])
    return render("staff/refund_ask.html", status=status, form=form, order=order, receipt=order.receipt,
                  refundable_fen=staff_refunds.refundable_fen(session, order.id), error=error, kinds=REQUEST_KINDS)


@bp.get("/new")
@role_required(*CASHIERS)
def ask():
    form = RefundAskForm(formdata=None, receipt=request.args.get("receipt", ""), kind="refund")
    return _ask_page(form)


@bp.post("/new")
@role_required(*CASHIERS)
def ask_submit():
    form = RefundAskForm()
    order = staff_refunds.order_by_receipt(uow().session, form.receipt.data or "")
    if order is None:
        return _list(422, REFUND_RULES["not_found"])
    try:
        kind = RequestKind(form.kind.data or "")
    except ValueError:
        form.kind.errors = [REFUND_RULES["kind"]]
        return _ask_page(form, 422)
    counter = terminals.current(counter=True)
    if counter is None:  # the cash of a counter payment comes out of the drawer of the counter that asks
        return _ask_page(form, 422, REFUND_RULES["at_counter"])
    try:
        amount = typed_fen(form.amount.data) if (form.amount.data or "").strip() else None
        staff_refunds.ask(uow(), order.id, kind, amount, form.reason.data or "", current_user.id, counter.id)
    except CounterProblem as problem:
        form.amount.errors = [COUNTER_PROBLEMS[problem.code]]
        return _ask_page(form, 422)
    except RefundRuleBroken as broken:
        field = {"reason": form.reason, "amount": form.amount, "too_much": form.amount}.get(broken.code)
        if field is None:
            return _ask_page(form, 422, REFUND_RULES[broken.code])
        field.errors = [REFUND_RULES[broken.code]]
        return _ask_page(form, 422)
    return go("refunds.index")


def _decide(request_id: int, approve: bool):
    try:
        staff_refunds.decide(uow(), request_id, current_user.id, approve, payments().providers, terminals.counter_code())
    except RefundRuleBroken as broken:
        return _list(422, REFUND_RULES[broken.code])
    except refunds.RefundRefused:
        return _list(422, REFUND_RULES["not_paid"])
    return go("refunds.index")


@bp.post("/<int:request_id>/approve")
@role_required("supervisor")
def approve(request_id: int):
    return _decide(request_id, True)


@bp.post("/<int:request_id>/reject")
@role_required("supervisor")
def reject(request_id: int):
    return _decide(request_id, False)
