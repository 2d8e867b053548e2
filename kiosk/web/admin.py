"""The back office's terminal pages: the dashboard of every kiosk and counter (last contact,
printer), registering a terminal, and the one-time code that enrols a browser as one."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from ..domain.terminals import TerminalKind
from ..services import terminals
from ..services.terminals import TerminalError
from . import go, render, uow
from .forms import ActionForm, TerminalForm
from .messages import PRINTER_STATUSES, TERMINAL_ERRORS, TERMINAL_KINDS
from .staff import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _dashboard(status: int = 200, form: TerminalForm | None = None, code=None, error=None):
    return render("staff/terminals.html", status=status, rows=terminals.dashboard(uow().session), form=form or TerminalForm(),
                  action_form=ActionForm(), kinds=TERMINAL_KINDS, printers=PRINTER_STATUSES, new_code=code, error=error,
                  may_manage=current_user.role == "admin")


@bp.get("/terminals")
@role_required("admin", "supervisor")
def terminals_page():
    return _dashboard()


@bp.post("/terminals")
@role_required("admin")
def register():
    form = TerminalForm()
    try:
        kind = TerminalKind(form.kind.data or "")
    except ValueError:
        return _dashboard(422, form, error=TERMINAL_ERRORS["kind"])
    try:
        terminals.register(uow(), form.code.data or "", form.name.data or "", kind, form.location.data or "",
                           (form.region.data or "").strip() or None, current_user.id)
    except TerminalError as refused:
        return _dashboard(422, form, error=TERMINAL_ERRORS[refused.code])
    return go("admin.terminals_page")


@bp.post("/terminals/<int:terminal_id>/code")
@role_required("admin")
def enrolment_code(terminal_id: int):
    """A one-time code, shown this once (only its digest is kept)."""
    if not any(row.terminal.id == terminal_id for row in terminals.dashboard(uow().session)):
        return _dashboard(404)
    code = terminals.issue_code(uow(), terminal_id, current_user.id)
    return _dashboard(code=(terminal_id, code))
