"""Tables. Money is integer fen; timestamps are naive UTC (see ``domain.clock``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .domain.clock import utcnow
from .domain.counter import COUNTER_METHODS, DrawerKind
from .domain.orders import order_state
from .domain.employer import AgreementKind, AgreementState
from .domain.refunds import RequestKind, RequestState
from .domain.terminals import PRINT_MODES, PRINTER_ENCODINGS, PRINTER_STATUSES, TERMINAL_KINDS, PrintMode, PrinterStatus, TerminalKind
from .extensions import db


class Region(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    agency_name: Mapped[str] = mapped_column(String(200))


class PremiumRuleRow(db.Model):
    """A premium rule as data, loaded from a rule file (``services.rules``); ``services.dues``
    turns rows into ``domain.premiums.PremiumRule``. A row never changes once written: a bill
    refers to the row that priced it. Reloading a changed file retires rows (``active`` false)
    and adds new ones; only active rows price new bills."""

    __tablename__ = "premium_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    flat_fen: Mapped[int] = mapped_column(Integer, default=0)
    rate_per_10000: Mapped[int] = mapped_column(Integer, default=0)
    base_floor_fen: Mapped[int] = mapped_column(Integer, default=0)
    base_cap_fen: Mapped[int] = mapped_column(Integer, default=0)
    late_fee_per_10000_per_day: Mapped[int] = mapped_column(Integer, default=0)
    rounding: Mapped[str] = mapped_column(String(8), default="fen")
    window_opens: Mapped[str] = mapped_column(String(5), default="09-01")
    window_opens_year: Mapped[int] = mapped_column(Integer, default=-1)
    window_closes: Mapped[str] = mapped_column(String(5), default="12-31")
    window_closes_year: Mapped[int] = mapped_column(Integer, default=-1)
    max_arrears_months: Mapped[int] = mapped_column(Integer, default=24)
    subsidy_percent: Mapped[dict] = mapped_column(JSON, default=dict)
    waiting_months: Mapped[int] = mapped_column(Integer, default=3)
    waiting_months_per_gap_year: Mapped[int] = mapped_column(Integer, default=1)
    employer_rate_per_10000: Mapped[int] = mapped_column(Integer, default=0)
    supplementary_rate_per_10000: Mapped[int] = mapped_column(Integer, default=0)
    minimum_years: Mapped[int] = mapped_column(Integer, default=15)
    version: Mapped[str] = mapped_column(String(40), default="")  # the file's `version`, else its checksum
    source: Mapped[str] = mapped_column(String(200), default="")  # the file it came from
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Person(db.Model):
    """An insured person. The ID number itself is not stored: only a keyed digest to find
    the person and the masked form to show."""

    __tablename__ = "insured_person"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_digest: Mapped[str] = mapped_column(String(64), unique=True)
    id_masked: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(30), default="standard")
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    # the mobile number registered for one-time codes (11 digits), shown only masked; none: no SMS
    phone: Mapped[str | None] = mapped_column(String(11))
    region: Mapped[Region] = relationship()
    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="person", order_by="Enrolment.id")


class Enrolment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_person.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    base_fen: Mapped[int | None] = mapped_column(Integer)
    gap_years: Mapped[int] = mapped_column(Integer, default=0)  # annual schemes: years uninsured before (late enrolment)
    person: Mapped[Person] = relationship(back_populates="enrolments")
    __table_args__ = (UniqueConstraint("person_id", "scheme", "start_date"),)


class Bill(db.Model):
    """A payable item for one period, frozen when first shown to the person."""

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_person.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    principal_fen: Mapped[int] = mapped_column(Integer)
    subsidy_fen: Mapped[int] = mapped_column(Integer, default=0)
    late_fee_per_10000_per_day: Mapped[int] = mapped_column(Integer, default=0)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("premium_rule.id"))  # the rule version that priced it
    waiting_months: Mapped[int] = mapped_column(Integer, default=0)  # late enrolment: months before benefits start
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    rule: Mapped[PremiumRuleRow | None] = relationship()
    __table_args__ = (
        UniqueConstraint("person_id", "scheme", "period_start", name="uq_bill_period"),
        CheckConstraint("principal_fen >= 0 AND subsidy_fen >= 0 AND subsidy_fen <= principal_fen", name="ck_bill_amounts"),
    )


def _one_of(values) -> str:
    return ", ".join(f"'{value}'" for value in sorted(values))


class Terminal(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200), default="")
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))  # whose rules price its dues
    kind: Mapped[str] = mapped_column(String(20), default=TerminalKind.BUREAU_KIOSK.value, server_default=TerminalKind.BUREAU_KIOSK.value)
    # the last heartbeat (a kiosk's page sends one a minute) and the printer status it reported
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    printer_status: Mapped[str] = mapped_column(String(20), default=PrinterStatus.UNKNOWN.value,
                                                server_default=PrinterStatus.UNKNOWN.value)
    # how it prints (``domain.terminals.PrintMode``); an ESC/POS printer's address (tcp://host:9100,
    # usb://VID:PID) and the encoding it reads Chinese in
    print_mode: Mapped[str] = mapped_column(String(10), default=PrintMode.BROWSER.value, server_default=PrintMode.BROWSER.value)
    printer_url: Mapped[str | None] = mapped_column(String(200))
    printer_encoding: Mapped[str] = mapped_column(String(10), default="GB18030", server_default="GB18030")
    region: Mapped[Region | None] = relationship()
    __table_args__ = (
        CheckConstraint(f"kind IN ({_one_of(TERMINAL_KINDS)})", name="ck_terminal_kind"),
        CheckConstraint(f"printer_status IN ({_one_of(PRINTER_STATUSES)})", name="ck_terminal_printer_status"),
        CheckConstraint(f"print_mode IN ({_one_of(PRINT_MODES)})", name="ck_terminal_print_mode"),
        CheckConstraint(f"printer_encoding IN ({_one_of(PRINTER_ENCODINGS)})", name="ck_terminal_printer_encoding"),
    )


class EnrolmentCode(db.Model):
    """A one-time code an administrator made to enrol a browser as a terminal: only its SHA-256
    is kept; used once (``used_at``), valid until ``expires_at``."""

    __tablename__ = "enrolment_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class TerminalBrowser(db.Model):
    """A browser enrolled as a terminal: it holds a random token in a cookie of its own, this row
    its SHA-256. Revoked, the browser is a stranger again."""

    __tablename__ = "terminal_browser"
    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    terminal: Mapped[Terminal] = relationship()


class PaymentOrder(db.Model):
    """One checkout: the bills a citizen chose, priced once, and who holds them.

    The payer (``payer_id``: the person identified first at the kiosk) need not be insured by
    any of the bills: each item names its own insured person (``PaymentOrderItem.person_id``),
    so one order and one QR code can pay for a family.

    The money moves in its attempts (``PaymentAttempt``): one provider trade each, a QR code
    each, several side by side when the terminal offers several apps, and a new round of them
    when a QR expired and the citizen asks for another. The first attempt paid wins
    (``paid_attempt_id``, set once by compare-and-set); any other payment is given back.
    The order's state is derived from its attempts (``domain.orders.order_state``)."""

    __tablename__ = "payment_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("insured_person.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    total_fen: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # the current round of attempts: its number, its QR codes' deadline, and when the providers
    # were last asked about it (the poll claims each query with a compare-and-set on this)
    round_no: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_queried_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    paid_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("payment_attempt.id", use_alter=True, name="fk_order_paid_attempt"))
    # the cashier who took it at a counter (None: a citizen at a kiosk)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    payer: Mapped[Person] = relationship()
    terminal: Mapped[Terminal] = relationship()
    items: Mapped[list[PaymentOrderItem]] = relationship(back_populates="order", order_by="PaymentOrderItem.id")
    # loaded with the order: its state is derived from them
    attempts: Mapped[list[PaymentAttempt]] = relationship(back_populates="order", order_by="PaymentAttempt.id",
                                                          foreign_keys="PaymentAttempt.order_id", lazy="selectin")
    paid_attempt: Mapped[PaymentAttempt | None] = relationship(foreign_keys=[paid_attempt_id], post_update=True, lazy="selectin")
    receipt: Mapped[Receipt | None] = relationship(back_populates="order")
    __table_args__ = (
        CheckConstraint("total_fen > 0", name="ck_order_total_positive"),
        # the orders one terminal made for a payer lately (create_order: the order limit and the take-over grace)
        Index("ix_payment_order_payer_created", "payer_id", "created_at"),
    )

    @property
    def current_attempts(self) -> list[PaymentAttempt]:
        """The attempts of the current round, in the order the terminal offers its providers."""
        return [attempt for attempt in self.attempts if attempt.round_no == self.round_no]

    @property
    def attempt(self) -> PaymentAttempt | None:
        """The winning attempt, else the first of the current round (a one-provider terminal's only one)."""
        if self.paid_attempt is not None:
            return self.paid_attempt
        current = self.current_attempts
        return current[0] if current else None

    @property
    def status(self) -> str:
        winner = self.paid_attempt.status if self.paid_attempt is not None else None
        return order_state(winner, [attempt.status for attempt in self.current_attempts]).value

    @property
    def refund_due_fen(self) -> int:
        """Money of the winning payment for bills another order had paid: given back automatically."""
        return self.paid_attempt.refund_due_fen if self.paid_attempt is not None else 0


