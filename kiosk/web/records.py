"""My payment records at a kiosk (issue 9): identify, prove it is you (a code by SMS, or the
ID-card reader), see every payment by year and scheme, reprint a receipt, print a certificate.
The visit, its terminal and its idle timer are the kiosk's (``kiosk.load_visit``)."""
from __future__ import annotations

import functools

from flask import Blueprint, current_app, g, session, url_for
from flask_babel import format_datetime
from flask_limiter import RateLimitExceeded

from ..domain import otp as otp_rules
from ..domain.clock import local_today, to_local, utcnow
from ..domain.records import by_year_and_scheme, mask_phone
from ..models import Certificate
from ..services import otp, receipts, records, visits
from ..services import terminals as terminal_service
from ..services.contributions import contribution_record
from ..services.dues import schemes_of
from ..sms import sms_gateway
from . import go, limits, printouts, render, uow, verify_key
from .forms import ActionForm, CertificateForm, CodeForm, RecordsIdentifyForm, ReprintForm, row_id
from .kiosk import load_visit, look_up
from .messages import CODE_VERDICTS, LOOK_UPS_LIMITED, NAME_MISMATCH, SEND_OUTCOMES

bp = Blueprint("records", __name__, url_prefix="/records")
bp.before_request(load_visit)

IDENTIFY = {"records_mode": True, "submit_endpoint": "records.identify_submit"}


def _secret() -> bytes:
    return otp.otp_secret(current_app.config["SECRET_KEY"])


