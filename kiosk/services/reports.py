"""End of day: what each terminal, channel and cashier took and gave back, the counters' cash
counted against their drawers, payments per hour, and closing the day.

A business day is the money recorded since the previous close (``DayClose.closed_at``) up to
its own close: a payment is counted when it was recorded paid (``paid_at``), a refund when it
succeeded (``finished_at``). Once a day is closed nothing recorded later belongs to it, so its
figures never change: a refund or a late payment after the close falls into the next day.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ..domain.clock import to_local, utcnow
from ..domain.money import plain_yuan
from ..domain.orders import OrderStatus
from ..domain.terminals import TerminalKind
from ..models import DayClose, DrawerCount, DrawerEntry, Instalment, PaymentAttempt, PaymentOrder, Refund, StaffUser, Terminal
from ..payments.base import RefundState
from .staff import audit
from .uow import UnitOfWork


# the channel of an employer's instalment: this and how it was paid (instalment_cash, instalment_pos_card)
INSTALMENT_CHANNEL = "instalment_"


class DayClosed(ValueError):
    """The day cannot be closed as asked; ``code``: closed (it was already), count (a counter's
    cash count is missing or not a count)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass
class ReportLine:
    """One terminal's channel, by one cashier (None at a kiosk)."""

    terminal: str
    channel: str
    cashier: str | None
    payments: int = 0
    taken_fen: int = 0
    refunds: int = 0
    refunded_fen: int = 0

    @property
    def net_fen(self) -> int:
        return self.taken_fen - self.refunded_fen


@dataclass
class Drawer:
    terminal_id: int
    terminal: str
    expected_fen: int
    counted_fen: int | None = None

    @property
    def difference_fen(self) -> int | None:
        return None if self.counted_fen is None else self.counted_fen - self.expected_fen


@dataclass
class DayReport:
    day: dt.date
    start: dt.datetime | None  # after the previous close (None: since the beginning)
    end: dt.datetime  # the close, or now for a day still open
    closed: bool
    lines: list[ReportLine] = field(default_factory=list)
    drawers: list[Drawer] = field(default_factory=list)
    per_hour: list[int] = field(default_factory=lambda: [0] * 24)  # payments by local hour

    @property
    def totals(self) -> ReportLine:
        total = ReportLine("", "", None)
        for line in self.lines:
            total.payments += line.payments
            total.taken_fen += line.taken_fen
            total.refunds += line.refunds
            total.refunded_fen += line.refunded_fen
        return total


def last_close(session: Session, before: dt.date | None = None) -> DayClose | None:
    query = select(DayClose).order_by(DayClose.closed_at.desc()).limit(1)
    if before is not None:
        query = query.where(DayClose.day < before)
    return session.scalar(query)


def closed_until(session: Session) -> dt.datetime | None:
    """The end of the last closed day: money recorded up to then can no longer change."""
    return session.scalar(select(func.max(DayClose.closed_at)))


def _in(column, start: dt.datetime | None, end: dt.datetime):
    return (column > start) & (column <= end) if start is not None else column <= end


def day_report(session: Session, day: dt.date, now: dt.datetime | None = None) -> DayReport:
    """The report of ``day``: as it was closed, or, still open, from the last close until now."""
    closed = session.scalar(select(DayClose).where(DayClose.day == day))
    if closed is not None:
        report = DayReport(day, closed.period_start, closed.closed_at, True)
    else:
        previous = last_close(session)
        report = DayReport(day, previous.closed_at if previous else None, now or utcnow(), False)
    cashier = aliased(StaffUser)
    lines: dict[tuple, ReportLine] = {}

    def line(terminal, channel, who) -> ReportLine:
        return lines.setdefault((terminal, channel, who), ReportLine(terminal, channel, who))

    # money in: every attempt recorded paid in the period (a payment later given back included)
    paid = session.execute(
        select(Terminal.code, PaymentAttempt.provider, cashier.display_name, PaymentAttempt.amount_fen, PaymentAttempt.paid_at)
        .join(PaymentOrder, PaymentOrder.id == PaymentAttempt.order_id).join(Terminal, Terminal.id == PaymentOrder.terminal_id)
        .outerjoin(cashier, cashier.id == PaymentOrder.staff_id)
        .where(PaymentAttempt.paid_at.is_not(None), _in(PaymentAttempt.paid_at, report.start, report.end),
               PaymentAttempt.status.in_([OrderStatus.PAID.value, OrderStatus.REFUNDED.value]))).all()
    hours = Counter()
    for terminal, channel, who, amount, paid_at in paid:
        entry = line(terminal, channel, who)
        entry.payments += 1
        entry.taken_fen += amount
        hours[to_local(paid_at).hour] += 1
    # employers' instalments taken at counters, on lines of their own
    instalments = session.execute(
        select(Terminal.code, Instalment.method, cashier.display_name, Instalment.amount_fen + Instalment.late_fee_paid_fen,
               Instalment.paid_at)
        .join(Terminal, Terminal.id == Instalment.terminal_id).outerjoin(cashier, cashier.id == Instalment.staff_id)
        .where(Instalment.paid_at.is_not(None), _in(Instalment.paid_at, report.start, report.end))).all()
    for terminal, method, who, amount, paid_at in instalments:
        entry = line(terminal, INSTALMENT_CHANNEL + method, who)
        entry.payments += 1
        entry.taken_fen += amount
        hours[to_local(paid_at).hour] += 1
    report.per_hour = [hours[hour] for hour in range(24)]
    # money out: refunds that succeeded in the period, on the line of the payment they gave back
    refunded = session.execute(
        select(Terminal.code, PaymentAttempt.provider, cashier.display_name, Refund.amount_fen)
        .join(PaymentAttempt, PaymentAttempt.id == Refund.attempt_id).join(PaymentOrder, PaymentOrder.id == Refund.order_id)
        .join(Terminal, Terminal.id == PaymentOrder.terminal_id).outerjoin(cashier, cashier.id == PaymentOrder.staff_id)
        .where(Refund.state == RefundState.SUCCESS.value, Refund.finished_at.is_not(None),
               _in(Refund.finished_at, report.start, report.end))).all()
    for terminal, channel, who, amount in refunded:
        entry = line(terminal, channel, who)
        entry.refunds += 1
        entry.refunded_fen += amount
    report.lines = sorted(lines.values(), key=lambda entry: (entry.terminal, entry.channel, entry.cashier or ""))
    report.drawers = _drawers(session, report.end, closed)
    return report


