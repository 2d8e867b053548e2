"""Employer arrears, the arrears notice, instalment agreements and their collection at the
counter (seed 002's replenishment process; the arithmetic is ``domain.employer``).

- ``propose``: a member of staff proposes an agreement for every arrear of the employer not
  under one yet: the debt is fixed on the signing day (principal and late fees until then) and
  scheduled in monthly instalments; a split's parties each get one for their share.
- ``decide``: a supervisor who did not propose it approves (the arrears are then agreed: their
  late fees stop) or rejects it.
- ``pay_instalment``: a cashier takes an instalment (with its late fee if it is late) in cash or
  by card; paid once, by compare-and-set, in one transaction with the drawer and the audit log.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ..domain import employer as rules
from ..domain.clock import local_today, to_local, utcnow
from ..domain.counter import CounterMethod, CounterProblem, DrawerKind, change_due, pos_reference
from ..domain.employer import AgreementKind, AgreementProblem, AgreementState
from ..models import DrawerEntry, Employer, EmployerArrear, Instalment, InstalmentAgreement, StaffUser, Terminal
from .staff import audit
from .uow import UnitOfWork

APPROVER_ROLES = ("supervisor",)


def find(session: Session, text: str) -> list[Employer]:
    """Employers whose code is ``text`` or whose name contains it."""
    text = text.strip()
    if not text:
        return []
    return list(session.scalars(select(Employer).where(or_(func.upper(Employer.code) == text.upper(),
                                                           Employer.name.contains(text, autoescape=True)))
                                .order_by(Employer.name).limit(50)))


def _arrear(row: EmployerArrear) -> rules.Arrear:
    return rules.Arrear(row.period, row.principal_fen, row.due_date)


def _instalment(row: Instalment) -> rules.Instalment:
    return rules.Instalment(row.number, row.due_date, row.amount_fen, to_local(row.paid_at).date() if row.paid_at else None)


@dataclass(frozen=True)
class AgreementView:
    agreement: InstalmentAgreement
    kept: bool
    unpaid_fen: int
    late_fee_fen: int
    due: dict[int, int]  # instalment id -> what paying it today costs


@dataclass(frozen=True)
class Standing:
    """An employer's account on a day: arrears outside any agreement (late fees still running),
    the agreements and what remains of each, and the remaining balance of it all."""

    employer: Employer
    open_arrears: list[tuple[EmployerArrear, int]]  # arrear, its late fee today
    agreements: list[AgreementView]
    on: dt.date

    @property
    def open_principal_fen(self) -> int:
        return sum(row.principal_fen for row, _ in self.open_arrears)

    @property
    def open_late_fee_fen(self) -> int:
        return sum(fee for _, fee in self.open_arrears)

    @property
    def balance_fen(self) -> int:
        """Everything still owed today: open arrears with their late fees, the active agreements'
        unpaid instalments and the late fees of those overdue."""
        active = [view for view in self.agreements if view.agreement.state == AgreementState.ACTIVE.value]
        return self.open_principal_fen + self.open_late_fee_fen + sum(v.unpaid_fen + v.late_fee_fen for v in active)

    @property
    def proposed(self) -> bool:
        return any(view.agreement.state == AgreementState.PROPOSED.value for view in self.agreements)


def standing(session: Session, employer_id: int, on: dt.date) -> Standing | None:
    employer = session.get(Employer, employer_id)
    if employer is None:
        return None
    open_rows = [row for row in employer.arrears if row.agreed_on is None]
    views = []
    for agreement in session.scalars(select(InstalmentAgreement).where(InstalmentAgreement.employer_id == employer_id)
                                     .order_by(InstalmentAgreement.id)):
        plan = [_instalment(row) for row in agreement.instalments]
        unpaid, fees = rules.balance(plan, on)
        views.append(AgreementView(agreement, rules.kept(plan, on), unpaid, fees,
                                   {row.id: rules.due_now(item, on) for row, item in zip(agreement.instalments, plan)
                                    if item.paid_on is None}))
    return Standing(employer, [(row, _arrear(row).late_fee_fen(on)) for row in open_rows], views, on)


@dataclass(frozen=True)
class Party:
    """Who signs an agreement, and for a split, for what share (None: the whole debt)."""

    name: str
    share_fen: int | None = None


def propose(uow: UnitOfWork, employer_id: int, kind: AgreementKind, parties: list[Party], count: int, first_due: dt.date,
            staff_id: int, terminal_code: str = "", now: dt.datetime | None = None) -> list[int]:
    """Agreements for every arrear of the employer not under one yet, signed today; returns their
    ids. ``AgreementProblem`` for what the rules refuse; nothing is written then."""
    now = now or utcnow()
    today = local_today(now)
    if not parties or any(not party.name.strip() for party in parties):
        raise AgreementProblem("counterparty")
    if kind is not AgreementKind.SPLIT and len(parties) != 1:
        raise AgreementProblem("shares")

    def work(session: Session) -> list[int]:
        employer = session.get(Employer, employer_id)
        pending = session.scalar(select(InstalmentAgreement.id).where(InstalmentAgreement.employer_id == employer_id,
                                                                      InstalmentAgreement.state == AgreementState.PROPOSED.value))
        if pending is not None:
            raise AgreementProblem("state")  # one proposal at a time: decide it first
        open_rows = [row for row in employer.arrears if row.agreed_on is None]
        principal, fees = rules.arrears_total([_arrear(row) for row in open_rows], today)
        if principal <= 0:
            raise AgreementProblem("nothing_owed")
        debt = principal + fees
        if kind is AgreementKind.SPLIT:
            shares = [party.share_fen or 0 for party in parties]
            rules.check_shares(debt, shares)
        else:
            shares = [debt]
        # each party's share of the principal and of the late fees, in proportion, adding up exactly
        principals = _apportion(principal, shares, debt)
        batch = secrets.token_hex(8)
        ids = []
        for party, share, share_principal in zip(parties, shares, principals):
            plan = rules.schedule(share, count, first_due, today)
            agreement = InstalmentAgreement(
                employer_id=employer_id, batch=batch, kind=kind.value, counterparty=party.name.strip()[:200],
                principal_fen=share_principal, late_fee_fen=share - share_principal, debt_fen=share, signed_on=today,
                state=AgreementState.PROPOSED.value, proposed_by=staff_id, proposed_at=now,
                instalments=[Instalment(number=item.number, due_date=item.due_date, amount_fen=item.amount_fen) for item in plan])
            session.add(agreement)
            session.flush()
            ids.append(agreement.id)
            audit(session, "agreement.propose", staff_id, terminal_code, now=now, after={
                "agreement_id": agreement.id, "employer_id": employer_id, "kind": kind.value, "debt_fen": share,
                "instalments": count, "first_due": first_due.isoformat()})
        return ids

    return uow.run(work, retries=1)


def _apportion(principal: int, shares: list[int], debt: int) -> list[int]:
    """The principal split in proportion to ``shares`` (largest remainders), adding up exactly."""
    exact = [principal * share for share in shares]
    parts = [value // debt for value in exact]
    order = sorted(range(len(shares)), key=lambda i: exact[i] % debt, reverse=True)
    for i in order[:principal - sum(parts)]:
        parts[i] += 1
    return parts


def decide(uow: UnitOfWork, agreement_id: int, staff_id: int, approve: bool, terminal_code: str = "",
           now: dt.datetime | None = None) -> None:
    """A supervisor who did not propose it approves (the whole batch: a split's agreements
    together) or rejects it. Approved, the arrears it covers are agreed: their late fees stop."""
    now = now or utcnow()

    def work(session: Session) -> None:
        agreement = session.get(InstalmentAgreement, agreement_id)
        approver = session.get(StaffUser, staff_id)
        if agreement is None or agreement.state != AgreementState.PROPOSED.value:
            raise AgreementProblem("state")
        if approver.role not in APPROVER_ROLES:
            raise AgreementProblem("role")
        if agreement.proposed_by == staff_id:
            raise AgreementProblem("own")
        target = AgreementState.ACTIVE if approve else AgreementState.REJECTED
        changed = session.execute(
            update(InstalmentAgreement).where(InstalmentAgreement.batch == agreement.batch,
                                              InstalmentAgreement.state == AgreementState.PROPOSED.value)
            .values(state=target.value, decided_by=staff_id, decided_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            raise AgreementProblem("state")
        if approve:
            session.execute(update(EmployerArrear).where(EmployerArrear.employer_id == agreement.employer_id,
                                                         EmployerArrear.agreed_on.is_(None))
                            .values(agreed_on=agreement.signed_on).execution_options(synchronize_session=False))
        audit(session, f"agreement.{'approve' if approve else 'reject'}", staff_id, terminal_code, now=now,
              before={"batch": agreement.batch, "state": AgreementState.PROPOSED.value},
              after={"batch": agreement.batch, "state": target.value, "agreements": changed})

    uow.run(work, retries=1)


@dataclass(frozen=True)
class InstalmentPaid:
    agreement_id: int
    paid_fen: int
    late_fee_fen: int
    change_fen: int | None


def pay_instalment(uow: UnitOfWork, instalment_id: int, method: CounterMethod, staff_id: int, terminal_id: int,
                   tendered_fen: int | None = None, reference: str | None = None, now: dt.datetime | None = None) -> InstalmentPaid:
    """Take an instalment at the counter: its amount and, paid after its due date, its late fee.
    Paid once (a second request is refused); an agreement whose instalments are all paid is
    completed. Raises ``AgreementProblem`` (state, paid) or ``CounterProblem``."""
    now = now or utcnow()
    today = local_today(now)
    if method is CounterMethod.SS_CARD:
        raise AgreementProblem("state")  # a unit pays from its own account: cash or a bank card

    def work(session: Session) -> InstalmentPaid:
        row = session.get(Instalment, instalment_id)
        if row is None or row.agreement.state != AgreementState.ACTIVE.value:
            raise AgreementProblem("state")
        if row.paid_at is not None:
            raise AgreementProblem("paid")
        due = rules.due_now(_instalment(row), today)
        fee = due - row.amount_fen
        change = None
        if method.takes_cash:
            if tendered_fen is None:
                raise CounterProblem("tendered")
            change = change_due(due, tendered_fen)
        slip = None if method.takes_cash else pos_reference(reference)
        paid = session.execute(
            update(Instalment).where(Instalment.id == instalment_id, Instalment.paid_at.is_(None))
            .values(paid_at=now, late_fee_paid_fen=fee, method=method.value, reference=slip, staff_id=staff_id,
                    terminal_id=terminal_id).execution_options(synchronize_session=False)).rowcount
        if not paid:
            raise AgreementProblem("paid")  # a racing request took it a moment before
        if method.takes_cash:
            session.add(DrawerEntry(terminal_id=terminal_id, staff_id=staff_id, kind=DrawerKind.SALE.value, amount_fen=due, at=now))
        agreement = row.agreement
        unpaid = session.scalar(select(func.count()).select_from(Instalment).where(
            Instalment.agreement_id == agreement.id, Instalment.paid_at.is_(None)))
        if unpaid == 0:
            agreement.state = AgreementState.COMPLETED.value
        code = session.scalar(select(Terminal.code).where(Terminal.id == terminal_id))
        audit(session, "instalment.pay", staff_id, code, now=now, after={
            "instalment_id": instalment_id, "agreement_id": agreement.id, "number": row.number, "paid_fen": due,
            "late_fee_fen": fee, "method": method.value, "completed": unpaid == 0})
        return InstalmentPaid(agreement.id, due, fee, change)

    return uow.run(work, retries=1)
