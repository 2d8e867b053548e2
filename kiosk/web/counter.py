"""The counter: a cashier identifies a citizen, ticks their dues (family members' too) and takes
the payment in cash, by bank card on the POS terminal or by social security card.

Desktop pages for a keyboard (access keys), behind a staff log-in with a cashier's or
supervisor's role. The citizen being served is a visit at the counter's terminal, its token in
the staff part of the session (``counter_visit``): the dues, family members and checkout key are
the kiosk's own, so the same rules price the same bills. Views parse, call ``services.counter``
and pick a template; every look-up and payment is in the audit log."""
from __future__ import annotations

import re

from flask import Blueprint, abort, g, session
from flask_login import current_user

from ..domain.clock import local_today, utcnow
from ..domain.counter import CounterMethod, CounterProblem, typed_fen
from ..domain.orders import OrderStatus, Source
from ..domain.records import NotAPhone, by_year_and_scheme, mask_phone, normalise_phone
from ..payments import payments
from ..services import checkout, counter, people, receipts, records, visits
from ..services.dues import all_lines, total_of
from ..services.staff import audit
from . import go, printouts, render, terminals, uow, verify_key
from .kiosk import checkout_settings, look_up
from .records import certificate_context
from .forms import ActionForm, CertificateForm, CounterIdentifyForm, CounterPayForm, FloatForm, MemberForm, PhoneForm
from .messages import CERTIFICATE_NOTHING, CHECKOUT_ERRORS, PHONE_INVALID, COUNTER_METHODS, COUNTER_PROBLEMS, FAMILY_ERRORS
from .staff import role_required

bp = Blueprint("counter", __name__, url_prefix="/counter")

# who takes payments at the counter (administrators manage, they do not take money)
CASHIERS = ("cashier", "supervisor")


def terminal_code() -> str:
    """The counter this browser is (enrolled, or served by ``KIOSK_COUNTER_CODE``)."""
    return terminals.current(counter=True).code


def terminal_id() -> int:
    return terminals.current(counter=True).id


@bp.before_request
def load_counter_visit():
    if terminals.current(counter=True) is None:
        # a log-in first; then a page saying this browser is no counter (and how to enrol it)
        return None if not current_user.is_authenticated else render("staff/not_a_counter.html", status=403)
    g.visit = visits.load_visit(uow(), session.get("counter_visit"), visits.COUNTER_IDLE)
    if g.visit is None or g.visit.terminal_id != terminal_id():
        g.visit = None
        session.pop("counter_visit", None)


def _audit(action: str, **after) -> None:
    with uow() as work:
        audit(work.session, action, current_user.id, terminal_code(), after=after or None)
        work.commit()


def _page(status: int = 200, *, identify=None, member=None, pay=None, error=None, float_form=None, phone_form=None,
          phone_error=None):
    """The counter's one page: the identify form when nobody is being served, else their dues."""
    here = terminal_id()
    context = dict(identify=identify or CounterIdentifyForm(), member=member or CounterIdentifyForm(prefix="member"),
                   float_form=float_form or FloatForm(), action_form=ActionForm(), remove_form=MemberForm(),
                   methods=COUNTER_METHODS, error=error,
                   drawer_fen=counter.drawer_balance(uow().session, here), terminal_code=terminal_code())
    if g.visit is not None and g.visit.person_id is not None:
        groups, key = checkout.present_family_dues(uow(), g.visit.id, local_today(utcnow()))
        pay = pay or CounterPayForm()
        pay.key.data = key
        lines = all_lines(groups)
        chosen = set(pay.bills.data or [line.bill.id for line in lines if line.payable])
        context.update(groups=groups, pay=pay, payable=[line for line in lines if line.payable], chosen=chosen,
                       total_fen=total_of(lines, chosen), may_add=visits.may_add_member(g.visit),
                       certificates=by_year_and_scheme(records.payment_records(uow().session, g.visit.person_id)),
                       phone_form=phone_form or PhoneForm(), phone_error=phone_error,
                       phone_masked=mask_phone(g.visit.person.phone) if g.visit.person.phone else None)
    return render("counter/counter.html", status=status, **context)


@bp.get("/")
@role_required(*CASHIERS)
def home():
    return _page()


@bp.post("/total")
@role_required(*CASHIERS)
def total():
    """The total of the ticked items, computed here as the cashier ticks (templates never add money up)."""
    form = CounterPayForm()
    if g.visit is None or g.visit.person_id is None or not form.validate_on_submit():
        return go("counter.home")
    lines = checkout.freeze_family_dues(uow(), g.visit.id, local_today(utcnow()))
    return render("counter/_total.html", total_fen=total_of(lines, form.bills.data or []))


