"""Provider callbacks: signed by the provider, so exempt from CSRF and verified instead."""
from __future__ import annotations

from flask import Blueprint, abort, request

from ..extensions import csrf
from ..payments import notify_path, payments
from ..payments.base import Callback
from ..services.notifications import Reply, handle_notification
from . import uow

bp = Blueprint("callbacks", __name__)

TEXT = {"Content-Type": "text/plain"}


@bp.post(notify_path("<provider_name>"))
@csrf.exempt
def notify(provider_name: str):
    provider = payments().get(provider_name)
    if provider is None:
        abort(404)
    # the raw body as it came (WeChat Pay signs the bytes); the form for providers that post one
    callback = Callback(request.get_data(cache=True), dict(request.headers), request.form.to_dict())
    reply = handle_notification(uow(), provider, callback)
    if reply is Reply.ACKNOWLEDGE:
        return provider.ack_body, 200, TEXT
    if reply is Reply.RETRY_LATER:
        # the order is being closed this very moment: the provider's retry will find it settled
        return "failure", 503, {**TEXT, "Retry-After": "5"}
    return "failure", 400, TEXT