class PaymentAttempt(db.Model):
    """One provider trade of an order: its QR code and the state machine of ``domain.orders``.

    Every change of ``status`` is a compare-and-set from the transition table
    (``services.settlement.move``), so notifications, polls, sweeps and closers agree."""

    __tablename__ = "payment_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_order.id"), index=True)
    round_no: Mapped[int] = mapped_column(Integer, default=1)
    provider: Mapped[str] = mapped_column(String(20))
    out_trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    # money of this trade to give back automatically: all of it for a second payment of a paid
    # order, the bills' part for bills another order had paid
    refund_due_fen: Mapped[int] = mapped_column(Integer, default=0)
    qr_payload: Mapped[str | None] = mapped_column(Text)
    qr_svg: Mapped[str | None] = mapped_column(Text)
    provider_trade_no: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # closed here, but the provider's cancel failed: its QR may still be paid there
    trade_open: Mapped[bool] = mapped_column(Boolean, default=False)
    # while CLOSING: since when, and where the attempt goes if the provider closes it unpaid
    closing_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    close_target: Mapped[str | None] = mapped_column(String(20))
    order: Mapped[PaymentOrder] = relationship(back_populates="attempts", foreign_keys=[order_id])
    __table_args__ = (CheckConstraint("amount_fen > 0", name="ck_attempt_amount_positive"),)