@bp.post("/identify")
@role_required(*CASHIERS)
def identify():
    form = CounterIdentifyForm()
    person = look_up(form, count_miss=False)
    if person is None:
        return _page(422, identify=form)
    session["counter_visit"] = visits.begin_visit(uow(), terminal_id(), session.get("counter_visit"))
    visit = visits.load_visit(uow(), session["counter_visit"], visits.COUNTER_IDLE)
    visits.set_person(uow(), visit.id, person.id)
    _audit("counter.identify", person_id=person.id)
    return go("counter.home")


@bp.post("/family")
@role_required(*CASHIERS)
def add_member():
    if g.visit is None or g.visit.person_id is None:
        return go("counter.home")
    form = CounterIdentifyForm(prefix="member")
    person = look_up(form, count_miss=False)
    if person is None:
        return _page(422, member=form)
    try:
        visits.propose_member(uow(), g.visit.id, person.id)
        visits.confirm_member(uow(), g.visit.id)
    except visits.FamilyError as refusal:
        form.id_number.errors = [FAMILY_ERRORS[refusal.reason]]
        return _page(422, member=form)
    _audit("counter.family_member", person_id=person.id)
    return go("counter.home")


@bp.post("/family/remove")
@role_required(*CASHIERS)
def remove_member():
    form = MemberForm()
    if g.visit is not None and form.person.data:
        try:
            visits.remove_member(uow(), g.visit.id, form.person.data)
        except visits.FamilyError:
            pass  # an order being paid keeps its list; the page shows it as it is
    return go("counter.home")


def _tender(form: CounterPayForm) -> counter.Tender:
    """What the cashier typed, as the service takes it; ``CounterProblem`` names the field at fault."""
    try:
        method = CounterMethod(form.method.data or "")
    except ValueError:
        raise CounterProblem("method") from None
    tendered = typed_fen(form.tendered.data) if method.takes_cash else None
    return counter.Tender(method, tendered, form.reference.data, form.card_number.data)


# the field each problem belongs on
_PROBLEM_FIELDS = {"short": "tendered", "tendered": "tendered", "amount": "tendered", "reference": "reference",
                   "card": "card_number", "method": "method"}


@bp.post("/pay")
@role_required(*CASHIERS)
def pay():
    if g.visit is None or g.visit.person_id is None:
        return go("counter.home")
    form = CounterPayForm()
    if form.method.data == QR:
        return _pay_by_qr(form)
    try:
        result = counter.take_payment(uow(), g.visit.id, form.bills.data or [], form.key.data or "", _tender(form),
                                      current_user.id)
    except CounterProblem as problem:
        getattr(form, _PROBLEM_FIELDS[problem.code]).errors = [COUNTER_PROBLEMS[problem.code]]
        return _page(422, pay=form)
    except checkout.CheckoutError as refusal:
        return _page(422, pay=form, error=CHECKOUT_ERRORS.get(refusal.reason, CHECKOUT_ERRORS["not_payable"]))
    return go("counter.payment", order_id=result.order_id)


# the QR payment at a counter: the kiosk's order and QR codes, shown on the customer display
QR = "qr"


def _pay_by_qr(form: CounterPayForm):
    try:
        checkout.create_order(uow(), g.visit.id, form.bills.data or [], form.key.data or "", payments().offered,
                              checkout_settings(), staff_id=current_user.id)
    except checkout.CheckoutError as refusal:
        return _page(422, pay=form, error=CHECKOUT_ERRORS.get(refusal.reason, CHECKOUT_ERRORS["not_payable"]))
    _audit("counter.qr", order_id=g.visit.order_id if g.visit.order_id else None)
    return go("counter.qr")


def _open_order():
    """The order the citizen being served is paying by QR, asked about at the provider (the poll)."""
    if g.visit is None or g.visit.order_id is None:
        return None
    return checkout.poll(uow(), g.visit.order_id, payments().providers, checkout_settings())


@bp.get("/qr")
@role_required(*CASHIERS)
def qr():
    """The cashier's view of a QR payment: the amount and what the customer display shows; the
    page asks every two seconds until it is paid, expired or cancelled."""
    order = _open_order()
    if order is None:
        return go("counter.home")
    if order.status == OrderStatus.PAID.value:
        return go("counter.payment", order_id=order.id)
    return render("counter/qr.html", "counter/_qr_state.html", order=order, state=order.status, form=ActionForm(),
                  codes=[a for a in order.current_attempts if a.status == OrderStatus.PENDING.value and a.qr_svg])


@bp.post("/qr/cancel")
@role_required(*CASHIERS)
def qr_cancel():
    if g.visit is not None and g.visit.order_id is not None:
        order = checkout.close_order(uow(), g.visit.order_id, OrderStatus.CANCELLED, payments().providers, Source.CANCEL)
        if order.status == OrderStatus.PAID.value:
            return go("counter.payment", order_id=order.id)  # paid a moment ago
    return go("counter.home")


