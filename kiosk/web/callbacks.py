"""Provider callbacks: signed by the provider, so exempt from CSRF and verified instead."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, request

from ..extensions import csrf
from ..services.settle import handle_notification

bp = Blueprint("callbacks", __name__, url_prefix="/payments")


@bp.post("/notify/<provider_name>")
@csrf.exempt
def notify(provider_name: str):
    provider = current_app.extensions["kiosk_provider"]
    if provider_name != provider.name:
        abort(404)
    if handle_notification(provider, request.form.to_dict()):
        return provider.ack_body, 200, {"Content-Type": "text/plain"}
    return "failure", 400, {"Content-Type": "text/plain"}
