"""The gateway simulator on the web: Alipay's gateway and WeChat Pay's v3 API for the adapters,
the wallet pages a phone opens from the QR code, and a developer page with the fault switches.

Registered by the app where the simulator is on (``SIMULATOR``: development and testing; in
production only with KIOSK_SIMULATOR=on in training mode), or served alone by
:func:`create_simulator_app` so that several app instances share one simulator::

    KIOSK_ENV=development KIOSK_PUBLIC_BASE_URL=http://127.0.0.1:5100 \\
        gunicorn -w 1 --threads 32 -b 127.0.0.1:5100 'kiosk.web.simulator:create_simulator_app()'

with ``KIOSK_SIMULATOR_URL=http://127.0.0.1:5100/simulator`` given to every instance. One process
(any number of threads): its trades are in memory.
"""
from __future__ import annotations

import math
import os
import threading

from flask import Blueprint, Flask, abort, current_app, make_response, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from ..extensions import csrf
from ..payments.simulator import GATEWAY_FAULTS, NOTIFY_FAULTS, Simulator, ensure_keys
from ..payments.simulator.alipay import TRADE_CLOSED, TRADE_SUCCESS, WAIT_BUYER_PAY
from .forms import ActionForm

bp = Blueprint("simulator", __name__, url_prefix="/simulator")
EXTENSION = "kiosk_simulator"
_building = threading.Lock()

GATEWAY_FAULT_LABELS = {
    "slow": _l("Slow answers (longer than the kiosk waits: a provider timeout)"),
    "http500": _l("HTTP 500 on every call"),
    "garbage": _l("Answers that are not the protocol"),
    "bad_signature": _l("Answers signed with the wrong key"),
}
NOTIFY_FAULT_LABELS = {
    "delay": _l("Delayed"),
    "duplicate": _l("Sent twice"),
    "reorder": _l("Out of order (held until the next one)"),
    "lose": _l("Lost (never sent)"),
    "bad_signature": _l("Signed with the wrong key"),
    "wrong_amount": _l("Wrong amount (one fen more)"),
}
DELIVERY_STATES = {
    "pending": _l("Sending"),
    "held": _l("Held back"),
    "acknowledged": _l("Acknowledged"),
    "given_up": _l("Given up"),
    "lost": _l("Lost"),
}
MAX_SECONDS = 120


def simulator(app: Flask | None = None) -> Simulator:
    """The app's simulator, made on first use from SIMULATOR_KEYS_DIR (tests set its faults here)."""
    app = app or current_app
    found = app.extensions.get(EXTENSION)
    if found is None:
        with _building:
            found = app.extensions.get(EXTENSION)
            if found is None:
                if app.config["ENV_NAME"] != "production":
                    ensure_keys(app.config["SIMULATOR_KEYS_DIR"])  # a checkout's first run (production checked them)
                found = Simulator(app.config["SIMULATOR_KEYS_DIR"], api_base=app.config["SIMULATOR_URL"],
                                  wallet_base=app.config["PUBLIC_BASE_URL"].rstrip("/") + "/simulator")
                app.extensions[EXTENSION] = found
    return found


@bp.context_processor
def page_language():
    locale = str(get_locale())
    return {"simulator_lang": "zh-CN" if locale == "zh" else locale}


def _send(reply):
    response = make_response(reply.body, reply.status)
    for name, value in reply.headers.items():
        response.headers[name] = value
    if reply.content_type:
        response.headers["Content-Type"] = reply.content_type
    else:
        del response.headers["Content-Type"]
    return response


# -- the gateways, for the adapters (signed, so exempt from CSRF and verified instead) --------

@bp.route("/alipay/gateway.do", methods=["GET", "POST"])
@csrf.exempt
def alipay_gateway():
    form = request.form.to_dict() if request.method == "POST" else None
    return _send(simulator().alipay.serve(request.method, "/gateway.do", request.query_string.decode(), form))


@bp.get("/alipay/bill/<name>")
def alipay_bill(name: str):
    return _send(simulator().alipay.serve("GET", f"/bill/{name}"))


@bp.route("/wechat/v3/<path:rest>", methods=["GET", "POST"])
@csrf.exempt
def wechat_api(rest: str):
    # the path exactly as the merchant signed it: as sent, with its query string
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path.rstrip("?")
    prefix = request.script_root + bp.url_prefix + "/wechat"
    path = raw[raw.index(prefix) + len(prefix):] if prefix in raw else "/v3/" + rest
    return _send(simulator().wechat.serve(request.method, path, request.get_data(cache=True),
                                          request.headers.get("Authorization", "")))


# -- the wallet pages: what a phone shows after scanning ------------------------------------

def _alipay_screen(trade) -> str:
    return {WAIT_BUYER_PAY: "payable", TRADE_SUCCESS: "paid", TRADE_CLOSED: "closed"}.get(trade.status, "closed")


