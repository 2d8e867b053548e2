"""The citizen journey at a self-service terminal. Views parse, call a service, pick a template."""
from __future__ import annotations

import datetime as dt
import functools
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, make_response, redirect, request, session, url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded

from ..domain.clock import local_today, to_local, utcnow
from ..domain.idnumber import InvalidIdNumber, parse_resident_id
from ..domain.orders import OrderStatus, Source
from ..domain.contributions import FLEXIBLE
from ..domain.premiums import Category
from ..services import checkout, receipts, visits
from ..services import terminals as terminal_service
from ..services.contributions import contribution_record
from ..services.dues import all_lines, schemes_of, total_of
from ..services.people import find_person
from . import go, limits, printouts, render, terminals, uow
from ..payments import payments
from .forms import ActionForm, IdentifyForm, MemberForm, PayForm, PreferenceForm
from .messages import CATEGORIES, CHECKOUT_ERRORS, FAMILY_ERRORS, ID_PROBLEMS, LOOK_UPS_LIMITED, PERSON_NOT_FOUND
from .staff import STAFF_SESSION_KEYS

bp = Blueprint("kiosk", __name__)

# what the service menu offers: only services that work today
SERVICES = ({"endpoint": "kiosk.start", "label": "pay"},)


def _max_idle() -> dt.timedelta:
    cfg = current_app.config
    return dt.timedelta(seconds=cfg["IDLE_SECONDS"] + cfg["IDLE_WARNING_SECONDS"] + cfg["IDLE_GRACE_SECONDS"])


def checkout_settings() -> checkout.CheckoutSettings:
    """The checkout's settings for this request (the counter's QR payments use them too)."""
    return checkout.checkout_settings(current_app.config, _("Social insurance premium"), payments().offered)


PREFERENCES = ("kiosk.toggle_language", "kiosk.toggle_text_size")


@bp.before_request
def load_visit():
    if request.endpoint == "kiosk.payment_status":
        return  # the poll reads its visit together with the order, and loads it only when needed
    g.terminal = terminals.current()
    if g.terminal is None:
        if request.endpoint in PREFERENCES:
            return None  # a phone on a public page (/verify/<code>) may change its language: a session key, nothing more
        return go("terminals.enrol")  # only enrolled browsers use the kiosk's pages
    _load_visit()


def _load_visit() -> None:
    g.visit = visits.load_visit(uow(), session.get("visit"), _max_idle())
    terminal = g.get("terminal")  # the poll does not look its terminal up: its visit says where it is
    if g.visit is not None and terminal is not None and g.visit.terminal_id != terminal.id:
        g.visit = None  # a visit of another terminal (this browser was enrolled anew): not this one's
    if g.visit is None and "visit" in session:
        # destroyed on the server (idle or finished): forget everything about that citizen
        _forget_citizen()


def _forget_citizen() -> None:
    """Language, text size and the visit token all belong to the citizen who left; a staff
    log-in in the same browser is not the citizen's and stays."""
    for key in [key for key in session if key not in STAFF_SESSION_KEYS]:
        session.pop(key)


def needs_visit(with_person: bool = True):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            # the person's id, not the person: most views need only that there is one (no extra read)
            if g.visit is None or (with_person and g.visit.person_id is None):
                return go("kiosk.attract", ended=1)
            return view(*args, **kwargs)

        return wrapper

    return decorator


@bp.get("/")
def attract():
    return render("kiosk/attract.html", services=SERVICES, form=ActionForm(), ended=request.args.get("ended") == "1" and g.visit is None)


# CSRFProtect has checked every POST before a view runs: forms that carry nothing else need no validation.

@bp.post("/start")
def start():
    session["visit"] = visits.begin_visit(uow(), g.terminal.id, session.get("visit"))
    if "id_number" not in request.form:
        return go("kiosk.identify")
    # an ID card read on the attract screen: the number came in this POST's body (never in a URL)
    # and is looked up as the identify form's, with the same checks, limits and messages
    _load_visit()
    return _identify_scanned()