class PaymentOrderItem(db.Model):
    """A bill inside an order, with the amounts fixed when the order was made.

    ``live``: the order still holds the bill (pending or paid), so no other order may take
    it. ``settled``: this item paid the bill. Two partial unique indexes turn both rules
    into database constraints: a bill is in at most one live order, and paid at most once.
    """

    __tablename__ = "payment_order_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_order.id"), index=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bill.id"))
    # the insured person: the bill's, copied when the order is made (the order's payer may be someone else)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_person.id"), index=True)
    principal_fen: Mapped[int] = mapped_column(Integer)
    subsidy_fen: Mapped[int] = mapped_column(Integer)
    late_fee_fen: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    order: Mapped[PaymentOrder] = relationship(back_populates="items")
    bill: Mapped[Bill] = relationship()
    person: Mapped[Person] = relationship()
    __table_args__ = (
        Index("uq_item_live_bill", "bill_id", unique=True, sqlite_where=text("live = 1"), postgresql_where=text("live")),
        Index("uq_item_settled_bill", "bill_id", unique=True, sqlite_where=text("settled = 1"), postgresql_where=text("settled")),
        CheckConstraint("amount_fen = principal_fen - subsidy_fen + late_fee_fen", name="ck_item_amount"),
    )


class Receipt(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_order.id"), unique=True)
    payer_masked: Mapped[str] = mapped_column(String(100))
    id_masked: Mapped[str] = mapped_column(String(18))
    terminal_code: Mapped[str] = mapped_column(String(40))
    agency_name: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    print_count: Mapped[int] = mapped_column(Integer, default=0)
    # set when the payment behind it was given back: the receipt is kept for the record, void
    voided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # the random serial of its verification code (``domain.verification``): the QR code on it opens
    # /verify/<code>, the electronic receipt. Receipts issued before issue 9 get one when first shown
    verify_serial: Mapped[str | None] = mapped_column(String(16), unique=True)
    order: Mapped[PaymentOrder] = relationship(back_populates="receipt")


class PaymentEvent(db.Model):
    """What happened to an order and who said so: the operator's audit trail."""

    __tablename__ = "payment_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("payment_order.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("payment_attempt.id"))
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(400), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CallbackRefusal(db.Model):
    """How many callbacks were refused, per day, provider and reason: counted, never one row each,
    so a flood of garbage cannot grow the database."""

    __tablename__ = "callback_refusal"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("day", "provider", "reason", name="uq_callback_refusal_day"),)


