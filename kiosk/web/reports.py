"""End of day at /staff/day/: the day's figures per terminal, channel and cashier, the counters'
drawers, payments per hour as a chart drawn on the server, a CSV export, and closing the day.

The chart is pygal's SVG served as an image: an ``<img>`` runs none of its script, so the pages'
Content-Security-Policy holds (and the SVG response carries it too)."""
from __future__ import annotations

import datetime as dt

import pygal
from flask import Blueprint, abort, make_response, request
from flask_babel import gettext as _
from flask_login import current_user

from ..domain.clock import local_today, utcnow
from ..domain.counter import CounterProblem, typed_fen
from ..services import reports
from . import go, render, uow
from .forms import ActionForm
from .messages import COUNTER_PROBLEMS, DAY_ERRORS, PROVIDERS
from .staff import role_required

bp = Blueprint("reports", __name__, url_prefix="/staff/day")

VIEWERS = ("supervisor", "admin")


def _day(text: str | None) -> dt.date:
    if not text:
        return local_today(utcnow())
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        abort(404)


def _page(day: dt.date, status: int = 200, error=None, typed: dict | None = None):
    report = reports.day_report(uow().session, day)
    return render("staff/day.html", status=status, report=report, totals=report.totals, form=ActionForm(), error=error,
                  typed=typed or {}, may_close=current_user.role == "supervisor" and not report.closed and day == local_today(utcnow()),
                  previous=day - dt.timedelta(days=1), next=day + dt.timedelta(days=1) if day < local_today(utcnow()) else None)


@bp.get("/")
@bp.get("/<day>")
@role_required(*VIEWERS)
def day_page(day: str | None = None):
    return _page(_day(day))


@bp.post("/close")
@role_required("supervisor")
def close():
    """Close today, with each counter's drawer as counted (typed in yuan)."""
    today = local_today(utcnow())
    typed = {key: value for key, value in request.form.items() if key.startswith("count-")}
    counted = {}
    try:
        for key, value in typed.items():
            counted[int(key.removeprefix("count-"))] = typed_fen(value)
    except (ValueError, CounterProblem):
        return _page(today, 422, COUNTER_PROBLEMS["amount"], typed)
    try:
        reports.close_day(uow(), today, counted, current_user.id)
    except reports.DayClosed as refused:
        return _page(today, 422, DAY_ERRORS[refused.code], typed)
    return go("reports.day_page", day=today.isoformat())


@bp.get("/<day>/chart.svg")
@role_required(*VIEWERS)
def chart(day: str):
    report = reports.day_report(uow().session, _day(day))
    bar = pygal.Bar(js=[], show_legend=False, width=900, height=320, title=_("Payments per hour, %(day)s", day=report.day.isoformat()),
                    x_title=_("Hour (Beijing time)"), y_title=_("Payments"), print_values=False)
    bar.x_labels = [f"{hour:02d}" for hour in range(24)]
    bar.add(_("Payments"), report.per_hour)
    response = make_response(bar.render(is_unicode=True))
    response.mimetype = "image/svg+xml"
    return response


@bp.get("/<day>/report.csv")
@role_required(*VIEWERS)
def export(day: str):
    report = reports.day_report(uow().session, _day(day))
    header = [_("Day"), _("Terminal"), _("Channel"), _("Cashier"), _("Payments"), _("Taken (yuan)"), _("Refunds"),
              _("Refunded (yuan)"), _("Net (yuan)")]
    drawer_header = [_("Day"), _("Counter"), _("Drawer expected (yuan)"), _("Counted (yuan)"), _("Difference (yuan)")]
    body = reports.report_csv(report, lambda code: str(PROVIDERS.get(code, code)), header, drawer_header)
    response = make_response("\ufeff" + body)  # a BOM: spreadsheet programs then read the Chinese right
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = f'attachment; filename="day-{report.day.isoformat()}.csv"'
    return response