@bp.get("/identify")
@needs_visit(with_person=False)
def identify():
    return render("kiosk/identify.html", "kiosk/_identify_form.html", form=IdentifyForm())


@bp.post("/identify")
@needs_visit(with_person=False)
@limits.look_up
def identify_submit():
    return _identify(IdentifyForm())


@limits.look_up
def _identify_scanned():
    return _identify(IdentifyForm())


def look_up(form, count_miss: bool = True):
    """The person whose ID number is in ``form.id_number``, or None with the reason on the field
    (a number that breaks a rule, or nobody insured under it). At a kiosk a miss counts against
    the not-found budget (``count_miss``); the counter's staff have no such budget."""
    try:
        resident = parse_resident_id(form.id_number.data or "", local_today(utcnow()))
    except InvalidIdNumber as error:
        form.id_number.errors = [ID_PROBLEMS[error.problem]]
        return None
    person = find_person(resident.number, current_app.config["ID_DIGEST_KEY"])
    if person is None:
        if count_miss:
            limits.note_not_found()
        form.id_number.errors = [PERSON_NOT_FOUND]
    return person


def _identify(form: IdentifyForm):
    person = look_up(form)
    if person is not None:
        visits.set_person(uow(), g.visit.id, person.id)
        return go("kiosk.person")
    return render("kiosk/identify.html", "kiosk/_identify_form.html", 422, form=form, here=_here())


def _here() -> str | None:
    """The identify screen drawn at /start (a card read on the attract screen): its toggles show
    /identify again, as /start has no page of its own. Elsewhere the page's own address."""
    return url_for("kiosk.identify") if request.endpoint == "kiosk.start" else None


@bp.errorhandler(RateLimitExceeded)
def look_ups_limited(error):
    """Too many look-ups (only identify and adding a family member are limited, together):
    nothing was looked up. The same screen says until when, and forgets the number typed."""
    until = format_datetime(to_local(limits.refused_until()), "HH:mm")
    mode = MEMBER_MODE if request.endpoint == "kiosk.member_identify_submit" else {}
    return render("kiosk/identify.html", "kiosk/_identify_form.html", 429, form=IdentifyForm(formdata=None),
                  refusal=LOOK_UPS_LIMITED % {"time": until}, here=_here(), **mode)


@bp.get("/person")
@needs_visit()
def person():
    person = g.visit.person
    return render("kiosk/person.html", person=person, schemes=schemes_of(person),
                  category_note=CATEGORIES[Category(person.category)], form=ActionForm(),
                  record=contribution_record(uow().session, person, local_today(utcnow()), g.visit.terminal_id),
                  base_changeable=any(scheme in FLEXIBLE for scheme in schemes_of(person)))


@bp.post("/person/not-me")
@needs_visit()
def not_me():
    visits.set_person(uow(), g.visit.id, None)
    return go("kiosk.identify")


def _unfinished_order():
    order = g.visit.order
    return order if order is not None and not OrderStatus(order.status).finished else None


def _dues_context(selected: list[int] | None = None, error=None):
    now = utcnow()
    today = local_today(now)
    # bills another terminal's unscanned order has held past its grace are offered here (create_order);
    # grouped by person: the payer's first, then each family member's
    groups, key = checkout.present_family_dues(uow(), g.visit.id, today, checkout_settings(), now)
    lines = all_lines(groups)
    person = g.visit.person
    payable = [line for line in lines if line.payable]
    chosen = {line.bill.id for line in payable} if selected is None else set(selected)
    form = PayForm(formdata=None, key=key)
    # for each person whose scheme's payment window is shut today: when it opens (in the person's language)
    windows = {group.person.id: (group.window, format_date(group.window.opens, "long"), format_date(group.window.closes, "long"))
               for group in groups if group.window is not None}
    return dict(person=person, groups=groups, family=len(groups) > 1, lines=lines, payable=payable, chosen=chosen,
                total_fen=total_of(lines, chosen), form=form, error=error, today=today,
                may_add_member=visits.may_add_member(g.visit), member_form=MemberForm(formdata=None), windows=windows,
                # told before paying: a receipt will not come out of this kiosk
                printer_down=not terminal_service.printer_of(uow().session, g.terminal.id).prints)


