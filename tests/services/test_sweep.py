"""``flask sweep`` on several hosts at once: one sweep runs, the others skip and say so, and even
sweeps that do overlap never close an order twice or ask the provider for a refund twice."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import threading
from collections import Counter

import pytest
from sqlalchemy import select, update

from kiosk.domain.clock import utcnow
from kiosk.extensions import db
from kiosk.models import PaymentAttempt, PaymentOrder, SandboxRefund
from kiosk.payments import payments
from kiosk.payments.sandbox import SandboxProvider
from kiosk.services import sweeps
from kiosk.services.checkout import CLOSE_LEASE
from tests.helpers import CHEN_JIANGUO, LI_XIAOHONG, ZHANG_SAN
from tests.services.conftest import Terminal, buyer_pays, read_ledger, run_together, subprocess_config, trade_of, uow
from tests.services.test_closing_races import _a_closer_claims_and_dies
from tests.services.test_exactly_once import ROOT as ROOT_DIR
from tests.services.test_exactly_once import late_payment_with_replacement, post_notification

IDLE = dt.timedelta(hours=1)


def sweep_once(app) -> sweeps.SweepReport:
    """What ``flask sweep`` does on one host."""
    with app.app_context():
        try:
            return sweeps.run_sweep(uow(), payments(app).providers.values(), IDLE)
        finally:
            db.session.remove()


def jobs_without_the_lock(app) -> sweeps.SweepReport:
    """A sweep whose lock was lost (its connection broke mid-run): only compare-and-set protects."""
    with app.app_context():
        try:
            return sweeps.run_jobs(uow(), payments(app).providers.values(), IDLE)
        finally:
            db.session.remove()


class ProviderCalls:
    """Every question the sandbox provider is asked, by (method, trade or refund number)."""

    def __init__(self, monkeypatch):
        self.calls: Counter = Counter()
        self._lock = threading.Lock()
        for method in ("query", "cancel", "refund", "query_refund"):
            original = getattr(SandboxProvider, method)
            monkeypatch.setattr(SandboxProvider, method, self._counting(method, original))

    def _counting(self, method, original):
        def counted(provider, out_trade_no, *args, **kwargs):
            with self._lock:
                # a refund by its request number, anything else by its trade
                self.calls[(method, kwargs.get("out_request_no") or (args[0] if method == "query_refund" else out_trade_no))] += 1
            return original(provider, out_trade_no, *args, **kwargs)
        return counted

    def of(self, method: str) -> Counter:
        return Counter({key: n for (m, key), n in self.calls.items() if m == method})


def due_work(app, terminal) -> dict[str, list[int]]:
    """What a sweep has to do: two pending orders past their deadline, an order whose closer died
    a lease ago, and an order paid twice whose money is owed back."""
    _, owed = late_payment_with_replacement(app, terminal)
    assert post_notification(app, buyer_pays(app, owed)).text == "success"
    expired = [Terminal(app).identify(number).checkout() for number in (ZHANG_SAN, LI_XIAOHONG)]
    dead = Terminal(app).identify(CHEN_JIANGUO).checkout()
    _a_closer_claims_and_dies(app, dead)
    with app.app_context():
        past = utcnow() - dt.timedelta(seconds=1)
        db.session.execute(update(PaymentOrder).where(PaymentOrder.id.in_(expired)).values(expires_at=past))
        db.session.execute(update(PaymentAttempt).where(PaymentAttempt.order_id.in_(expired)).values(expires_at=past))
        db.session.execute(update(PaymentAttempt).where(PaymentAttempt.order_id == dead).values(closing_at=past - CLOSE_LEASE))
        db.session.commit()
    return {"expired": expired, "dead": [dead], "owed": [owed]}


def out_trade_no(app, order_id) -> str:
    with app.app_context():
        return db.session.get(PaymentOrder, order_id).attempt.out_trade_no


def provider_refunds(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(SandboxRefund.out_request_no)))


def assert_done_once(app, work, calls: ProviderCalls) -> None:
    ledger = read_ledger(app)
    for order_id in work["expired"]:
        assert ledger.status(order_id) == "expired"
        assert calls.of("cancel")[out_trade_no(app, order_id)] == 1  # the trade closed once
        assert trade_of(app, order_id).status == "TRADE_CLOSED"
    (dead,) = work["dead"]
    assert ledger.status(dead) == "cancelled" and calls.of("cancel")[out_trade_no(app, dead)] == 1
    (owed,) = work["owed"]
    assert (ledger.status(owed), ledger.refund_due(owed)) == ("refunded", 0)
    assert sum(calls.of("refund").values()) == 1 and provider_refunds(app) == [f"AUTO-{owed}"]
    for order_id in work["expired"] + work["dead"] + work["owed"]:
        doubled = {kind: n for kind, n in Counter(ledger.kinds(order_id)).items() if n > 1}
        assert doubled == {}, f"order {order_id} has events twice: {doubled}"
    assert not ledger.live  # no bill is held by an order any more


def test_a_sweep_does_all_that_is_due_and_a_second_one_finds_nothing_left(demo, terminal, monkeypatch):
    work = due_work(demo, terminal)
    calls = ProviderCalls(monkeypatch)
    first = sweep_once(demo)
    assert not first.skipped and not first.failed
    assert first.done["sandbox: unfinished payment attempts followed"] == 3  # two expired, one dead closer
    assert first.done["sandbox: refunds of money paid twice asked for"] == 1
    assert_done_once(demo, work, calls)
    second = sweep_once(demo)
    assert second.done["sandbox: unfinished payment attempts followed"] == 0
    assert second.done["sandbox: refunds of money paid twice asked for"] == 0
    assert_done_once(demo, work, calls)


def test_a_sweep_started_while_another_runs_skips_and_says_so(demo, terminal, monkeypatch):
    work = due_work(demo, terminal)
    calls = ProviderCalls(monkeypatch)
    inside, release = threading.Event(), threading.Event()
    original = sweeps.reconcile

    def slow_reconcile(*args, **kwargs):
        inside.set()
        assert release.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(sweeps, "reconcile", slow_reconcile)
    reports = {}
    first = threading.Thread(target=lambda: reports.setdefault("first", sweep_once(demo)))
    first.start()
    try:
        assert inside.wait(30)
        second = sweep_once(demo)
        assert second.skipped and second.done == {}
        assert second.summary() == "sweep skipped: another sweep is running (it holds the lock)"
    finally:
        release.set()
        first.join(60)
    assert not reports["first"].skipped and reports["first"].done["sandbox: unfinished payment attempts followed"] == 3
    assert_done_once(demo, work, calls)


def test_four_sweeps_at_the_same_instant_do_everything_once(demo, terminal, monkeypatch):
    work = due_work(demo, terminal)
    calls = ProviderCalls(monkeypatch)
    reports, errors = run_together(4, lambda _: sweep_once(demo))
    assert errors == []
    assert any(not report.skipped for report in reports)
    assert_done_once(demo, work, calls)


def test_sweeps_that_lost_their_lock_still_close_each_order_once_and_refund_once(demo, terminal, monkeypatch):
    """The second line of defence: compare-and-set in every use case, with no lock at all."""
    work = due_work(demo, terminal)
    calls = ProviderCalls(monkeypatch)
    reports, errors = run_together(3, lambda _: jobs_without_the_lock(demo))
    assert errors == [] and all(not report.failed for report in reports)
    assert_done_once(demo, work, calls)


def test_a_sweep_that_crashes_releases_the_lock(demo, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("the sweep died here")

    with monkeypatch.context() as patched:
        patched.setattr(sweeps, "run_jobs", crash)
        with pytest.raises(RuntimeError):
            sweep_once(demo)
    assert not sweep_once(demo).skipped


def test_a_failing_job_is_reported_and_the_other_jobs_still_run(demo, terminal, monkeypatch):
    work = due_work(demo, terminal)

    def down(*args, **kwargs):
        raise RuntimeError("provider down")

    monkeypatch.setattr(sweeps, "reconcile", down)
    report = sweep_once(demo)
    assert report.failed == ["sandbox: unfinished payment attempts followed"]
    assert report.done["sandbox: refunds of money paid twice asked for"] == 1
    assert read_ledger(demo).status(work["owed"][0]) == "refunded"
    assert "sandbox: unfinished payment attempts followed FAILED" in report.summary()
    assert not sweep_once(demo).skipped  # and the lock was released


HOLD_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from kiosk import create_app
    from kiosk.database import exclusive
    from kiosk.extensions import db
    from kiosk.services.sweeps import LOCK_NAME

    app = create_app(json.loads(os.environ["KIOSK_TEST_APP_CONFIG"]))
    with app.app_context(), exclusive(db.engine, LOCK_NAME) as held:
        print("held" if held else "not held", flush=True)
        time.sleep(120)  # a sweep at work on another host, until it is killed
""")


