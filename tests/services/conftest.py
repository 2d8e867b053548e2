"""Fixtures for the payment guarantees: a terminal driven through the services, the buyer's
phone, the provider's callbacks, and the ledger an operator would look at."""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, update

from kiosk.domain.clock import local_today, utcnow
from kiosk.domain.idnumber import parse_resident_id
from kiosk.extensions import db
from kiosk.models import CallbackRefusal, PaymentAttempt, PaymentEvent, PaymentOrder, PaymentOrderItem, Receipt, SandboxTrade
from kiosk.domain.orders import OrderStatus, Source
from kiosk.payments import payments
from kiosk.payments import provider as provider_of
from kiosk.payments.sandbox import TRADE_SUCCESS, sign
from kiosk.services import checkout, sweeps, visits
from kiosk.services.dues import freeze_dues
from kiosk.services.people import find_person
from kiosk.services.uow import UnitOfWork

NOTIFY_URL = "/payments/notify/sandbox"
SETTINGS = checkout.CheckoutSettings(
    ttl=dt.timedelta(minutes=3), query_interval=dt.timedelta(0), public_base_url="http://localhost/", subject="premium",
)
LONG_IDLE = dt.timedelta(hours=1)


@dataclass
class Ledger:
    """What an operator checks after an incident, read fresh from the database."""

    orders: dict[int, tuple[str, int]] = field(default_factory=dict)  # id -> (status, refund_due_fen)
    totals: dict[int, int] = field(default_factory=dict)
    receipts: Counter = field(default_factory=Counter)  # order id -> receipts in force
    voided: Counter = field(default_factory=Counter)  # order id -> receipts made void
    settled: Counter = field(default_factory=Counter)  # bill id -> settled items
    settled_by: dict[int, list[int]] = field(default_factory=dict)  # bill id -> orders that settled it
    live: Counter = field(default_factory=Counter)  # bill id -> live items
    events: list[tuple[int | None, str, str]] = field(default_factory=list)  # (order id, kind, source)

    def status(self, order_id: int) -> str:
        return self.orders[order_id][0]

    def refund_due(self, order_id: int) -> int:
        return self.orders[order_id][1]

    def kinds(self, order_id: int | None = ..., kind: str | None = None) -> list[str]:
        """Event kinds for ``order_id`` (``None``: events with no order; omitted: all), optionally of one kind."""
        return [k for o, k, _ in self.events if (order_id is ... or o == order_id) and (kind is None or k == kind)]


def read_ledger(app) -> Ledger:
    """The sandbox's orders and everything hanging off them (the demo's counter history is left out)."""
    with app.app_context():
        ledger = Ledger()
        sandbox_orders = select(PaymentAttempt.order_id).where(PaymentAttempt.provider == "sandbox")
        for order in db.session.scalars(select(PaymentOrder).where(PaymentOrder.id.in_(sandbox_orders)).order_by(PaymentOrder.id)):
            ledger.orders[order.id] = (order.status, order.refund_due_fen)
            ledger.totals[order.id] = order.total_fen
        ours = list(ledger.orders)
        for receipt in db.session.scalars(select(Receipt).where(Receipt.order_id.in_(ours))):
            (ledger.voided if receipt.voided_at else ledger.receipts)[receipt.order_id] += 1
        for item in db.session.scalars(select(PaymentOrderItem).where(PaymentOrderItem.order_id.in_(ours)).order_by(PaymentOrderItem.id)):
            if item.settled:
                ledger.settled[item.bill_id] += 1
                ledger.settled_by.setdefault(item.bill_id, []).append(item.order_id)
            if item.live:
                ledger.live[item.bill_id] += 1
        events = select(PaymentEvent).where(PaymentEvent.order_id.in_(ours) | PaymentEvent.order_id.is_(None)).order_by(PaymentEvent.id)
        ledger.events = [(e.order_id, e.kind, e.source) for e in db.session.scalars(events)]
        return ledger


def refusals(app) -> dict[str, int]:
    """Refused callbacks as counted for the operator: reason -> count (all days, all providers)."""
    with app.app_context():
        counts: Counter = Counter()
        for row in db.session.scalars(select(CallbackRefusal)):
            counts[row.reason] += row.count
        return dict(counts)


def refusal_rows(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(CallbackRefusal)).all())


def bills_of(app, order_id: int) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(PaymentOrderItem.bill_id).where(PaymentOrderItem.order_id == order_id)
                                       .order_by(PaymentOrderItem.id)))


