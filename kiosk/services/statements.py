"""Daily reconciliation: a provider's statement of one day against our records (``flask reconcile --date``).

The statement is matched with our trades by trade numbers (our ``out_trade_no``, the provider's
``trade_no``) and with our refunds by the refund request number. One difference is repaired:
a payment the statement shows that we never recorded is recorded through the ordinary use case
(``settlement.record_payment``, source RECONCILE, so the transition table decides: a closed
order may become paid from a late payment, a CLOSING one is left to its closer). Every other
difference is reported for an operator, never changed here. A second run finds the repaired
payment recorded and changes nothing.

The only place that knows where our trades live is :func:`our_records`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.clock import LOCAL_ZONE
from ..domain.orders import OrderStatus, Source
from ..models import PaymentAttempt, Refund
from ..payments.base import PaymentProvider, RefundState, StatementKind, StatementRow
from .settlement import Recorded, record_payment
from .uow import UnitOfWork

# a payment recorded this close to midnight may sit on the neighbouring day's statement
NEAR_MIDNIGHT = dt.timedelta(minutes=10)


class Kind(str, Enum):
    """The kinds of line in the report."""

    REPAIRED = "repaired"  # paid there, not recorded here: recorded now
    NOT_RECORDED = "paid_there_not_recorded"  # paid there, and the transition table refused to record it here
    PAID_HERE_NOT_THERE = "paid_here_not_there"
    AMOUNT_DIFFERS = "amount_differs"
    UNKNOWN_TRADE = "unknown_trade"  # a trade there we do not know at all
    REFUND_HERE_NOT_THERE = "refund_here_not_there"  # ours succeeded, absent there
    REFUND_UNKNOWN_HERE = "refund_unknown_here"  # theirs, unknown here
    REFUND_AMOUNT_DIFFERS = "refund_amount_differs"
    REFUND_STATE_DIFFERS = "refund_state_differs"


# -- our side ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OurTrade:
    """One payment attempt (a provider trade) of ours, in the terms of the comparison."""

    attempt_id: int
    order_id: int
    out_trade_no: str
    trade_no: str | None
    status: OrderStatus
    amount_fen: int
    paid_at: dt.datetime | None
    refunded_by_close: bool  # REFUNDED without a refund row: the close's cancel gave the money back


@dataclass(frozen=True)
class OurRefund:
    out_trade_no: str
    out_request_no: str
    state: RefundState
    amount_fen: int
    at: dt.datetime  # when it ended (or was asked for, while unfinished)


def our_records(session: Session, provider: str, start: dt.datetime, end: dt.datetime,
                out_trade_nos: Iterable[str], out_request_nos: Iterable[str]) -> tuple[list[OurTrade], list[OurRefund]]:
    """Our trades with ``provider`` that were paid in [start, end) or carry one of ``out_trade_nos``,
    and our refunds of that provider that ended in [start, end) or carry one of ``out_request_nos``.

    The one function that knows where a trade's number, provider and state are kept."""
    out_trade_nos, out_request_nos = set(out_trade_nos), set(out_request_nos)
    refunded_attempts = select(Refund.attempt_id)
    attempts = session.execute(
        select(PaymentAttempt.id, PaymentAttempt.order_id, PaymentAttempt.out_trade_no, PaymentAttempt.provider_trade_no,
               PaymentAttempt.status, PaymentAttempt.amount_fen, PaymentAttempt.paid_at, PaymentAttempt.id.in_(refunded_attempts))
        .where(PaymentAttempt.provider == provider,
               ((PaymentAttempt.paid_at >= start) & (PaymentAttempt.paid_at < end)) | PaymentAttempt.out_trade_no.in_(out_trade_nos))
    ).all()
    trades = [OurTrade(id_, order_id, otn, tno, OrderStatus(status), amount, paid_at,
                       status == OrderStatus.REFUNDED.value and not has_refunds)
              for id_, order_id, otn, tno, status, amount, paid_at, has_refunds in attempts]
    ended = Refund.finished_at.is_not(None) & (Refund.finished_at >= start) & (Refund.finished_at < end)
    refunds = session.execute(
        select(PaymentAttempt.out_trade_no, Refund.out_request_no, Refund.state, Refund.amount_fen, Refund.finished_at,
               Refund.created_at)
        .join(PaymentAttempt, PaymentAttempt.id == Refund.attempt_id)
        .where(PaymentAttempt.provider == provider, ended | Refund.out_request_no.in_(out_request_nos))
    ).all()
    return trades, [OurRefund(otn, rno, RefundState(state), amount, finished or created)
                    for otn, rno, state, amount, finished, created in refunds]


