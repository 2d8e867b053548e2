"""Daily reconciliation against the sandbox's statement (``flask reconcile --date``), on SQLite and
PostgreSQL: what an operator finds in the report, and the one repair it makes."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from kiosk.domain.clock import local_today, utcnow
from kiosk.domain.orders import OrderStatus, Source
from kiosk.extensions import db
from kiosk.models import PaymentAttempt, PaymentEvent, PaymentOrder, Person, Refund, SandboxRefund, SandboxTrade
from kiosk.payments import provider as provider_of
from kiosk.payments.base import ProviderError
from kiosk.services import refunds, statements
from kiosk.services.statements import Kind
from tests.helpers import CHEN_JIANGUO, ZHANG_SAN, ZHAO_MIN
from tests.services.conftest import Terminal, buyer_pays, close, poll, provider_says_paid, read_ledger, trade_of, uow

ONE_DAY = dt.timedelta(days=1)


def yesterday() -> dt.date:
    return local_today(utcnow()) - ONE_DAY


def move_to_yesterday(app) -> None:
    """Everything that happened so far happened a day earlier, on both sides: yesterday's
    statement is the one that can be had (a day's statement exists once the day is over)."""
    with app.app_context():
        for model, columns in ((PaymentOrder, ("created_at", "expires_at")),
                               (PaymentAttempt, ("created_at", "paid_at", "finished_at", "expires_at")),
                               (SandboxTrade, ("created_at", "finished_at", "expires_at")),
                               (Refund, ("created_at", "finished_at")), (SandboxRefund, ("created_at",))):
            for row in db.session.scalars(select(model)):
                for column in columns:
                    if getattr(row, column) is not None:
                        setattr(row, column, getattr(row, column) - ONE_DAY)
        db.session.commit()


def paid_order(app, number: str = ZHAO_MIN) -> int:
    order_id = Terminal(app).identify(number).checkout()
    buyer_pays(app, order_id)
    assert poll(app, order_id) == "paid"
    return order_id


def reconcile(app) -> statements.Report:
    with app.app_context():
        return statements.reconcile_day(uow(), provider_of(app), yesterday())


def kinds(report) -> dict[Kind, int]:
    return dict(report.counts)


def status(app, order_id: int) -> str:
    with app.app_context():
        return db.session.get(PaymentOrder, order_id).status


def edit_trade(app, order_id: int, **values) -> None:
    with app.app_context():
        out_trade_no = db.session.get(PaymentOrder, order_id).attempt.out_trade_no
        trade = db.session.scalar(select(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no))
        for key, value in values.items():
            setattr(trade, key, value)
        db.session.commit()


def test_a_clean_day_has_no_differences_and_equal_totals(demo):
    first, second = paid_order(demo), paid_order(demo, ZHANG_SAN)
    with demo.app_context():
        refunds.request_refund(uow(), first, 100, "overpaid", Source.STAFF, provider_of(demo))
        total = sum(db.session.get(PaymentOrder, o).total_fen for o in (first, second))
    move_to_yesterday(demo)
    report = reconcile(demo)
    assert report.differences == []
    assert (report.theirs_paid_fen, report.ours_paid_fen) == (total, total)
    assert (report.theirs_refunded_fen, report.ours_refunded_fen) == (100, 100)
    assert report.statement_lines == 3


def test_a_refund_we_still_follow_counts_in_our_total_as_the_statement_counts_it(demo, monkeypatch):
    """The provider gave the money back but its answer was lost: ours is still processing (the
    follow-up will finish it). Not a difference, and both totals show the 1.00 yuan, so the
    summary an operator reads does not disagree with itself."""
    order_id = paid_order(demo)
    provider = provider_of(demo)
    real_refund = provider.refund

    def answer_lost(*args, **kwargs):
        real_refund(*args, **kwargs)
        raise ProviderError("timeout")

    monkeypatch.setattr(provider, "refund", answer_lost)
    with demo.app_context():
        assert refunds.request_refund(uow(), order_id, 100, "overpaid", Source.STAFF, provider).state == "processing"
    move_to_yesterday(demo)
    report = reconcile(demo)
    assert report.differences == []
    assert (report.theirs_refunded_fen, report.ours_refunded_fen) == (100, 100)


def test_a_payment_there_never_recorded_here_is_recorded_once_with_an_event(demo):
    order_id = Terminal(demo).identify(ZHAO_MIN).checkout()
    buyer_pays(demo, order_id)  # the notification never arrives and nobody polls
    move_to_yesterday(demo)
    before = read_ledger(demo)
    assert before.status(order_id) == "pending"

    report = reconcile(demo)

    assert kinds(report) == {Kind.REPAIRED: 1} and report.open_differences == 0
    after = read_ledger(demo)
    assert after.status(order_id) == "paid" and after.receipts[order_id] == 1
    assert [(k, s) for o, k, s in after.events if o == order_id][-2:] == [("paid", "reconcile"), ("statement_repair", "reconcile")]
    with demo.app_context():
        detail = db.session.scalar(select(PaymentEvent.detail).where(PaymentEvent.kind == "statement_repair"))
        assert f"sandbox statement of {yesterday().isoformat()}" in detail
        # recorded at the provider's payment time, with its trade number
        order = db.session.get(PaymentOrder, order_id).attempt
        assert order.provider_trade_no == trade_of(demo, order_id).trade_no
        assert order.paid_at == trade_of(demo, order_id).finished_at

    again = reconcile(demo)
    assert again.differences == []
    assert read_ledger(demo).events == after.events  # nothing changed the second time


def test_a_late_payment_of_an_order_closed_here_is_recorded_but_a_closing_one_is_left_to_its_closer(demo):
    closed = Terminal(demo).identify(ZHAO_MIN).checkout()
    assert close(demo, closed) == "cancelled"
    provider_says_paid(demo, closed)  # paid there while our cancel was on its way
    closing = Terminal(demo).identify(ZHANG_SAN).checkout()
    buyer_pays(demo, closing)
    with demo.app_context():
        db.session.get(PaymentOrder, closing).attempt.status = OrderStatus.CLOSING.value  # a closer is at work
        db.session.commit()
    move_to_yesterday(demo)

    report = reconcile(demo)

    assert kinds(report) == {Kind.REPAIRED: 1, Kind.NOT_RECORDED: 1}
    assert status(demo, closed) == "paid" and status(demo, closing) == "closing"
    left = next(d for d in report.differences if d.kind is Kind.NOT_RECORDED)
    assert "left to its closer" in left.detail
    assert kinds(reconcile(demo)) == {Kind.NOT_RECORDED: 1}  # still the closer's, and reported until it is done


def test_paid_here_but_not_on_the_statement_is_reported(demo):
    order_id = paid_order(demo)
    edit_trade(demo, order_id, status="TRADE_CLOSED")  # the provider has no payment
    move_to_yesterday(demo)
    report = reconcile(demo)
    assert kinds(report) == {Kind.PAID_HERE_NOT_THERE: 1}
    line = report.differences[0]
    assert line.ours_fen > 0 and line.theirs_fen is None and f"order {order_id} paid" in line.detail
    assert status(demo, order_id) == "paid"  # reported, never changed


def test_an_amount_that_differs_is_reported_and_never_recorded(demo):
    paid = paid_order(demo)
    unpaid = Terminal(demo).identify(ZHANG_SAN).checkout()
    buyer_pays(demo, unpaid)
    edit_trade(demo, paid, amount_fen=1)
    edit_trade(demo, unpaid, amount_fen=2)
    move_to_yesterday(demo)
    events = read_ledger(demo).events

    report = reconcile(demo)

    assert kinds(report) == {Kind.AMOUNT_DIFFERS: 2}
    assert sorted(d.theirs_fen for d in report.differences) == [1, 2]
    assert status(demo, unpaid) == "pending"
    assert reconcile(demo).differences == report.differences
    assert read_ledger(demo).events == events  # no event per run


def test_refunds_that_differ_are_reported(demo):
    amounts, missing, unknown = paid_order(demo), paid_order(demo, ZHANG_SAN), paid_order(demo, CHEN_JIANGUO)
    with demo.app_context():
        for order_id, request_no in ((amounts, "RA"), (missing, "RM")):
            refunds.request_refund(uow(), order_id, 100, "overpaid", Source.STAFF, provider_of(demo), out_request_no=request_no)
        db.session.scalar(select(SandboxRefund).where(SandboxRefund.out_request_no == "RA")).amount_fen = 90
        db.session.delete(db.session.scalar(select(SandboxRefund).where(SandboxRefund.out_request_no == "RM")))
        out_trade_no = db.session.get(PaymentOrder, unknown).attempt.out_trade_no
        db.session.add(SandboxRefund(out_trade_no=out_trade_no, out_request_no="THEIRS", amount_fen=50, status="REFUND_SUCCESS"))
        db.session.commit()
    move_to_yesterday(demo)

    report = reconcile(demo)

    assert {(d.kind, d.out_request_no, d.ours_fen, d.theirs_fen) for d in report.differences} == {
        (Kind.REFUND_AMOUNT_DIFFERS, "RA", 100, 90),
        (Kind.REFUND_HERE_NOT_THERE, "RM", 100, None),
        (Kind.REFUND_UNKNOWN_HERE, "THEIRS", None, 50),
    }
    assert (report.ours_refunded_fen, report.theirs_refunded_fen) == (200, 140)


def test_a_trade_there_we_do_not_know_is_reported(demo):
    paid_order(demo)
    with demo.app_context():
        db.session.add(SandboxTrade(out_trade_no="NOT-OURS-1", token="t-not-ours", trade_no="SBXNOTOURS", subject="x", amount_fen=700,
                                    status="TRADE_SUCCESS", expires_at=utcnow(), finished_at=utcnow()))
        db.session.commit()
    move_to_yesterday(demo)
    report = reconcile(demo)
    assert [(d.kind, d.out_trade_no, d.trade_no, d.theirs_fen) for d in report.differences] == [
        (Kind.UNKNOWN_TRADE, "NOT-OURS-1", "SBXNOTOURS", 700)]


def test_a_day_that_is_not_over_has_no_statement_and_nothing_changes(demo):
    order_id = Terminal(demo).identify(ZHAO_MIN).checkout()
    buyer_pays(demo, order_id)
    with demo.app_context(), pytest.raises(ProviderError, match="not ready"):
        statements.reconcile_day(uow(), provider_of(demo), local_today(utcnow()))
    assert status(demo, order_id) == "pending"


# -- the command ---------------------------------------------------------------------------------

def test_the_command_writes_a_csv_without_personal_data_and_prints_a_summary(demo, runner, tmp_path):
    repaired = Terminal(demo).identify(ZHAO_MIN).checkout()
    buyer_pays(demo, repaired)
    mismatch = paid_order(demo, ZHANG_SAN)
    edit_trade(demo, mismatch, amount_fen=1)
    move_to_yesterday(demo)
    day = yesterday().isoformat()

    result = runner.invoke(args=["reconcile", "--date", day, "--out", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert f"sandbox {day}: 2 statement lines; 1 payments recorded from the statement, 1 differences" in result.output
    assert "  repaired: 1\n" in result.output and "  amount_differs: 1\n" in result.output
    with demo.app_context():
        orders = {o: db.session.get(PaymentOrder, o) for o in (repaired, mismatch)}
        theirs = sum(trade_of(demo, o).amount_fen for o in orders)
        ours = sum(o.total_fen for o in orders.values())
        people = db.session.scalars(select(Person)).all()
    assert f"statement: paid {theirs} fen" in result.output and f"our records: paid {ours} fen" in result.output
    text = (tmp_path / f"sandbox-{day}.csv").read_text(encoding="utf-8")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [(line["kind"], line["out_trade_no"], line["ours_fen"], line["theirs_fen"]) for line in lines] == [
        ("repaired", orders[repaired].attempt.out_trade_no, str(orders[repaired].total_fen), str(orders[repaired].total_fen)),
        ("amount_differs", orders[mismatch].attempt.out_trade_no, str(orders[mismatch].total_fen), "1"),
    ]
    assert all(line["provider"] == "sandbox" and line["day"] == day for line in lines)
    for person in people:  # no names, no ID numbers (whole or masked)
        assert person.name not in text and person.id_masked not in text
    for number in (ZHAO_MIN, ZHANG_SAN):
        assert number not in text and number not in result.output

    again = runner.invoke(args=["reconcile", "--date", day, "--out", str(tmp_path)])
    assert "0 payments recorded from the statement, 1 differences" in again.output


def test_the_command_writes_to_the_instance_folder_by_default_and_a_clean_day_says_so(demo, runner):
    paid_order(demo)
    move_to_yesterday(demo)
    day = yesterday().isoformat()
    result = runner.invoke(args=["reconcile", "--date", day])
    assert result.exit_code == 0 and "0 payments recorded from the statement, 0 differences" in result.output
    path = f"{demo.instance_path}/reconciliation/sandbox-{day}.csv"
    assert f"report: {path}" in result.output
    with open(path, encoding="utf-8") as report:
        assert report.read().splitlines() == [",".join(statements.COLUMNS)]


def test_the_command_says_clearly_when_a_statement_is_not_ready_and_fails(demo, runner, tmp_path):
    today = local_today(utcnow()).isoformat()
    result = runner.invoke(args=["reconcile", "--date", today, "--out", str(tmp_path / "reports")])
    assert result.exit_code == 1
    assert f"sandbox {today}: statement not available (statement not ready" in result.output
    assert "after about 10:00" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "reports").exists()  # no report of a statement that was not there


def test_the_command_refuses_a_malformed_date_and_the_sweep_still_runs_without_one(demo, runner):
    assert runner.invoke(args=["reconcile", "--date", "2026-13-01"]).exit_code == 2
    assert "0 unfinished payment attempts looked at" in runner.invoke(args=["reconcile"]).output