class Terminal:
    """One citizen's visit at one terminal, driven through the services (no HTTP)."""

    def __init__(self, app, code: str = "DEMO-01"):
        self.app = app
        with app.app_context():
            self.token = visits.start_visit(uow(), code)

    def _visit(self):
        return visits.load_visit(uow(), self.token, LONG_IDLE)

    def identify(self, number: str) -> Terminal:
        with self.app.app_context():
            resident = parse_resident_id(number, local_today(utcnow()))
            person = find_person(resident.number, self.app.config["ID_DIGEST_KEY"])
            visits.set_person(uow(), self._visit().id, person.id)
        return self

    def add_member(self, number: str) -> Terminal:
        """Add a family member: looked up, proposed, confirmed (raises ``visits.FamilyError``)."""
        with self.app.app_context():
            resident = parse_resident_id(number, local_today(utcnow()))
            person = find_person(resident.number, self.app.config["ID_DIGEST_KEY"])
            visit_id = self._visit().id
            visits.propose_member(uow(), visit_id, person.id)
            visits.confirm_member(uow(), visit_id)
        return self

    def family_bills(self) -> list[int]:
        """Everyone's payable bills on this visit (payer first), without a new checkout key."""
        with self.app.app_context():
            lines = checkout.freeze_family_dues(uow(), self._visit().id, local_today(utcnow()))
            return [line.bill.id for line in lines if line.payable]

    def payable_bills(self) -> list[int]:
        """Look at the dues (this freezes the bills) without a new checkout key."""
        with self.app.app_context():
            lines = freeze_dues(uow(), self._visit().person_id, local_today(utcnow()))
            return [line.bill.id for line in lines if line.payable]

    def new_key(self) -> str:
        """Show the dues screen: a fresh checkout key, as the kiosk hands out."""
        with self.app.app_context():
            return checkout.present_dues(uow(), self._visit().id, local_today(utcnow()))[1]

    def checkout(self, bill_ids: list[int] | None = None, key: str | None = None) -> int:
        """Tap Pay: returns the order id (raises ``CheckoutError`` as the service does)."""
        bill_ids = self.payable_bills() if bill_ids is None else bill_ids
        key = key or self.new_key()
        with self.app.app_context():
            return checkout.create_order(uow(), self._visit().id, bill_ids, key, payments(self.app).offered, SETTINGS).id


def uow() -> UnitOfWork:
    """A unit of work on the app's session (call inside an app context)."""
    return UnitOfWork(db.session)


def poll(app, order_id: int, now=None) -> str:
    """The QR screen's poll for ``order_id``; returns the order's status after it."""
    with app.app_context():
        return checkout.poll(uow(), order_id, payments(app).providers, SETTINGS, now).status


def close(app, order_id: int, target: OrderStatus = OrderStatus.CANCELLED, source: Source = Source.CANCEL, now=None) -> str:
    """Cancel (or expire) ``order_id`` as the kiosk does; returns the order's status after it."""
    with app.app_context():
        return checkout.close_order(uow(), order_id, target, payments(app).providers, source, now).status


def attempt_id(app, order_id: int) -> int:
    """The order's attempt: its winner, else the first of its current round (one provider here: its only one)."""
    with app.app_context():
        return db.session.get(PaymentOrder, order_id).attempt.id


def attempt_of(app, order_id: int) -> PaymentAttempt:
    with app.app_context():
        attempt = db.session.get(PaymentOrder, order_id).attempt
        db.session.expunge(attempt)
        return attempt


def sweep(app, now=None) -> int:
    """``flask reconcile``: returns how many orders it looked at."""
    with app.app_context():
        return sweeps.reconcile(uow(), provider_of(app), now)


def trade_of(app, order_id: int) -> SandboxTrade:
    """The provider's side of ``order_id``: the sandbox's ledger row."""
    with app.app_context():
        out_trade_no = db.session.get(PaymentOrder, order_id).attempt.out_trade_no
        return db.session.scalar(select(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no))


def wallet_token(app, order_id: int) -> str:
    with app.app_context():
        return db.session.get(PaymentOrder, order_id).attempt.qr_payload.rsplit("/", 1)[1]


def buyer_scans(app, order_id: int) -> None:
    with app.app_context():
        assert provider_of(app).scan(wallet_token(app, order_id)) is not None


def buyer_pays(app, order_id: int, notify_id: str = "notify-1") -> dict[str, str]:
    """The buyer scans and pays: the provider has the money. Returns its signed notification."""
    with app.app_context():
        provider = provider_of(app)
        token = wallet_token(app, order_id)
        provider.scan(token)
        trade = provider.settle(token, pay=True)
        assert trade is not None and trade.status == TRADE_SUCCESS
        return provider.notification_for(trade, notify_id=notify_id)


def provider_says_paid(app, order_id: int, notify_id: str = "late-1") -> dict[str, str]:
    """The provider's ledger says TRADE_SUCCESS whatever our side did (a payment that
    raced a close); the sandbox refuses to pay a closed trade, so write its ledger directly."""
    with app.app_context():
        out_trade_no = db.session.get(PaymentOrder, order_id).attempt.out_trade_no
        db.session.execute(update(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no)
                           .values(status=TRADE_SUCCESS, finished_at=utcnow(), refunded_fen=0))
        db.session.commit()
        trade = db.session.scalar(select(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no))
        return provider_of(app).notification_for(trade, notify_id=notify_id)


def resign(app, params: dict[str, str], **changes) -> dict[str, str]:
    """``params`` with ``changes``, signed again with the real key (a valid signature)."""
    changed = dict(params, **changes)
    changed["sign"] = sign(changed, app.config["SANDBOX_SIGNING_KEY"])
    return changed


def run_together(count: int, work, timeout: float = 60) -> tuple[list, list[BaseException]]:
    """Run ``work(i)`` in ``count`` threads released at the same instant by a barrier."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def runner(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - every escape is a finding
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results, errors


def subprocess_config(app) -> str:
    """The app's database settings as JSON, for a second process on the same database."""
    cfg = app.config
    return json.dumps({
        "ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": cfg["SQLALCHEMY_DATABASE_URI"],
        "SQLALCHEMY_ENGINE_OPTIONS": cfg.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        "SANDBOX_SIGNING_KEY": cfg["SANDBOX_SIGNING_KEY"], "ID_DIGEST_KEY": cfg["ID_DIGEST_KEY"],
    })


@pytest.fixture
def backend(app) -> str:
    """"sqlite" or "postgresql": the database this run of the test is on."""
    with app.app_context():
        return db.engine.dialect.name


@pytest.fixture
def terminal(demo):
    return Terminal(demo)