class Visit(db.Model):
    """One citizen's session at a terminal, kept on the server so that it can be destroyed.

    The browser holds only a random token; this row holds its SHA-256.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("insured_person.id"))  # the payer: identified first
    # a family member looked up, waiting for the payer to confirm them (``visits.propose_member``)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("insured_person.id"))
    checkout_key: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("payment_order.id"))
    # how the person proved who they are, which their payment records need (``services.records``):
    # "sms" (a one-time code) or "card" (the ID-card reader); cleared whenever the person changes
    proven_by: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    candidate: Mapped[Person | None] = relationship(foreign_keys=[candidate_id])
    order: Mapped[PaymentOrder | None] = relationship()
    # the family members the payer pays for too, in the order they were added
    members: Mapped[list[VisitMember]] = relationship(order_by="VisitMember.position", cascade="all, delete-orphan",
                                                      passive_deletes=True)


# the payer and at most five more: one order, one QR code, for up to six persons
MAX_MEMBERS = 5


class VisitMember(db.Model):
    """A family member added to a visit: their payable items join the payer's list.
    Destroyed with the visit (``ON DELETE CASCADE``, and explicitly by ``services.visits``)."""

    __tablename__ = "visit_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_person.id"))
    position: Mapped[int] = mapped_column(Integer)  # 1..MAX_MEMBERS: the payer is position 0, on the visit
    person: Mapped[Person] = relationship()
    __table_args__ = (
        UniqueConstraint("visit_id", "person_id", name="uq_visit_member_person"),
        # two racing adds cannot take the same place, nor a sixth place
        UniqueConstraint("visit_id", "position", name="uq_visit_member_position"),
        CheckConstraint(f"position BETWEEN 1 AND {MAX_MEMBERS}", name="ck_visit_member_position"),
    )


class SandboxTrade(db.Model):
    """The sandbox provider's own ledger: what a real provider keeps on its side."""

    __tablename__ = "sandbox_trade"
    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="CREATED")
    notify_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)


class Refund(db.Model):
    """Money given back for an order, asked of the provider under our own request number.

    The row is committed before the provider is asked, so a crash leaves it ``processing``
    for ``flask refunds`` to follow up; the unique request number is what makes a retry ask
    for the same refund, never a second one."""

    __tablename__ = "refund"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_order.id"), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("payment_attempt.id"), index=True)  # the trade refunded
    out_request_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")  # short, never personal data
    source: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="processing", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (CheckConstraint("amount_fen > 0", name="ck_refund_amount_positive"),)


