"""The back office: the dashboard of every kiosk and counter (last contact, printer),
registering a terminal and the one-time code that enrols a browser as one, and the audit log's
search and export."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

from flask import Blueprint, make_response, request
from flask_login import current_user

from ..domain.clock import to_local
from ..domain.terminals import PRINTER_ENCODINGS, PrintMode, TerminalKind
from ..services import staff, terminals
from ..services.terminals import TerminalError
from . import go, render, uow
from .forms import ActionForm, PrintingForm, TerminalForm
from .messages import AUDIT_BAD_DATE, PRINT_MODES, PRINTER_STATUSES, TERMINAL_ERRORS, TERMINAL_KINDS
from .staff import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _dashboard(status: int = 200, form: TerminalForm | None = None, code=None, error=None):
    return render("staff/terminals.html", status=status, rows=terminals.dashboard(uow().session), form=form or TerminalForm(),
                  action_form=ActionForm(), kinds=TERMINAL_KINDS, printers=PRINTER_STATUSES, new_code=code, error=error,
                  print_modes=PRINT_MODES, encodings=PRINTER_ENCODINGS,
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


@bp.post("/terminals/<int:terminal_id>/printing")
@role_required("admin")
def printing(terminal_id: int):
    """The terminal's printing mode (issue 9): its browser, or ESC/POS to a thermal printer."""
    form = PrintingForm()
    try:
        mode = PrintMode(form.mode.data or "")
    except ValueError:
        return _dashboard(422, error=TERMINAL_ERRORS["print_mode"])
    try:
        terminals.set_printing(uow(), terminal_id, mode, form.url.data, form.encoding.data or "", current_user.id)
    except TerminalError as refused:
        return _dashboard(404 if refused.code == "unknown" else 422, error=TERMINAL_ERRORS[refused.code])
    return go("admin.terminals_page")


@bp.post("/terminals/<int:terminal_id>/code")
@role_required("admin")
def enrolment_code(terminal_id: int):
    """A one-time code, shown this once (only its digest is kept)."""
    if not any(row.terminal.id == terminal_id for row in terminals.dashboard(uow().session)):
        return _dashboard(404)
    code = terminals.issue_code(uow(), terminal_id, current_user.id)
    return _dashboard(code=(terminal_id, code))


def _audit_query() -> staff.AuditQuery | None:
    """The search as typed in the query string; None when a date is not a date."""
    args = request.args
    try:
        since = dt.date.fromisoformat(args["since"]) if args.get("since") else None
        until = dt.date.fromisoformat(args["until"]) if args.get("until") else None
    except ValueError:
        return None
    return staff.AuditQuery(args.get("username", "")[:60], args.get("action", "")[:40], args.get("terminal", "")[:40], since, until)


@bp.get("/audit")
@role_required("admin")
def audit_log():
    """The audit log, searched by who, what, where and when (newest first, at most 500 shown)."""
    query = _audit_query()
    if query is None:
        return render("staff/audit.html", status=422, entries=[], query=staff.AuditQuery(), error=AUDIT_BAD_DATE,
                      args=request.args)
    return render("staff/audit.html", entries=staff.search_audit(uow().session, query), query=query, error=None,
                  args=request.args)


@bp.get("/audit.csv")
@role_required("admin")
def audit_export():
    """Every entry the search finds, as CSV (the export is itself an action in the log)."""
    query = _audit_query() or staff.AuditQuery()
    entries = staff.search_audit(uow().session, query, limit=None)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at (Beijing time)", "username", "action", "terminal", "before", "after", "detail"])
    for entry, username in entries:
        writer.writerow([entry.id, to_local(entry.at).strftime("%Y-%m-%d %H:%M:%S"), username or "", entry.action,
                         entry.terminal_code, json.dumps(entry.before, ensure_ascii=False) if entry.before is not None else "",
                         json.dumps(entry.after, ensure_ascii=False) if entry.after is not None else "", entry.detail])
    with uow() as work:
        staff.audit(work.session, "audit.export", current_user.id, after={"entries": len(entries), **{
            key: value for key, value in request.args.items() if key in ("username", "action", "terminal", "since", "until")}})
        work.commit()
    response = make_response("\ufeff" + out.getvalue())
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
