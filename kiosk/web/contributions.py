"""The contribution calculator (anyone, no identification) and, for the identified person, the
change of their chosen contribution base. Views parse, call a service, pick a template."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from ..domain.clock import local_today, utcnow
from ..domain.contributions import AmountProblem, Clamp, EmployeeQuote, FlexibleQuote, InvalidAmount, ResidentQuote, parse_yuan_input
from ..domain.money import yuan_of_fen
from ..domain.premiums import Category, Scheme
from ..services import bases, calculator
from . import go, render, terminals, uow
from .forms import row_id
from .kiosk import load_visit, needs_visit

bp = Blueprint("contributions", __name__)
bp.before_request(load_visit)

AMOUNT_PROBLEMS = {
    AmountProblem.EMPTY: _l("Please enter an amount in yuan."),
    AmountProblem.FORMAT: _l("Please enter an amount in yuan using digits, for example 5000 or 5000.50."),
    AmountProblem.TOO_LARGE: _l("This amount is too large. Please check it."),
}
NO_SCHEME = _l("Please choose a type of insurance.")
NO_RULE = _l("There is no rule for this insurance here today. Please ask at the counter.")
BASE_ERRORS = {
    "nothing_selected": _l("Please choose at least one insurance to change."),
    "not_yours": _l("Something changed on this screen. Please look at it again."),
    "out_of_range": _l("The base must be between the lowest and the highest base shown. Nothing was changed."),
    "no_rule": NO_RULE,
}
CLAMPS = {
    Clamp.FLOOR: _l("Raised to the lowest base: the base is never below it."),
    Clamp.CAP: _l("Lowered to the highest base: the base is never above it."),
}
# every category: a rule may subsidise any of them (the demo's orphans had a row with no name)
SUBSIDY_CATEGORIES = {
    Category.STANDARD: _l("Other residents"),
    Category.MINIMUM_LIVING: _l("Minimum living guarantee"),
    Category.EXTREME_POVERTY: _l("Extreme poverty support"),
    Category.ORPHAN: _l("Orphans"),
}


class CalculatorForm(FlaskForm):
    scheme = StringField()
    amount = StringField()


class BaseForm(FlaskForm):
    base = StringField()
    enrolments = SelectMultipleField(coerce=row_id, validate_choice=False, widget=ListWidget(prefix_label=False),
                                     option_widget=CheckboxInput())


class ConfirmBaseForm(FlaskForm):
    base = HiddenField()
    enrolments = SelectMultipleField(coerce=row_id, validate_choice=False)


@bp.app_template_filter("rate")
def rate(per_10000: int) -> str:
    """900 -> '9', 750 -> '7.5', 45 -> '0.45' (the template adds the %)."""
    return format((Decimal(per_10000) / 100).normalize(), "f")


def _today():
    return local_today(utcnow())


def _setting_region() -> str | None:
    """KIOSK_TERMINAL_REGION, for the terminal served by setting; an enrolled one has its own."""
    return current_app.config.get("TERMINAL_REGION") if terminals.served_by_setting(g.terminal) else None


# the calculator: no visit, no person, nothing written

def _calculator(form: CalculatorForm, result=None, error=None, status: int = 200):
    return render("kiosk/calculator.html", "kiosk/_calculator_form.html", status, form=form, schemes=calculator.SCHEMES,
                  result=result, error=error, kind=_kind(result), clamps=CLAMPS, subsidy_categories=SUBSIDY_CATEGORIES)


def _kind(result) -> str | None:
    return {FlexibleQuote: "flexible", EmployeeQuote: "employee", ResidentQuote: "resident"}.get(type(result))


@bp.get("/calculator")
def calculator_page():
    form = CalculatorForm(formdata=None, scheme=Scheme.FLEXIBLE_MEDICAL.value)
    return _calculator(form)


@bp.post("/calculator")
def calculator_submit():
    form = CalculatorForm()
    try:
        scheme = Scheme(form.scheme.data or "")
        if scheme not in calculator.SCHEMES:
            raise ValueError(scheme)
    except ValueError:
        form.scheme.data = None
        return _calculator(form, error=NO_SCHEME, status=422)
    if request.headers.get("HX-Trigger-Name") == "scheme" and not (form.amount.data or "").strip() \
            and scheme is not Scheme.RESIDENT_MEDICAL:
        return _calculator(form)  # only another scheme picked: nothing to say about the amount yet
    try:
        result = calculator.quote(uow().session, g.terminal.code, _setting_region(), scheme, form.amount.data, _today())
    except InvalidAmount as problem:
        return _calculator(form, error=AMOUNT_PROBLEMS[problem.problem], status=422)
    except calculator.NoRule:
        return _calculator(form, error=NO_RULE, status=422)
    return _calculator(form, result=result)


# the change of chosen base: the identified person's own flexible-employment enrolments

def _base_page(form: BaseForm | None = None, new_base_fen: int | None = None, chosen: list[int] | None = None,
               error=None, status: int = 200, saved: bool = False):
    person = g.visit.person
    lines = bases.base_lines(uow().session, person, _today(), new_base_fen, g.visit.terminal_id)
    if not lines:
        return redirect(url_for("kiosk.person"), code=303)
    ids = [line.enrolment_id for line in lines]
    chosen = ids if chosen is None else [i for i in chosen if i in ids]
    form = form or BaseForm(formdata=None)
    confirm = None
    if new_base_fen is not None and error is None:
        confirm = ConfirmBaseForm(formdata=None, base=yuan_of_fen(new_base_fen), enrolments=chosen)
    return render("kiosk/base.html", "kiosk/_base_change.html", status, person=person, lines=lines, chosen=chosen, form=form,
                  confirm=confirm, new_base_fen=new_base_fen, error=error, saved=saved, effective=lines[0].effective_month)


@bp.get("/contribution-base")
@needs_visit()
def base_page():
    return _base_page(saved=request.args.get("saved") == "1")


@bp.post("/contribution-base/preview")
@needs_visit()
def base_preview():
    form = BaseForm()
    if not form.validate_on_submit():  # an enrolment id that is not a number
        return go("contributions.base_page")
    chosen = form.enrolments.data or []
    try:
        base_fen = parse_yuan_input(form.base.data)
    except InvalidAmount as problem:
        return _base_page(form, chosen=chosen, error=AMOUNT_PROBLEMS[problem.problem], status=422)
    try:
        bases.check_change(uow().session, g.visit.person, chosen, base_fen, _today(), g.visit.terminal_id)
    except bases.BaseChangeError as refused:
        return _base_page(form, chosen=chosen, error=BASE_ERRORS[refused.reason], status=422)
    return _base_page(form, base_fen, chosen)


@bp.post("/contribution-base/confirm")
@needs_visit()
def base_confirm():
    form = ConfirmBaseForm()
    if not form.validate_on_submit():
        return go("contributions.base_page")
    chosen = form.enrolments.data or []
    try:
        base_fen = parse_yuan_input(form.base.data)
        bases.change_base(uow(), g.visit.person_id, chosen, base_fen, _today(), g.visit.terminal_id)
    except InvalidAmount as problem:
        return _base_page(chosen=chosen, error=AMOUNT_PROBLEMS[problem.problem], status=422)
    except bases.BaseChangeError as refused:
        return _base_page(chosen=chosen, error=BASE_ERRORS[refused.reason], status=422)
    return go("contributions.base_page", saved=1)