class SandboxRefund(db.Model):
    """The sandbox provider's ledger of refunds (what Alipay keeps per out_request_no)."""

    __tablename__ = "sandbox_refund"
    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(64), index=True)
    out_request_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class BaseChange(db.Model):
    """A flexible-employment enrolment's chosen base, changed at a terminal: in force for the
    periods from ``effective_month`` on (always after the month it was made in, so that no
    bill frozen already is ever priced again). A second change for the same month replaces
    the first."""

    __tablename__ = "base_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    effective_month: Mapped[dt.date] = mapped_column(Date)
    base_fen: Mapped[int] = mapped_column(Integer)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminal.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("enrolment_id", "effective_month", name="uq_base_change_month"),
        CheckConstraint("base_fen > 0", name="ck_base_change_positive"),
    )


class ContributionHistory(db.Model):
    """Contribution months of a scheme from before this system (transferred records)."""

    __tablename__ = "contribution_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_person.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(40))
    months: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        UniqueConstraint("person_id", "scheme", name="uq_contribution_history_scheme"),
        CheckConstraint("months >= 0", name="ck_contribution_history_months"),
    )


class StaffUser(db.Model):
    """A member of staff who logs in at the counter (``services.staff``). Only a hash of the
    password is kept (werkzeug's scrypt)."""

    __tablename__ = "staff_user"
    __table_args__ = (CheckConstraint("role IN ('cashier', 'supervisor', 'admin')", name="ck_staff_user_role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(db.Model):
    """One staff action, appended and never changed: who, what, when, at which terminal, the
    state before and after. ``staff_id`` is empty when nobody could be named (a failed log-in
    with an unknown username)."""

    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    terminal_code: Mapped[str] = mapped_column(String(40), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    detail: Mapped[str] = mapped_column(String(200), default="")


class CounterPayment(db.Model):
    """How a counter payment was taken (its attempt's ``provider`` is the method): the cash
    tendered and the change, or the POS slip's reference, or the social security card masked
    with its reference. Written in the same transaction that records the attempt paid."""

    __tablename__ = "counter_payment"
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("payment_attempt.id"), unique=True)
    method: Mapped[str] = mapped_column(String(20))
    tendered_fen: Mapped[int | None] = mapped_column(Integer)
    change_fen: Mapped[int | None] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(32))
    card_masked: Mapped[str | None] = mapped_column(String(20))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        CheckConstraint(f"method IN ({_one_of(COUNTER_METHODS)})", name="ck_counter_payment_method"),
        CheckConstraint("method != 'cash' OR (tendered_fen IS NOT NULL AND change_fen >= 0)", name="ck_counter_payment_cash"),
        CheckConstraint("method = 'cash' OR reference IS NOT NULL", name="ck_counter_payment_reference"),
    )


class DrawerEntry(db.Model):
    """Cash into (positive) or out of (negative) a counter's drawer. The drawer's expected
    balance is the sum of its terminal's entries; rows are only ever added."""

    __tablename__ = "drawer_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    kind: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("payment_order.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        CheckConstraint(f"kind IN ({_one_of(kind.value for kind in DrawerKind)})", name="ck_drawer_entry_kind"),
        CheckConstraint("amount_fen != 0", name="ck_drawer_entry_amount"),
    )


# the open states (requested, approved), as each database writes the partial index's predicate
# (PostgreSQL keeps IN as = ANY, and the schema check compares the predicates as written)
OPEN_REQUEST_PG = "(state)::text = ANY (ARRAY[('approved'::character varying)::text, ('requested'::character varying)::text])"