def _drawers(session: Session, end: dt.datetime, closed: DayClose | None) -> list[Drawer]:
    """Each counter's drawer: what it should hold at the end (and what was counted, once closed)."""
    if closed is not None:
        return [Drawer(count.terminal_id, count.terminal.code, count.expected_fen, count.counted_fen) for count in closed.counts]
    rows = session.execute(
        select(Terminal.id, Terminal.code, func.coalesce(func.sum(DrawerEntry.amount_fen), 0))
        .outerjoin(DrawerEntry, (DrawerEntry.terminal_id == Terminal.id) & (DrawerEntry.at <= end))
        .where(Terminal.kind == TerminalKind.COUNTER.value).group_by(Terminal.id, Terminal.code).order_by(Terminal.code)).all()
    return [Drawer(terminal_id, code, expected) for terminal_id, code, expected in rows]


def close_day(uow: UnitOfWork, day: dt.date, counted: dict[int, int], staff_id: int, now: dt.datetime | None = None) -> DayReport:
    """Close ``day`` now, with each counter's cash as counted (``counted``: terminal id -> fen).
    Raises ``DayClosed``: it was closed already (by anyone, even a moment before), or a counter's
    count is missing. Returns the day's report, which never changes after this."""
    now = now or utcnow()

    def work(session: Session) -> None:
        if session.scalar(select(DayClose.id).where(DayClose.day >= day)) is not None:
            raise DayClosed("closed")
        previous = last_close(session)
        drawers = _drawers(session, now, None)
        missing = [drawer.terminal for drawer in drawers if drawer.terminal_id not in counted]
        if missing or any(fen < 0 for fen in counted.values()):
            raise DayClosed("count", ", ".join(missing))
        close = DayClose(day=day, period_start=previous.closed_at if previous else None, closed_at=now, closed_by=staff_id)
        session.add(close)
        session.flush()  # a racing close of the same day fails here
        session.add_all(DrawerCount(day_close_id=close.id, terminal_id=drawer.terminal_id, expected_fen=drawer.expected_fen,
                                    counted_fen=counted[drawer.terminal_id]) for drawer in drawers)
        totals = day_report(session, day, now).totals
        audit(session, "day.close", staff_id, now=now, after={
            "day": day.isoformat(), "payments": totals.payments, "taken_fen": totals.taken_fen,
            "refunded_fen": totals.refunded_fen,
            "drawers": {drawer.terminal: {"expected_fen": drawer.expected_fen, "counted_fen": counted[drawer.terminal_id]}
                        for drawer in drawers}})

    try:
        uow.run(work, retries=1)
    except IntegrityError:
        raise DayClosed("closed") from None
    return day_report(uow.session, day)


def report_csv(report: DayReport, channel_name, header: list[str], drawer_header: list[str]) -> str:
    """The report's lines as CSV (amounts in yuan with two decimals), then the drawers under a
    header of their own. ``channel_name`` names a channel in the reader's language."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for line in report.lines:
        writer.writerow([report.day.isoformat(), line.terminal, channel_name(line.channel), line.cashier or "", line.payments,
                         plain_yuan(line.taken_fen), line.refunds, plain_yuan(line.refunded_fen), plain_yuan(line.net_fen)])
    if report.drawers:
        writer.writerow([])
        writer.writerow(drawer_header)
        for drawer in report.drawers:
            counted, difference = drawer.counted_fen, drawer.difference_fen
            writer.writerow([report.day.isoformat(), drawer.terminal, plain_yuan(drawer.expected_fen),
                             "" if counted is None else plain_yuan(counted), "" if difference is None else plain_yuan(difference)])
    return out.getvalue()
