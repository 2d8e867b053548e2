"""The web layer: blueprints, the page-or-fragment rule, headers, error pages, filters."""
from __future__ import annotations

import logging

from flask import Flask, current_app, make_response, redirect, render_template, session, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import Markup

from ..domain.clock import to_local
from ..domain.idnumber import mask_name
from ..domain.money import yuan
from ..domain.premiums import Period, Scheme
from ..extensions import db, htmx
from ..payments import provider
from ..services.qrcodes import qr_svg
from ..services.uow import UnitOfWork
from .messages import CHANNELS, PRINTER_STATUSES, PROVIDERS, SCHEMES

log = logging.getLogger(__name__)


def uow() -> UnitOfWork:
    """A unit of work on this request's session: views hand it to services, never commit themselves."""
    return UnitOfWork(db.session)


__all__ = ["provider", "uow"]


def wants_fragment() -> bool:
    """The one rule for page vs fragment: an htmx request that is not a boosted navigation."""
    return bool(htmx and not htmx.boosted)


def render(page: str, fragment: str | None = None, status: int = 200, **context):
    """Render ``page``, or only ``fragment`` for htmx; either way the response varies on it."""
    template = fragment if fragment and wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def go(endpoint: str, **values):
    """After a change: 303 for a plain form post, a full navigation for htmx."""
    target = url_for(endpoint, **values)
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
    else:
        response = redirect(target, code=303)
    response.vary.add("HX-Request")
    return response


def period_label(scheme: str, start, end) -> str:
    if Scheme(scheme).period is Period.YEAR:
        return f"{start:%Y}"
    return f"{start:%Y-%m}"


def channel_label(period) -> str:
    """Where and how a paid period was paid: the kiosk or the counter, and the app or method."""
    where = CHANNELS["statement" if period.from_statement else "counter" if period.at_counter else "kiosk"]
    if period.provider == "counter":  # the demo's and older counter payments name no method
        return str(where)
    return f"{where} · {PROVIDERS.get(period.provider, period.provider)}"


def verify_key() -> bytes:
    """The key of receipts' and certificates' verification codes (``KIOSK_VERIFY_KEY``)."""
    return current_app.config["VERIFY_KEY"].encode()


def verify_url(code: str) -> str:
    """The address a receipt's or certificate's QR code opens on a phone: the public base URL,
    never the Host a request came with."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for("verify.show", code=code)


def _error_page(status: int, message):
    response = make_response(render_template("error.html", message=message, status=status), status)
    response.vary.add("HX-Request")
    if htmx:
        # htmx does not swap error responses by default: show the whole page
        response.headers["HX-Retarget"] = "body"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def register(app: Flask) -> None:
    from . import callbacks, contributions, kiosk, records, sandbox, security, simulator, staff, verify

    security.register(app)
    app.register_blueprint(kiosk.bp)
    app.register_blueprint(records.bp)
    app.register_blueprint(verify.bp)
    staff.init_app(app)  # and the other staff blueprints: counter, refunds, admin, terminals
    app.register_blueprint(contributions.bp)
    app.register_blueprint(callbacks.bp)
    if "sandbox" in app.config["PAYMENT_PROVIDERS"]:
        # the wallet pays without money: it exists only where the sandbox is the provider
        app.register_blueprint(sandbox.bp)
    if app.config.get("SMS_GATEWAY") == "sandbox":
        # every code 'sent', readable on one page: only where the sandbox gateway sends nothing real
        app.register_blueprint(sandbox.sms_bp)
    if app.config["SIMULATOR"]:
        # the gateway simulator: development and testing, or production's training mode when asked for
        app.register_blueprint(simulator.bp)

    app.jinja_env.filters["yuan"] = yuan
    app.jinja_env.filters["mask_name"] = mask_name
    app.jinja_env.filters["local_time"] = lambda moment: format_datetime(to_local(moment), "yyyy-MM-dd HH:mm:ss")
    app.jinja_env.globals["scheme_name"] = lambda code: SCHEMES[Scheme(code)]
    app.jinja_env.globals["period_label"] = period_label
    app.jinja_env.globals["provider_name"] = lambda code: PROVIDERS.get(code, code)
    app.jinja_env.filters["local_date"] = lambda moment: format_datetime(to_local(moment), "yyyy-MM-dd")
    app.jinja_env.globals["channel_label"] = channel_label
    app.jinja_env.globals["printer_problem"] = lambda status: PRINTER_STATUSES[status.value]
    app.jinja_env.globals["verify_url"] = verify_url
    app.jinja_env.globals["verify_qr"] = lambda code: Markup(qr_svg(verify_url(code)))

    @app.context_processor
    def page_globals():
        locale = str(get_locale())
        return {
            "lang": locale,
            "html_lang": "zh-CN" if locale == "zh" else locale,
            "large_text": bool(session.get("large_text")),
            "idle_seconds": current_app.config["IDLE_SECONDS"],
            "idle_warning_seconds": current_app.config["IDLE_WARNING_SECONDS"],
            "training_mode": current_app.config.get("TRAINING_MODE", False),
        }

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return _error_page(400, _l("This screen has expired. Please start again."))

    @app.errorhandler(404)
    def not_found(error):
        return _error_page(404, _l("There is nothing here. Please start again."))

    @app.errorhandler(405)
    def not_allowed(error):
        return _error_page(405, _l("There is nothing here. Please start again."))

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _error_page(500, _l("Something went wrong on our side. You will not be charged twice. Please start again or ask at the counter."))