class RefundRequest(db.Model):
    """A refund or void a member of staff asked for, and a supervisor's decision on it (four eyes:
    never the same person). Carried out once approved: through the provider's refund, or as cash
    out of the drawer of the counter where it was asked (``refund_id``: the refund it made).
    At most one request per order is open at a time."""

    __tablename__ = "refund_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_order.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default=RequestState.REQUESTED.value)
    requested_by: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))
    order: Mapped[PaymentOrder] = relationship()
    refund: Mapped[Refund | None] = relationship()
    requester: Mapped[StaffUser] = relationship(foreign_keys=[requested_by])
    decider: Mapped[StaffUser | None] = relationship(foreign_keys=[decided_by])
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_refund_request_amount"),
        CheckConstraint(f"kind IN ({_one_of(kind.value for kind in RequestKind)})", name="ck_refund_request_kind"),
        CheckConstraint(f"state IN ({_one_of(state.value for state in RequestState)})", name="ck_refund_request_state"),
        # four eyes, kept by the database too
        CheckConstraint("decided_by IS NULL OR decided_by != requested_by", name="ck_refund_request_four_eyes"),
        Index("uq_refund_request_open", "order_id", unique=True,
              sqlite_where=text("state IN ('approved', 'requested')"), postgresql_where=text(OPEN_REQUEST_PG)),
    )


class DayClose(db.Model):
    """A business day closed by a supervisor: the payments and refunds recorded after the previous
    close (``period_start``) up to ``closed_at`` belong to it, and nothing recorded later does.
    A correction after the close (a refund, a late notification) falls into the next day."""

    __tablename__ = "day_close"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    period_start: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime] = mapped_column(DateTime, unique=True)
    closed_by: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    counts: Mapped[list[DrawerCount]] = relationship(order_by="DrawerCount.terminal_id")


class DrawerCount(db.Model):
    """A counter's cash counted at a day's close, beside what its drawer should have held."""

    __tablename__ = "drawer_count"
    id: Mapped[int] = mapped_column(primary_key=True)
    day_close_id: Mapped[int] = mapped_column(ForeignKey("day_close.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    expected_fen: Mapped[int] = mapped_column(Integer)
    counted_fen: Mapped[int] = mapped_column(Integer)
    terminal: Mapped[Terminal] = relationship()
    __table_args__ = (
        UniqueConstraint("day_close_id", "terminal_id", name="uq_drawer_count_terminal"),
        CheckConstraint("counted_fen >= 0", name="ck_drawer_count_counted"),
    )


class Employer(db.Model):
    """An insured unit: its unified social credit code (统一社会信用代码) and name."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    region: Mapped[Region] = relationship()
    arrears: Mapped[list[EmployerArrear]] = relationship(order_by="EmployerArrear.period")


class EmployerArrear(db.Model):
    """A period an employer did not pay. ``agreed_on``: the day an instalment agreement that took
    it over was signed (approved); its late fee stops there, being part of the agreement's debt."""

    __tablename__ = "employer_arrear"
    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(40))
    period: Mapped[dt.date] = mapped_column(Date)
    principal_fen: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date] = mapped_column(Date)
    agreed_on: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (
        UniqueConstraint("employer_id", "scheme", "period", name="uq_employer_arrear_period"),
        CheckConstraint("principal_fen > 0", name="ck_employer_arrear_principal"),
    )


class InstalmentAgreement(db.Model):
    """An agreement to pay an employer's arrears in instalments, signed with the employer or its
    successor (seed 002); a split's parties each sign one, for a share, in one ``batch``. Proposed
    by one member of staff, approved by a supervisor who is not the same person."""

    __tablename__ = "instalment_agreement"
    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    batch: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    counterparty: Mapped[str] = mapped_column(String(200))
    principal_fen: Mapped[int] = mapped_column(Integer)  # of the arrears, this agreement's share
    late_fee_fen: Mapped[int] = mapped_column(Integer)  # accrued until the signing, this agreement's share
    debt_fen: Mapped[int] = mapped_column(Integer)  # what the instalments add up to
    signed_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default=AgreementState.PROPOSED.value)
    proposed_by: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    employer: Mapped[Employer] = relationship()
    instalments: Mapped[list[Instalment]] = relationship(order_by="Instalment.number", back_populates="agreement")
    proposer: Mapped[StaffUser] = relationship(foreign_keys=[proposed_by])
    __table_args__ = (
        CheckConstraint(f"kind IN ({_one_of(kind.value for kind in AgreementKind)})", name="ck_instalment_agreement_kind"),
        CheckConstraint(f"state IN ({_one_of(state.value for state in AgreementState)})", name="ck_instalment_agreement_state"),
        CheckConstraint("debt_fen = principal_fen + late_fee_fen AND debt_fen > 0", name="ck_instalment_agreement_debt"),
        CheckConstraint("decided_by IS NULL OR decided_by != proposed_by", name="ck_instalment_agreement_four_eyes"),
    )