@bp.get("/dues")
@needs_visit()
def dues():
    if _unfinished_order():
        return redirect(url_for("kiosk.payment"), code=303)
    return render("kiosk/dues.html", **_dues_context(), cancelled=request.args.get("cancelled") == "1")


@bp.post("/dues/total")
@needs_visit()
def dues_total():
    """The total for the ticked items, computed here: templates never add money up."""
    form = PayForm()
    if not form.validate_on_submit():  # a bill id that is not a number
        return go("kiosk.dues")
    now = utcnow()
    lines = checkout.freeze_family_dues(uow(), g.visit.id, local_today(now), checkout.take_over_rule(checkout_settings(), now))
    return render("kiosk/_total.html", total_fen=total_of(lines, form.bills.data or []), out_of_band=True)


@bp.post("/pay")
@needs_visit()
def pay():
    form = PayForm()
    if not form.validate_on_submit():  # a bill id that is not a number
        return go("kiosk.dues")
    try:
        checkout.create_order(uow(), g.visit.id, form.bills.data or [], form.key.data or "", payments().offered, checkout_settings())
    except checkout.CheckoutError as error:
        selected = None if error.reason == "stale" else form.bills.data
        return render("kiosk/dues.html", status=422, **_dues_context(selected, CHECKOUT_ERRORS[error.reason]))
    return go("kiosk.payment")


# Paying for others (seed 003): "Add a family member" on the dues screen -> the keypad again, in
# this mode (same checks, same limits, same messages) -> the member's masked name and ID to
# confirm -> the dues screen, grouped by person. The person looked up waits on the server-side
# visit, never in the browser: no ID number or name in a URL.
MEMBER_MODE = {"member_mode": True, "submit_endpoint": "kiosk.member_identify_submit"}


def _family_refused(reason: str):
    return render("kiosk/dues.html", **_dues_context(error=FAMILY_ERRORS[reason]))


@bp.get("/family/add")
@needs_visit()
def member_identify():
    if _unfinished_order():
        return redirect(url_for("kiosk.payment"), code=303)
    if not visits.may_add_member(g.visit):
        return _family_refused("too_many")
    return render("kiosk/identify.html", "kiosk/_identify_form.html", form=IdentifyForm(), **MEMBER_MODE)


@bp.post("/family/add")
@needs_visit()
@limits.look_up
def member_identify_submit():
    if _unfinished_order():
        return go("kiosk.payment")
    form = IdentifyForm()
    person = look_up(form)
    if person is not None:
        try:
            visits.propose_member(uow(), g.visit.id, person.id)
        except visits.FamilyError as refusal:
            if refusal.reason == "paying":
                return go("kiosk.payment")
            form.id_number.errors = [FAMILY_ERRORS[refusal.reason]]
        else:
            return go("kiosk.member_confirm")
    return render("kiosk/identify.html", "kiosk/_identify_form.html", 422, form=form, **MEMBER_MODE)


@bp.get("/family/confirm")
@needs_visit()
def member_confirm():
    candidate = g.visit.candidate
    if candidate is None or _unfinished_order():
        return redirect(url_for("kiosk.dues"), code=303)
    return render("kiosk/member.html", person=candidate, form=ActionForm())


@bp.post("/family/confirm")
@needs_visit()
def member_confirm_submit():
    if _unfinished_order():
        return go("kiosk.payment")
    try:
        visits.confirm_member(uow(), g.visit.id)
    except visits.FamilyError as refusal:
        if refusal.reason in ("no_candidate", "paying"):
            return go("kiosk.dues")  # which sends an open order on to its QR screen
        return _family_refused(refusal.reason)
    return go("kiosk.dues")