def _wechat_screen(order) -> str:
    return {"NOTPAY": "payable", "SUCCESS": "paid", "REFUND": "paid"}.get(order.trade_state, "closed")


def _wallet(provider: str, token: str, choice: str | None = None):
    sim = simulator()
    if provider == "alipay":
        trade = sim.alipay.by_token(token)
        if trade is None:
            abort(404)
        gateway, number = sim.alipay, trade.out_trade_no
        look = lambda: sim.alipay.scan(number)  # noqa: E731  (opening the page is the scan)
        screen_of = _alipay_screen
    elif provider == "wechat":
        trade = sim.wechat.by_token(token)
        if trade is None:
            abort(404)
        gateway, number = sim.wechat, trade.out_trade_no
        look = lambda: sim.wechat.look(number)  # noqa: E731
        screen_of = _wechat_screen
    else:
        abort(404)
    trade = look()
    declined = False
    if choice is not None and screen_of(trade) == "payable":
        try:
            if choice == "pay":
                gateway.pay(number)
            else:
                gateway.decline(number)
                declined = True
        except ValueError:
            pass  # closed in the meantime (the kiosk cancelled it): the page says so
        trade = look()
    screen = screen_of(trade)
    amount = trade.amount_fen if provider == "alipay" else trade.total
    subject = trade.subject if provider == "alipay" else trade.description
    return render_template("simulator/wallet.html", provider=provider, token=token, screen=screen, declined=declined,
                           amount_fen=amount, subject=subject, form=ActionForm())


@bp.get("/<provider>/pay/<token>")
def wallet(provider: str, token: str):
    return _wallet(provider, token)


@bp.post("/<provider>/pay/<token>/<choice>")
def answer(provider: str, token: str, choice: str):
    """Pay or Decline (CSRFProtect has checked the form before this runs)."""
    if choice not in ("pay", "decline"):
        abort(404)
    return _wallet(provider, token, choice)


# -- the developer page ---------------------------------------------------------------------

def _developer_only():
    if current_app.config["ENV_NAME"] == "production":
        abort(404)  # a training hall has no use for fault switches


def _faults_page(status: int = 200, error=None):
    sim = simulator()
    return render_template("simulator/faults.html", faults=sim.faults, gateway_faults=GATEWAY_FAULT_LABELS,
                           notify_faults=NOTIFY_FAULT_LABELS, deliveries=list(reversed(sim.notifier.deliveries[-20:])),
                           states=DELIVERY_STATES, form=ActionForm(), error=error, max_seconds=MAX_SECONDS), status


def _seconds(name: str, default: float) -> float:
    text = request.form.get(name, "").strip()
    if not text:
        return default
    value = float(text)  # ValueError for anything else
    if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
        raise ValueError(name)
    return value


@bp.get("/")
def faults():
    _developer_only()
    return _faults_page()


@bp.post("/faults")
def set_faults():
    _developer_only()
    sim = simulator()
    gateway = request.form.get("gateway", "")
    notify = request.form.getlist("notify")
    try:
        if gateway not in ("", *GATEWAY_FAULTS) or not set(notify) <= set(NOTIFY_FAULTS):
            raise ValueError("unknown fault")
        slow = _seconds("slow_seconds", sim.faults.slow_seconds)
        delay = _seconds("notify_delay_seconds", sim.faults.notify_delay_seconds)
    except ValueError:
        return _faults_page(400, _l("Nothing was changed: choose among the switches and give seconds from 0 to 120."))
    sim.faults.set(gateway=gateway or None, notify=notify, slow_seconds=slow, notify_delay_seconds=delay)
    return _faults_page()


# -- the simulator as a process of its own ---------------------------------------------------

def create_simulator_app(config: dict | None = None) -> Flask:
    """Only the simulator (no database, no kiosk pages): one process that several app instances
    point at with KIOSK_SIMULATOR_URL. Development or testing settings only."""
    from config.settings import SettingsError, load_settings

    from .. import ROOT, select_locale
    from ..extensions import babel
    from ..domain.money import yuan
    from . import security

    env = (config or {}).get("ENV_NAME") or os.environ.get("KIOSK_ENV") or "development"
    if env == "production":
        raise SettingsError("the simulator refuses to run on its own in production: it is for demos and benchmarks")
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"),
                instance_path=str(ROOT / "instance"))
    # it takes no payments itself; its address is its own PUBLIC_BASE_URL
    app.config.update(load_settings(env, {"PAYMENT_PROVIDERS": ("sandbox",), "SIMULATOR": True, **(config or {})}))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(security.refuse_unreadable_input)
    app.after_request(security.security_headers)
    app.jinja_env.filters["yuan"] = yuan
    app.register_blueprint(bp)
    return app
