"""The staff pages under /staff/: log-in and log-out (Flask-Login), and a home page for now.

A staff log-in lives in the same browser cookie as a citizen's visit but apart from it: Flask-Login
keeps its own keys (``STAFF_SESSION_KEYS``), logging out removes only those, and a citizen's visit
ending removes everything else (``kiosk.forget_citizen``). Staff pages are desktop pages: their own
base template, no idle timer, no keypad."""
from __future__ import annotations

import functools

from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user

from ..domain.clock import to_local
from ..extensions import db
from ..services import staff
from . import render, uow
from .forms import StaffLanguageForm, StaffLoginForm

bp = Blueprint("staff", __name__, url_prefix="/staff")

# what a staff log-in keeps in the session: Flask-Login's keys and the staff pages' language
# and the citizen a cashier is serving at the counter (``counter``: a visit at the counter's terminal)
STAFF_SESSION_KEYS = frozenset({"_user_id", "_fresh", "_id", "_remember", "_remember_seconds", "staff_lang", "counter_visit"})

# the blueprints of the staff's desktop pages: they speak the staff's language (``staff_lang``)
STAFF_BLUEPRINTS = frozenset({"staff", "counter", "refunds", "admin", "terminals", "reports", "employers"})

ROLE_NAMES = {"cashier": _l("Cashier"), "supervisor": _l("Supervisor"), "admin": _l("Administrator")}

login_manager = LoginManager()
login_manager.login_view = "staff.login"
login_manager.login_message = None  # no flash: a flashed message would sit in the citizen's session too


class StaffLogin(UserMixin):
    """The logged-in member of staff, as Flask-Login needs them (not the database row)."""

    def __init__(self, user):
        self.id = user.id
        self.username = user.username
        self.display_name = user.display_name
        self.role = user.role


@login_manager.user_loader
def load_staff(user_id: str):
    try:
        staff_id = int(user_id)
    except ValueError:
        return None
    user = staff.active_staff(db.session, staff_id)
    return StaffLogin(user) if user is not None else None


def init_app(app) -> None:
    from . import admin, counter, employers, refunds, reports, terminals

    login_manager.init_app(app)
    for blueprint in (bp, counter.bp, refunds.bp, admin.bp, terminals.bp, reports.bp, employers.bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["role_name"] = lambda role: ROLE_NAMES.get(role, role)


def role_required(*roles: str):
    """A staff page for these roles only: others logged in get a page saying so (403), nobody
    logged in goes to the log-in page."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                return render("staff/forbidden.html", status=403,
                              allowed=[ROLE_NAMES[role] for role in roles])
            return view(*args, **kwargs)

        return wrapper

    return decorator


def forget_staff() -> None:
    for key in STAFF_SESSION_KEYS:
        session.pop(key, None)


def _locked_message(locked_until) -> str:
    return _("This account is locked after too many wrong passwords. Try again after %(time)s (Beijing time), "
             "or ask an administrator.", time=format_datetime(to_local(locked_until), "yyyy-MM-dd HH:mm"))


def _where() -> str:
    """The terminal a log-in happens at, for the audit log: the counter this browser is, if any."""
    from .terminals import counter_code

    return counter_code()


WRONG_LOGIN = _l("The username or password is not right. Please try again.")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = StaffLoginForm()
    error = None
    if request.method == "POST":
        username = (form.username.data or "").strip()[:60]
        password = form.password.data or ""
        if not username or not password:
            error = _("Please enter your username and password.")
        else:
            result = staff.authenticate(uow(), username, password, _where())
            if result.staff_id is not None:
                login_user(load_staff(str(result.staff_id)))
                return redirect(url_for("staff.home"), code=303)
            error = _locked_message(result.locked_until) if result.locked_until else str(WRONG_LOGIN)
        form.password.data = ""
    elif current_user.is_authenticated:
        return redirect(url_for("staff.home"), code=303)
    return render("staff/login.html", form=form, error=error, status=422 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    staff.record_logout(uow(), current_user.id, _where())
    logout_user()
    forget_staff()
    return redirect(url_for("staff.login", out=1), code=303)


@bp.get("/")
@login_required
def home():
    return render("staff/home.html", form=StaffLanguageForm())


@bp.post("/language")
def language():
    """English or Chinese on the staff pages, apart from the citizen's choice."""
    session["staff_lang"] = "en" if _staff_lang() == "zh" else "zh"
    back = _safe_back(request.form.get("next"))
    return redirect(back or (url_for("staff.home") if current_user.is_authenticated else url_for("staff.login")), code=303)


def _safe_back(target: str | None) -> str | None:
    """The staff page the language was switched on, if it is one of ours (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target if target.startswith(("/staff/", "/counter/", "/admin/", "/enrol")) else None


def _staff_lang() -> str:
    lang = session.get("staff_lang")
    return lang if lang in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]