# -- the comparison ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    kind: Kind
    out_trade_no: str
    trade_no: str = ""
    out_request_no: str = ""
    ours_fen: int | None = None
    theirs_fen: int | None = None
    detail: str = ""


@dataclass
class Report:
    provider: str
    day: dt.date
    differences: list[Difference] = field(default_factory=list)
    theirs_paid_fen: int = 0
    theirs_refunded_fen: int = 0
    ours_paid_fen: int = 0
    ours_refunded_fen: int = 0
    statement_lines: int = 0

    @property
    def counts(self) -> Counter:
        return Counter(d.kind for d in self.differences)

    @property
    def open_differences(self) -> int:
        """What is left for an operator: everything but the payments recorded by this run."""
        return sum(1 for d in self.differences if d.kind is not Kind.REPAIRED)


def day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A Beijing date as naive UTC [start, end)."""
    start = dt.datetime.combine(day, dt.time(), LOCAL_ZONE).astimezone(dt.timezone.utc).replace(tzinfo=None)
    return start, start + dt.timedelta(days=1)


def reconcile_day(uow: UnitOfWork, provider: PaymentProvider, day: dt.date) -> Report:
    """Download ``provider``'s statement of ``day`` (raises ``ProviderError`` if it cannot be
    had, e.g. not ready yet: nothing changed then), compare, repair, report."""
    uow.idle()
    rows = provider.statement(day)
    start, end = day_window(day)
    payments = [r for r in rows if r.kind is StatementKind.PAYMENT]
    refunds = [r for r in rows if r.kind is StatementKind.REFUND]
    trades, our_refunds = our_records(uow.session, provider.name, start, end, {r.out_trade_no for r in rows},
                                      {r.out_request_no for r in refunds if r.out_request_no})
    uow.session.rollback()  # no reading transaction stays open while payments are recorded one by one
    report = Report(provider.name, day, statement_lines=len(rows))
    report.theirs_paid_fen = sum(r.amount_fen for r in payments)
    report.theirs_refunded_fen = sum(r.amount_fen for r in refunds if r.refund_state is not RefundState.FAILED)
    by_number = {t.out_trade_no: t for t in trades}
    by_trade_no = {t.trade_no: t for t in trades if t.trade_no}
    seen: set[str] = set()
    for row in payments:
        ours = by_number.get(row.out_trade_no) or by_trade_no.get(row.trade_no)
        if ours is None:
            report.differences.append(Difference(Kind.UNKNOWN_TRADE, row.out_trade_no, row.trade_no, theirs_fen=row.amount_fen,
                                                 detail="paid there; no order of ours has this number"))
            continue
        seen.add(ours.out_trade_no)
        found = _payment(uow, provider.name, day, row, ours)
        if any(d.kind is Kind.REPAIRED for d in found) and not (ours.paid_at and start <= ours.paid_at < end):
            report.ours_paid_fen += ours.amount_fen  # in our records now, paid at the statement's time
        report.differences += found
    for ours in trades:
        in_day = ours.paid_at is not None and start <= ours.paid_at < end
        if in_day:
            report.ours_paid_fen += ours.amount_fen
        if in_day and ours.out_trade_no not in seen and ours.status in (OrderStatus.PAID, OrderStatus.REFUNDED):
            near = min(ours.paid_at - start, end - ours.paid_at) <= NEAR_MIDNIGHT
            report.differences.append(Difference(
                Kind.PAID_HERE_NOT_THERE, ours.out_trade_no, ours.trade_no or "", ours_fen=ours.amount_fen,
                detail=f"order {ours.order_id} {ours.status.value}" + ("; paid near midnight: see the neighbouring day" if near else "")))
    report.differences += _refunds(refunds, our_refunds, by_number, start, end, report)
    return report


def _payment(uow: UnitOfWork, provider: str, day: dt.date, row: StatementRow, ours: OurTrade) -> list[Difference]:
    where = f"order {ours.order_id} {ours.status.value}"
    if row.amount_fen != ours.amount_fen:
        # never recorded (record_payment would refuse it too): money of another amount is an operator's call
        return [Difference(Kind.AMOUNT_DIFFERS, row.out_trade_no, row.trade_no, ours_fen=ours.amount_fen, theirs_fen=row.amount_fen,
                           detail=where)]
    if ours.status in (OrderStatus.PAID, OrderStatus.REFUNDED):
        return []  # recorded; a trade the close refunded is paid and given back on the statement too
    outcome = record_payment(uow, ours.attempt_id, trade_no=row.trade_no, amount_fen=row.amount_fen, source=Source.RECONCILE,
                             now=row.at, because=("statement_repair", f"paid on the {provider} statement of {day.isoformat()}, "
                                                                      "not recorded here"))
    if outcome is Recorded.RECORDED:
        return [Difference(Kind.REPAIRED, row.out_trade_no, row.trade_no, ours_fen=ours.amount_fen, theirs_fen=row.amount_fen,
                           detail=f"{where} -> paid")]
    if outcome is Recorded.ALREADY:
        return []  # recorded by a notification or poll since we looked
    reason = "closing: left to its closer" if ours.status is OrderStatus.CLOSING else f"{outcome.value} from {ours.status.value}"
    return [Difference(Kind.NOT_RECORDED, row.out_trade_no, row.trade_no, ours_fen=ours.amount_fen, theirs_fen=row.amount_fen,
                       detail=f"order {ours.order_id}: {reason}")]


def _refunds(rows: list[StatementRow], ours: list[OurRefund], trades: dict[str, OurTrade], start: dt.datetime, end: dt.datetime,
             report: Report) -> list[Difference]:
    found: list[Difference] = []
    by_request = {r.out_request_no: r for r in ours}
    matched: set[str] = set()
    for row in rows:
        mine = by_request.get(row.out_request_no or "")
        if mine is None:
            trade = trades.get(row.out_trade_no)
            if trade is not None and trade.refunded_by_close and row.amount_fen == trade.amount_fen:
                continue  # the close's cancel gave it back (Alipay's cancel, WeChat's close-<number>): no refund row here
            found.append(Difference(Kind.REFUND_UNKNOWN_HERE, row.out_trade_no, row.trade_no, row.out_request_no or "",
                                    theirs_fen=row.amount_fen,
                                    detail="no refund of ours has this number" if trade else "no order of ours has this trade"))
            continue
        matched.add(mine.out_request_no)
        if mine.amount_fen != row.amount_fen:
            found.append(Difference(Kind.REFUND_AMOUNT_DIFFERS, row.out_trade_no, row.trade_no, mine.out_request_no,
                                    mine.amount_fen, row.amount_fen, f"ours {mine.state.value}"))
        elif (mine.state is RefundState.FAILED) != (row.refund_state is RefundState.FAILED):
            # one side gave the money back and the other did not; processing on either side is not a difference yet
            found.append(Difference(Kind.REFUND_STATE_DIFFERS, row.out_trade_no, row.trade_no, mine.out_request_no,
                                    mine.amount_fen, row.amount_fen, f"ours {mine.state.value}, theirs {row.refund_state.value}"))
    for mine in ours:
        if not start <= mine.at < end or mine.state is RefundState.FAILED:
            continue
        # counted as the statement counts: every refund that did not fail, finished or not
        report.ours_refunded_fen += mine.amount_fen
        if mine.state is RefundState.SUCCESS and mine.out_request_no not in matched:
            found.append(Difference(Kind.REFUND_HERE_NOT_THERE, mine.out_trade_no, "", mine.out_request_no, ours_fen=mine.amount_fen,
                                    detail="ours succeeded"))
    return found


# -- the report ----------------------------------------------------------------------------------

COLUMNS = ("provider", "day", "kind", "out_trade_no", "trade_no", "out_request_no", "ours_fen", "theirs_fen", "detail")


def report_csv(report: Report) -> str:
    """The differences as CSV: trade and request numbers, amounts, our order's id and state; never
    a person's name or ID number."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for d in report.differences:
        writer.writerow([report.provider, report.day.isoformat(), d.kind.value, d.out_trade_no, d.trade_no, d.out_request_no,
                         "" if d.ours_fen is None else d.ours_fen, "" if d.theirs_fen is None else d.theirs_fen, d.detail])
    return out.getvalue()


def write_report(report: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_csv(report), encoding="utf-8")
    return path