class Instalment(db.Model):
    """One instalment of an agreement; paid once (``paid_at`` set by compare-and-set), at a
    counter, with the late fee if it was paid after its due date."""

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("instalment_agreement.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(Integer)
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    late_fee_paid_fen: Mapped[int | None] = mapped_column(Integer)
    method: Mapped[str | None] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(32))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminal.id"))
    agreement: Mapped[InstalmentAgreement] = relationship(back_populates="instalments")
    __table_args__ = (
        UniqueConstraint("agreement_id", "number", name="uq_instalment_number"),
        CheckConstraint("amount_fen > 0", name="ck_instalment_amount"),
        CheckConstraint("(paid_at IS NULL) = (method IS NULL)", name="ck_instalment_paid_how"),
    )


class OtpChallenge(db.Model):
    """A one-time code sent by SMS to a person's registered phone, for one visit at one terminal
    (``domain.otp``). Only its keyed hash is kept; ``tries`` grows by compare-and-set; ``used_at``
    once it let the citizen in. Rows outlive the visit (``visit_id`` set to null): they count
    against the sending limits per person and per terminal, and the sweep deletes them after a day."""

    __tablename__ = "otp_challenge"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_person.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), default="")
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (CheckConstraint("tries >= 0", name="ck_otp_challenge_tries"),)


class SandboxSms(db.Model):
    """A message the sandbox SMS gateway 'sent': shown on the developer page (/sandbox/sms) and
    read by tests. Never written where a real gateway is configured."""

    __tablename__ = "sandbox_sms"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11))
    text: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Certificate(db.Model):
    """A payment certificate (缴费证明) of one person, scheme and year, as issued: its totals are
    those of the payments at that moment; /verify/<code> shows them, and says so when the payments
    have changed since (a refund). Masked name and ID are copied, as on receipts."""

    id: Mapped[int] = mapped_column(primary_key=True)
    verify_serial: Mapped[str] = mapped_column(String(16), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_person.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    # the periods it covers, first day to last (a flat annual premium: the year; months: the first and last paid)
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_to: Mapped[dt.date] = mapped_column(Date)
    months: Mapped[int] = mapped_column(Integer)
    payments: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(Integer)
    holder_masked: Mapped[str] = mapped_column(String(100))
    id_masked: Mapped[str] = mapped_column(String(18))
    agency_name: Mapped[str] = mapped_column(String(200))
    terminal_code: Mapped[str] = mapped_column(String(40))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))  # issued at a counter
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    print_count: Mapped[int] = mapped_column(Integer, default=0)
    person: Mapped[Person] = relationship()
    __table_args__ = (CheckConstraint("months >= 0 AND payments >= 0 AND total_fen >= 0", name="ck_certificate_totals"),)


class PrintJob(db.Model):
    """One print on a terminal's ESC/POS printer (``services.printing``): written before the
    bytes go out, finished as printed or failed. A failed job is never sent again by itself."""

    __tablename__ = "print_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"), index=True)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    copy: Mapped[bool] = mapped_column(Boolean, default=False)  # a reprint someone asked for
    status: Mapped[str] = mapped_column(String(10), default="sending")
    printer_status: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (
        CheckConstraint("status IN ('sending', 'printed', 'failed')", name="ck_print_job_status"),
        CheckConstraint("(receipt_id IS NULL) <> (certificate_id IS NULL)", name="ck_print_job_document"),
    )