@bp.get("/display")
@role_required(*CASHIERS)
def display():
    """The customer display: a second window facing the citizen, following the counter's
    current order (the amount, the QR codes, then paid). It only reads; the cashier's page asks
    the provider."""
    return render("counter/display.html", "counter/_display_state.html", **_display_state())


def _display_state() -> dict:
    order = g.visit.order if g.visit is not None else None
    if order is None or order.status in (OrderStatus.CANCELLED.value, OrderStatus.EXPIRED.value, OrderStatus.FAILED.value):
        return {"state": "welcome", "order": None, "codes": [], "taken": None}
    codes = [a for a in order.current_attempts if a.status == OrderStatus.PENDING.value and a.qr_svg]
    return {"state": order.status, "order": order, "codes": codes, "taken": counter.taken(uow().session, order.id)}


def _counter_order(order_id: int):
    """An order taken at this counter, with its receipt, or 404 (another counter's, a kiosk's)."""
    order = checkout.order_with_receipt(uow().session, order_id)
    if order is None or order.terminal.code != terminal_code() or order.staff_id is None:
        abort(404)
    return order


def _payment_page(order_id: int, *, auto_print: bool, reprint: bool):
    verify_code = records.order_receipt_code(uow(), verify_key(), order_id)
    order = _counter_order(order_id)
    context = printouts.receipt_view(order, verify_code)
    context.update(taken=counter.taken(uow().session, order.id),  # None for a QR payment
                   auto_print=auto_print, reprint=reprint, form=ActionForm(),
                   serving=g.visit is not None and g.visit.order_id == order.id)
    if auto_print and order.receipt is not None:
        # a counter with an ESC/POS printer prints from here; the page says whether it came out
        printouts.print_receipt(order.terminal_id, context, copy=reprint)
    return render("counter/payment.html", **context)


@bp.get("/payments/<int:order_id>")
@role_required(*CASHIERS)
def payment(order_id: int):
    order = _counter_order(order_id)
    # printed once when it is first shown; a reload does not print it again
    auto_print = order.receipt is not None and receipts.mark_printed(uow(), order.receipt.id, first_only=True)
    return _payment_page(order_id, auto_print=auto_print, reprint=False)


@bp.post("/payments/<int:order_id>/reprint")
@role_required(*CASHIERS)
def reprint(order_id: int):
    order = _counter_order(order_id)
    if order.receipt is None:
        return go("counter.payment", order_id=order_id)
    receipts.mark_printed(uow(), order.receipt.id)
    _audit("receipt.reprint", order_id=order_id, receipt=order.receipt.number)
    return _payment_page(order_id, auto_print=True, reprint=True)


@bp.post("/phone")
@role_required(*CASHIERS)
def phone():
    """The mobile number the citizen being served wants one-time codes sent to (their records at a
    kiosk); blank removes it. The cashier has their ID card in hand."""
    form = PhoneForm()
    if g.visit is None or g.visit.person_id is None:
        return go("counter.home")
    typed = (form.phone.data or "").strip()
    try:
        number = normalise_phone(typed) if typed else None
    except NotAPhone:
        return _page(422, phone_form=form, phone_error=PHONE_INVALID)
    people.set_phone(uow(), g.visit.person_id, number, current_user.id, terminal_code())
    return go("counter.home")


@bp.post("/certificate")
@role_required(*CASHIERS)
def certificate():
    """A payment certificate of the citizen being served, for a year and scheme they paid, on A4
    (issue 9): the cashier has seen their ID card, so no code is asked for."""
    form = CertificateForm()
    if g.visit is None or g.visit.person_id is None:
        return go("counter.home")
    chosen = re.fullmatch(r"([0-9]{4}):([a-z_]{1,40})", form.choice.data or "")  # "2027:resident_medical", as offered
    choice = records.certificate_choice(uow().session, g.visit.person_id, int(chosen[1]), chosen[2]) if chosen else None
    if choice is None:
        return _page(422, error=CERTIFICATE_NOTHING)
    certificate_id = records.issue_certificate(uow(), person_id=g.visit.person_id, year=choice[0], scheme=choice[1],
                                               terminal_id=terminal_id(), staff_id=current_user.id)
    _audit("certificate.issue", certificate_id=certificate_id, year=choice[0], scheme=choice[1])
    return render("counter/certificate.html", **certificate_context(certificate_id), a4=True, auto_print=True)


@bp.post("/next")
@role_required(*CASHIERS)
def next_customer():
    """Everything about the citizen just served is destroyed on the server."""
    token = session.pop("counter_visit", None)
    if token:
        visits.end_visit(uow(), token)
    return go("counter.home")


@bp.post("/float")
@role_required(*CASHIERS)
def put_float():
    form = FloatForm()
    try:
        counter.put_float(uow(), terminal_id(), typed_fen(form.amount.data), current_user.id)
    except CounterProblem as problem:
        form.amount.errors = [COUNTER_PROBLEMS[problem.code]]
        return _page(422, float_form=form)
    return go("counter.home")
