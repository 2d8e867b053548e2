"""End of day (issue 8): figures per terminal, channel and cashier, the drawers counted, and a
closed day that never changes (corrections go into the next day), on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kiosk.demo import DEMO_EMPLOYER
from kiosk.domain.clock import local_today, to_local, utcnow
from kiosk.domain.counter import CounterMethod
from kiosk.domain.employer import AgreementKind
from kiosk.domain.refunds import RefundRuleBroken, RequestKind
from kiosk.extensions import db
from kiosk.models import Employer
from kiosk.services import counter, employers, reports
from kiosk.services.employers import Party
from tests.helpers import CHEN_JIANGUO, ZHANG_SAN, ZHAO_MIN
from tests.services.conftest import Terminal, buyer_pays, poll, run_together, uow
from tests.services.test_counter import Desk
from tests.services.test_employers import FIRST_DUE
from tests.services.test_staff_refunds import ask, decide, make

TODAY = local_today(utcnow())


@pytest.fixture
def boss(demo) -> int:
    return make(demo, "boss", "supervisor")


def report(app, day=TODAY, now=None) -> reports.DayReport:
    with app.app_context():
        return reports.day_report(db.session, day, now)


def close(app, counted, by, day=TODAY, now=None) -> reports.DayReport:
    with app.app_context():
        return reports.close_day(uow(), day, counted, by, now)


def kiosk_payment(app, number=ZHAO_MIN) -> int:
    kiosk = Terminal(app).identify(number)
    order_id = kiosk.checkout()
    buyer_pays(app, order_id)
    assert poll(app, order_id) == "paid"
    return order_id


def test_the_day_is_counted_per_terminal_channel_and_cashier(demo, boss):
    desk = Desk(demo).identify(ZHANG_SAN)
    with demo.app_context():
        counter.put_float(uow(), desk.terminal_id(), 10_000, desk.cashier)
    sale = desk.take(counter.Tender(CounterMethod.CASH, tendered_fen=50_000))
    card = Desk(demo, "COUNTER-02").identify(CHEN_JIANGUO).take(counter.Tender(CounterMethod.POS_CARD, reference="POS998877"))
    kiosk_order = kiosk_payment(demo)
    decide(demo, ask(demo, sale.order_id, desk.cashier, amount=5_000, terminal_id=desk.terminal_id()), boss)
    day = report(demo)
    lines = {(line.terminal, line.channel): line for line in day.lines}
    cash = lines[("COUNTER-01", "cash")]
    assert (cash.cashier, cash.payments, cash.taken_fen, cash.refunds, cash.refunded_fen) == ("Li Na", 1, 40_000, 1, 5_000)
    assert lines[("COUNTER-02", "pos_card")].taken_fen == card.total_fen
    kiosk_line = lines[("DEMO-01", "sandbox")]
    assert kiosk_line.cashier is None and kiosk_line.payments == 1
    totals = day.totals
    assert totals.payments == 3 + sum(1 for line in day.lines if line.channel == "counter")  # the demo's earlier payment
    assert totals.net_fen == totals.taken_fen - 5_000
    drawers = {drawer.terminal: drawer.expected_fen for drawer in day.drawers}
    assert drawers == {"COUNTER-01": 10_000 + 40_000 - 5_000, "COUNTER-02": 0}
    hour = to_local(utcnow()).hour
    assert day.per_hour[hour] >= 3 and sum(day.per_hour) == totals.payments
    assert kiosk_order


def test_closing_counts_the_drawers_and_the_day_never_changes_after(demo, boss):
    desk = Desk(demo).identify(ZHANG_SAN)
    sale = desk.take(counter.Tender(CounterMethod.CASH, tendered_fen=40_000))
    with pytest.raises(reports.DayClosed) as refused:
        close(demo, {}, boss)  # the counter's cash must be counted
    assert refused.value.code == "count"
    closed = close(demo, {desk.terminal_id(): 39_900}, boss)
    assert closed.closed and closed.drawers[0].difference_fen == -100
    before = [(line.terminal, line.channel, line.taken_fen, line.refunded_fen) for line in closed.lines]
    # closed: not again, and no void of its payments; a refund goes into the next day
    with pytest.raises(reports.DayClosed):
        close(demo, {desk.terminal_id(): 39_900}, boss)
    with pytest.raises(RefundRuleBroken) as broken:
        ask(demo, sale.order_id, desk.cashier, kind=RequestKind.VOID, terminal_id=desk.terminal_id())
    assert broken.value.code == "void_closed"
    decide(demo, ask(demo, sale.order_id, desk.cashier, amount=1_000, terminal_id=desk.terminal_id()), boss)
    again = report(demo)
    assert [(line.terminal, line.channel, line.taken_fen, line.refunded_fen) for line in again.lines] == before
    assert again.drawers[0].counted_fen == 39_900
    tomorrow = report(demo, TODAY + dt.timedelta(days=1))
    assert not tomorrow.closed and tomorrow.totals.refunded_fen == 1_000 and tomorrow.totals.payments == 0


def test_a_payment_recorded_after_the_close_belongs_to_the_next_day(demo, boss):
    close(demo, {}, boss)
    kiosk_payment(demo)
    assert report(demo).totals.payments == 1 and report(demo).closed  # as closed: what came before
    nothing_after = report(demo).totals
    assert nothing_after.payments == 1  # the demo's earlier counter payment
    assert report(demo, TODAY + dt.timedelta(days=1)).totals.payments == 1


def test_two_supervisors_closing_at_once_close_once(demo, boss):
    other = make(demo, "boss2", "supervisor")
    results, errors = run_together(2, lambda i: close(demo, {}, boss if i else other))
    assert len(errors) == 1 and isinstance(errors[0], reports.DayClosed) and errors[0].code == "closed"


def test_employer_instalments_have_lines_of_their_own(demo, boss):
    desk = Desk(demo)
    with demo.app_context():
        firm = db.session.scalar(select(Employer.id).where(Employer.code == DEMO_EMPLOYER[0]))
        [agreement_id] = employers.propose(uow(), firm, AgreementKind.EMPLOYER, [Party("x")], 2, FIRST_DUE, desk.cashier)
        employers.decide(uow(), agreement_id, boss, True)
        first = employers.standing(db.session, firm, TODAY).agreements[0].agreement.instalments[0]
        amount, first_id = first.amount_fen, first.id
        employers.pay_instalment(uow(), first_id, CounterMethod.CASH, desk.cashier, desk.terminal_id(), tendered_fen=amount)
    lines = {(line.terminal, line.channel): line for line in report(demo).lines}
    entry = lines[("COUNTER-01", "instalment_cash")]
    assert (entry.payments, entry.taken_fen, entry.cashier) == (1, amount, "Li Na")