def needs(proof: bool):
    """The visit must have a person (``proof``: who has proven who they are); else the attract
    screen, as for any ended visit."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            visit = g.visit
            if visit is None or (proof and (visit.person_id is None or not visit.proven_by)):
                return go("kiosk.attract", ended=1)
            return view(*args, **kwargs)

        return wrapper

    return decorator


@bp.post("/start")
def start():
    session["visit"] = visits.begin_visit(uow(), g.terminal.id, session.get("visit"))
    return go("records.identify")


@bp.get("/identify")
@needs(proof=False)
def identify():
    return render("kiosk/identify.html", "kiosk/_identify_form.html", form=RecordsIdentifyForm(), **IDENTIFY)


@bp.post("/identify")
@needs(proof=False)
@limits.look_up
def identify_submit():
    form = RecordsIdentifyForm()
    person = look_up(form)
    if person is None:
        return render("kiosk/identify.html", "kiosk/_identify_form.html", 422, form=form, **IDENTIFY)
    visits.set_person(uow(), g.visit.id, person.id)
    if (form.name.data or "").strip():
        # the ID-card reader typed the name too: it must be the person's, or the card is not theirs
        if not otp.prove_by_card(uow(), visit_id=g.visit.id, name_read=form.name.data):
            limits.note_not_found()  # names tried against a number count as misses: guessing slows to a crawl
            visits.set_person(uow(), g.visit.id, None)
            form.id_number.errors = [NAME_MISMATCH]
            return render("kiosk/identify.html", "kiosk/_identify_form.html", 422, form=form, **IDENTIFY)
        return go("records.overview")
    return go("records.prove")


@bp.errorhandler(RateLimitExceeded)
def look_ups_limited(error):
    until = format_datetime(to_local(limits.refused_until()), "HH:mm")
    return render("kiosk/identify.html", "kiosk/_identify_form.html", 429, form=RecordsIdentifyForm(formdata=None),
                  refusal=LOOK_UPS_LIMITED % {"time": until}, **IDENTIFY)


def _prove_page(status: int = 200, outcome: otp.SendOutcome | None = None):
    person = g.visit.person
    message = None
    if outcome is not None:
        until = format_datetime(to_local(outcome.until), "HH:mm") if outcome.until else ""
        message = SEND_OUTCOMES[outcome.result] % {"time": until}
    return render("records/prove.html", status=status, phone=mask_phone(person.phone), sms=sms_gateway() is not None,
                  message=message, form=ActionForm(), here=url_for("records.prove"))


@bp.get("/prove")
@needs(proof=False)
def prove():
    if g.visit.person_id is None:
        return go("records.identify")
    if g.visit.proven_by:
        return go("records.overview")
    return _prove_page()


@bp.post("/code/send")
@needs(proof=False)
def send_code():
    if g.visit.person_id is None:
        return go("records.identify")
    outcome = otp.send_code(uow(), sms_gateway(), _secret(), visit_id=g.visit.id, terminal_id=g.visit.terminal_id)
    if outcome.result is otp.Sent.SENT:
        return go("records.code")
    return _prove_page(429 if outcome.result in (otp.Sent.LIMITED, otp.Sent.THROTTLED) else 422, outcome)


def _code_page(form: CodeForm, status: int = 200, message=None):
    return render("records/code.html", "records/_code_form.html", status, form=form, message=message,
                  phone=mask_phone(g.visit.person.phone), digits=otp_rules.CODE_DIGITS)


@bp.get("/code")
@needs(proof=False)
def code():
    if g.visit.person_id is None or otp.pending_challenge(uow().session, g.visit.id) is None:
        return go("records.prove")
    return _code_page(CodeForm())


@bp.post("/code")
@needs(proof=False)
def code_submit():
    form = CodeForm()
    if g.visit.person_id is None:
        return go("records.identify")
    outcome = otp.check_code(uow(), _secret(), visit_id=g.visit.id, typed=form.code.data or "")
    if outcome.verdict is otp_rules.Verdict.OK:
        return go("records.overview")
    form.code.data = ""
    return _code_page(form, 422, CODE_VERDICTS[outcome.verdict] % {"tries": outcome.tries_left})


@bp.get("/")
@needs(proof=True)
def overview():
    person = g.visit.person
    db_session = uow().session
    periods = records.payment_records(db_session, person.id)
    return render("records/overview.html", person=person, groups=by_year_and_scheme(periods, [s.value for s in schemes_of(person)]),
                  record=contribution_record(db_session, person, local_today(utcnow()), g.visit.terminal_id), form=ActionForm(),
                  printer_down=not terminal_service.printer_of(db_session, g.visit.terminal_id).prints)


@bp.post("/reprint")
@needs(proof=True)
def reprint():
    form = ReprintForm()
    try:
        receipt_id = row_id(form.receipt.data)
    except (TypeError, ValueError):
        return go("records.overview")
    receipt = records.receipt_of(uow().session, g.visit.person_id, receipt_id)
    if receipt is None:
        return go("records.overview")
    order_id = receipt.order_id
    receipts.mark_printed(uow(), receipt.id)
    context = printouts.receipt_context(order_id)
    # drawn in answer to a POST: the language and text-size toggles show the records again
    context.update(reprint=True, auto_print=True, form=ActionForm(), here=url_for("records.overview"))
    return render("records/receipt.html", **printouts.print_receipt(g.visit.terminal_id, context, copy=True))


@bp.post("/certificate")
@needs(proof=True)
def certificate():
    form = CertificateForm()
    choice = records.certificate_choice(uow().session, g.visit.person_id, form.year.data, form.scheme.data)
    if choice is None:
        return go("records.overview")
    certificate_id = records.issue_certificate(uow(), person_id=g.visit.person_id, year=choice[0], scheme=choice[1],
                                               terminal_id=g.visit.terminal_id)
    context = dict(certificate_context(certificate_id), auto_print=True, form=ActionForm(), here=url_for("records.overview"))
    return render("records/certificate.html", **printouts.print_certificate(g.visit.terminal_id, context))


def certificate_context(certificate_id: int) -> dict:
    """What the certificate template shows (the kiosk's 80 mm and the counter's A4)."""
    db_session = uow().session
    certificate = db_session.get(Certificate, certificate_id)
    return dict(certificate=certificate, lines=records.certificate_lines(db_session, certificate),
                verify_code=records.certificate_code(verify_key(), certificate), reprint=certificate.print_count > 1)

