"""What every request and response share: unreadable input is refused before any view runs, and
every response says what the browser may load, frame, sniff, cache and send elsewhere."""
from __future__ import annotations

import re

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l

from ..payments import payments
from ..services.notifications import count_refusal
from . import _error_page, uow

# Characters no person typed and no provider signs: NUL and the other control characters (tab and
# line breaks are text), lone surrogates, and U+FFFD, which is what bytes that were not UTF-8
# decode to. PostgreSQL cannot even store a NUL; none of them is worth passing on to a view.
UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")
UNREADABLE_INPUT = _l("This screen received characters it cannot read, so nothing was changed. Please start again.")

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",  # no inline script, no eval: htmx runs with allowEval false (templates/base.html)
    "style-src 'self'",  # no style attributes either: htmx's indicator style is in kiosk.css
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",  # the wallet's Pay button must not sit under someone else's page
    "object-src 'none'",
])
HSTS = "max-age=31536000; includeSubDomains"


def register(app: Flask) -> None:
    app.before_request(refuse_unreadable_input)
    app.after_request(security_headers)


def _unreadable() -> bool:
    texts = [request.path]
    for values in (request.args, request.form):
        for name, value in values.items(multi=True):
            texts += (name, value)
    return any(UNREADABLE.search(text) for text in texts)


def refuse_unreadable_input():
    """One guard for every request: such input is answered with 400 and reaches no view."""
    if not _unreadable():
        return None
    if request.blueprint == "callbacks":
        # a provider reads the body, not a page: refuse it as the callback refuses any malformed one
        provider = payments().get((request.view_args or {}).get("provider_name", ""))
        if provider is not None:
            count_refusal(uow(), provider.name, "malformed")
        return "failure", 400, {"Content-Type": "text/plain"}
    return _error_page(400, UNREADABLE_INPUT)


def security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers that predate it
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: over HTTPS Flask-WTF refuses a POST whose Referer is missing
    # (WTF_CSRF_SSL_STRICT); URLs carry no personal data, and nothing goes to another origin
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["HSTS"]:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static":
        # nothing a citizen saw may be shown again from a cache or by Back; static files may be cached
        headers["Cache-Control"] = "no-store"
    return response