@bp.post("/family/cancel")
@needs_visit()
def member_cancel():
    visits.drop_candidate(uow(), g.visit.id)
    return go("kiosk.dues")


@bp.post("/family/remove")
@needs_visit()
def member_remove():
    form = MemberForm()
    if form.validate_on_submit() and form.person.data is not None:
        try:
            visits.remove_member(uow(), g.visit.id, form.person.data)
        except visits.FamilyError:
            return go("kiosk.payment")  # the list of an order being paid does not change
    return go("kiosk.dues")


def _current_order():
    order_id = g.visit.order_id
    return checkout.poll(uow(), order_id, payments().providers, checkout_settings()) if order_id is not None else None


# what the QR screen shows for each state of its order (templates never compare raw states)
SCREENS = {
    OrderStatus.PENDING: "qr", OrderStatus.CLOSING: "closing", OrderStatus.EXPIRED: "expired",
    OrderStatus.FAILED: "failed", OrderStatus.REFUNDED: "refunded",
}


@bp.get("/payment")
@needs_visit()
def payment():
    order = _current_order()
    status = OrderStatus(order.status) if order is not None else None
    if status is OrderStatus.CANCELLED and checkout.was_taken_over(uow().session, order.id):
        # this QR was never scanned and another terminal took its items: say so, once
        return render("kiosk/payment.html", order=order, screen="moved", remaining=0, form=ActionForm())
    if status in (None, OrderStatus.CANCELLED):
        return redirect(url_for("kiosk.dues"), code=303)
    if status is OrderStatus.PAID:
        return redirect(url_for("kiosk.receipt"), code=303)
    return render("kiosk/payment.html", order=order, screen=SCREENS[status], remaining=_remaining(order), form=ActionForm(),
                  codes=_qr_codes(order))


def _qr_codes(order) -> list:
    """The QR codes to show, side by side: the current round's attempts that can be paid and have one."""
    return [attempt for attempt in order.current_attempts if attempt.status == OrderStatus.PENDING.value and attempt.qr_svg]


def _remaining(order) -> int:
    return max(0, int((order.expires_at - utcnow()).total_seconds()))


@bp.get("/payment/status")
def payment_status():
    """The QR screen's poll, every second. While the order waits and the provider is not due
    to be asked, one read and ``204 No Content``: htmx swaps nothing and kiosk.js runs the
    countdown. Otherwise the full poll: it expires the order, asks the provider, or sees the
    change and sends the kiosk to the screen of the new state."""
    cfg = current_app.config
    if checkout.quiet_poll(uow(), session.get("visit"), dt.timedelta(seconds=cfg["PROVIDER_QUERY_INTERVAL_SECONDS"]), _max_idle()):
        response = make_response("", 204)
        response.vary.add("HX-Request")
        return response
    _load_visit()
    return _full_poll()


@needs_visit()
def _full_poll():
    order = _current_order()
    if order is None or order.status not in (OrderStatus.PENDING.value, OrderStatus.CLOSING.value):
        response = render("kiosk/_poll_done.html")
        response.headers["HX-Redirect"] = url_for("kiosk.payment")
        return response
    codes, shown = _qr_codes(order), request.args.get("shown", type=int)
    if not codes or shown is not None and shown != len(codes):
        # no QR code yet, or one came or went (a provider closed its trade): draw the screen again
        response = render("kiosk/_poll_done.html")
        response.headers["HX-Refresh"] = "true"
        return response
    return render("kiosk/_poller.html", order=order, remaining=_remaining(order), codes=codes)


