"""Which terminal a request comes from, enrolling a browser as one, and the kiosks' heartbeat.

A browser is a terminal when it holds an enrolment token in its own cookie (``kiosk_terminal``,
apart from the session, so that wiping a citizen's session never un-enrols the kiosk). An app
instance may instead be set to serve one kiosk and one counter by their codes
(``KIOSK_TERMINAL_CODE``, ``KIOSK_COUNTER_CODE``): then a browser not enrolled is that
terminal. Development sets both (the demo kiosk and counter); production sets neither unless
someone asks, so only enrolled browsers use the kiosk's pages there.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, make_response, request
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address

from ..domain.terminals import PrinterStatus, TerminalKind
from ..extensions import limiter
from ..services import printing, terminals
from ..services.terminals import TerminalError, TerminalRef
from . import render, uow
from .forms import EnrolForm
from .messages import ENROL_REFUSED, ENROL_TOO_MANY

bp = Blueprint("terminals", __name__)

COOKIE = "kiosk_terminal"
# an enrolled kiosk stays enrolled: ten years, renewed by nothing
COOKIE_MAX_AGE = 10 * 365 * 24 * 3600
_BY_SETTING = "kiosk_terminals_by_setting"


def _by_setting(kind: TerminalKind) -> TerminalRef | None:
    """The terminal this instance serves by setting, registered on first use and then remembered."""
    setting = "COUNTER_CODE" if kind is TerminalKind.COUNTER else "TERMINAL_CODE"
    code = current_app.config.get(setting)
    if not code:
        return None
    known = current_app.extensions.setdefault(_BY_SETTING, {})
    if code not in known:
        known[code] = terminals.terminal_by_code(uow(), code, current_app.config.get("TERMINAL_REGION"), kind)
    return known[code]


def current(counter: bool = False) -> TerminalRef | None:
    """The kiosk (or, with ``counter``, the counter) this browser is, or None: not enrolled as
    one, and no terminal served by setting. Enrolled as the other kind, it is not this kind."""
    key = "counter_terminal" if counter else "kiosk_terminal"
    if key not in g:
        enrolled = terminals.terminal_of_browser(uow().session, request.cookies.get(COOKIE))
        if enrolled is not None and (enrolled.kind is TerminalKind.COUNTER) == counter:
            g.setdefault(key, enrolled)
        else:
            g.setdefault(key, _by_setting(TerminalKind.COUNTER if counter else TerminalKind.BUREAU_KIOSK))
    return g.get(key)


def counter_code() -> str:
    """The counter this browser is, for the audit log ("" in a back office that is no counter)."""
    terminal = current(counter=True)
    return terminal.code if terminal is not None else ""


def served_by_setting(terminal: TerminalRef) -> bool:
    """Whether the terminal is the one this instance serves by setting (its region is the setting's too)."""
    return terminal.code in (current_app.config.get("TERMINAL_CODE"), current_app.config.get("COUNTER_CODE"))


# codes are guessed one try at a time: a few tries a minute from one address, counted apart from the kiosk's
ENROL_LIMIT = "10 per minute; 30 per hour"


@bp.route("/enrol", methods=["GET", "POST"])
@limiter.limit(ENROL_LIMIT, key_func=lambda: f"enrol:{get_remote_address()}", methods=["POST"])
def enrol():
    """A technician types the administrator's one-time code on the new kiosk (or counter)."""
    form = EnrolForm()
    if request.method == "GET":
        return render("staff/enrol.html", form=form, done=None)
    try:
        token, terminal = terminals.enrol(uow(), form.code.data or "")
    except TerminalError:
        form.code.errors = [ENROL_REFUSED]
        return render("staff/enrol.html", status=422, form=form, done=None)
    response = make_response(render("staff/enrol.html", form=EnrolForm(formdata=None), done=terminal))
    response.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.errorhandler(RateLimitExceeded)
def enrol_limited(error):
    form = EnrolForm(formdata=None)
    form.code.errors = [ENROL_TOO_MANY]
    return render("staff/enrol.html", status=429, form=form, done=None)


@bp.post("/terminal/heartbeat")
def heartbeat():
    """The kiosk is there (its page posts this every minute), with its printer's status when it
    knows it. 204; a browser that is no terminal gets 403."""
    terminal = current() or current(counter=True)
    if terminal is None:
        return "", 403
    try:
        printer = PrinterStatus(request.form["printer"]) if request.form.get("printer") else None
    except ValueError:
        return "", 422
    # a terminal printing ESC/POS: the server asks its printer itself (the page cannot know)
    probed = printing.probe(uow(), terminal.id, timeout_seconds=current_app.config["PRINTER_TIMEOUT_SECONDS"])
    terminals.heartbeat(uow(), terminal.id, printer if probed is None else probed)
    return "", 204