def test_a_sweep_on_another_host_blocks_ours_until_its_process_dies(demo):
    env = dict(os.environ, KIOSK_TEST_APP_CONFIG=subprocess_config(demo), PYTHONPATH=str(ROOT_DIR))
    other = subprocess.Popen([sys.executable, "-c", HOLD_SCRIPT], cwd=ROOT_DIR, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        assert sweep_once(demo).skipped
    finally:
        other.kill()  # SIGKILL: no finally block runs, the lock goes with the process
        other.wait(30)
    assert not sweep_once(demo).skipped


def test_a_sweep_that_read_an_order_before_a_kiosk_cancelled_it_leaves_it_cancelled(demo, terminal, monkeypatch):
    """The sweep's list of pending orders is read before it acts: by the time it closes one, a
    kiosk may have cancelled it and closed its trade. That order is not claimed and closed again."""
    from kiosk.domain.orders import OrderStatus, Source
    from tests.helpers import ZHAO_MIN
    from tests.services.conftest import close

    order_id = terminal.identify(ZHAO_MIN).checkout()
    assert close(demo, order_id) == "cancelled"
    calls = ProviderCalls(monkeypatch)
    # what the sweep does next with the row it read as pending and past its deadline
    assert close(demo, order_id, OrderStatus.EXPIRED, Source.SWEEP_CLOSE) == "cancelled"
    assert calls.calls == Counter()
    assert Counter(read_ledger(demo).kinds(order_id))["cancelled"] <= 1