@bp.post("/payment/cancel")
@needs_visit()
def payment_cancel():
    order_id = g.visit.order_id
    if order_id is None:
        return go("kiosk.dues")
    order = checkout.close_order(uow(), order_id, OrderStatus.CANCELLED, payments().providers, Source.CANCEL)
    if order.status == OrderStatus.CANCELLED.value:
        return go("kiosk.dues", cancelled=1)  # the list says nothing was charged
    if order.status == OrderStatus.PAID.value:
        return go("kiosk.receipt")  # paid a moment ago
    # given back by the cancel (say so), or another closer at work: the QR screen shows which
    return go("kiosk.payment")


@bp.post("/payment/retry")
@needs_visit()
def payment_retry():
    """A new QR for the same bills after expiry, failure or a payment given back (amounts computed again)."""
    order = g.visit.order
    retryable = (OrderStatus.EXPIRED.value, OrderStatus.FAILED.value, OrderStatus.REFUNDED.value)
    if order is None or order.status not in retryable:
        return go("kiosk.payment")
    try:
        checkout.retry_order(uow(), g.visit.id, payments().offered, checkout_settings())
    except checkout.CheckoutError:
        return go("kiosk.dues")
    return go("kiosk.payment")


@bp.get("/receipt")
@needs_visit()
def receipt():
    order = g.visit.order
    if order is None or order.status != OrderStatus.PAID.value:
        return redirect(url_for("kiosk.payment"), code=303)
    order_id, receipt = order.id, order.receipt
    # printed once on arrival; a reload must not print it again
    auto_print = receipt is not None and receipts.mark_printed(uow(), receipt.id, first_only=True)
    return _receipt_page(order_id, auto_print, copy=False)


def _receipt_page(order_id: int, print_now: bool, copy: bool):
    """The receipt screen; with ``print_now``, the receipt prints: on the terminal's ESC/POS
    printer from here (the screen then says whether it came out), else by the page itself."""
    # the order with everything the receipt shows, in three reads (not one per item and bill)
    context = printouts.receipt_context(order_id)
    # "Print again": marked as a copy, on the screen and the paper; the toggles show the receipt
    # again (/receipt/print is a POST)
    context.update(auto_print=print_now, reprint=copy, here=url_for("kiosk.receipt"), form=ActionForm(),
                   paid_twice=checkout.paid_twice(context["order"]))
    if print_now and context["receipt"] is not None:
        printouts.print_receipt(g.visit.terminal_id, context, copy=copy)
    return render("kiosk/receipt.html", **context)


@bp.post("/receipt/print")
@needs_visit()
def receipt_print():
    order = g.visit.order
    if order is None or order.receipt is None:
        return go("kiosk.receipt")
    order_id = order.id
    receipts.mark_printed(uow(), order.receipt.id)
    return _receipt_page(order_id, True, copy=True)


def _end_session():
    if session.get("visit"):
        visits.end_visit(uow(), session["visit"])
    _forget_citizen()


@bp.post("/done")
def done():
    _end_session()
    return go("kiosk.attract")


@bp.post("/session/continue")
def session_continue():
    """Continue on the idle warning: the visit was touched by ``load_visit``."""
    return ("", 204) if g.visit is not None else go("kiosk.attract", ended=1)


@bp.post("/session/end")
def session_end():
    """The idle timer ran out: destroy the visit on the server, then show the attract screen."""
    _end_session()
    return go("kiosk.attract")


def _safe_next(target: str | None) -> str:
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return url_for("kiosk.attract")
    return parts.path


def _set_preference(name: str, value) -> object:
    """Both toggles: change one session preference, then show the same screen again."""
    session[name] = value
    return redirect(_safe_next(PreferenceForm().next.data), code=303)


@bp.post("/preferences/language")
def toggle_language():
    current = session.get("lang", current_app.config["BABEL_DEFAULT_LOCALE"])
    return _set_preference("lang", "en" if current == "zh" else "zh")


@bp.post("/preferences/text-size")
def toggle_text_size():
    return _set_preference("large_text", not session.get("large_text", False))
