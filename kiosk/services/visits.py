"""Server-side citizen sessions: created at the service menu, destroyed when done or idle."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.clock import utcnow
from ..domain.orders import OrderStatus
from ..domain.otp import MAX_TRIES as OTP_MAX_TRIES
from ..domain.terminals import TerminalKind
from ..models import MAX_MEMBERS, OtpChallenge, Person, Region, Terminal, Visit, VisitMember
from .uow import UnitOfWork

# a visit seen within this long is not written again: the poller asks every second
TOUCH_EVERY = dt.timedelta(seconds=5)


def token_digest(token: str) -> str:
    """What the database keeps of a visit's token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def terminal_id(session: Session, code: str, region_code: str | None = None,
                kind: TerminalKind = TerminalKind.BUREAU_KIOSK) -> int:
    """The terminal with this code, registered on first use as a ``kind`` (until the terminal
    registry lands). With ``region_code`` (the setting KIOSK_TERMINAL_REGION) it stands in that
    region, whose rules price its dues; a region not loaded yet (`flask rules load`) leaves it as it was."""
    found = session.execute(select(Terminal.id, Terminal.region_id).where(Terminal.code == code)).first()
    region_id = session.scalar(select(Region.id).where(Region.code == region_code)) if region_code else None
    if found is not None:
        if region_id is not None and found.region_id != region_id:
            session.execute(update(Terminal).where(Terminal.id == found.id).values(region_id=region_id)
                            .execution_options(synchronize_session=False))
        return found.id
    try:
        with session.begin_nested():
            terminal = Terminal(code=code, name=code, region_id=region_id, kind=kind.value)
            session.add(terminal)
        return terminal.id
    except IntegrityError:
        return session.scalar(select(Terminal.id).where(Terminal.code == code))


def start_visit(uow: UnitOfWork, terminal_code: str, old_token: str | None = None, region_code: str | None = None,
                kind: TerminalKind = TerminalKind.BUREAU_KIOSK) -> str:
    """A new visit; the previous one on this browser, if any, is destroyed in the same transaction."""
    return begin_visit(uow, lambda session: terminal_id(session, terminal_code, region_code, kind), old_token)


def begin_visit(uow: UnitOfWork, terminal, old_token: str | None = None) -> str:
    """A new visit at the terminal ``terminal`` (its id, or a function of the session giving it);
    the previous one on this browser, if any, is destroyed in the same transaction."""
    token = secrets.token_urlsafe(32)

    def work(session):
        if old_token:
            _delete_visits(session, Visit.token_digest == token_digest(old_token))
        session.add(Visit(token_digest=token_digest(token), terminal_id=terminal(session) if callable(terminal) else terminal))

    uow.run(work)
    return token


def load_visit(uow: UnitOfWork, token: str | None, max_idle: dt.timedelta, now: dt.datetime | None = None) -> Visit | None:
    """The live visit for ``token``, or None. A visit idle for longer than ``max_idle`` is destroyed."""
    if not token:
        return None
    now = now or utcnow()
    session = uow.session
    visit = session.scalar(select(Visit).where(Visit.token_digest == token_digest(token)))
    if visit is None:
        return None
    if now - visit.last_seen_at > max_idle:
        end_visit(uow, token)
        return None
    if touch(uow, visit.id, visit.last_seen_at, now):
        visit = session.get(Visit, visit.id)
    return visit


def touch(uow: UnitOfWork, visit_id: int, last_seen_at: dt.datetime, now: dt.datetime) -> bool:
    """Note that the citizen is still there, at most every ``TOUCH_EVERY`` (polls come every
    second). Returns whether it wrote."""
    if now - last_seen_at < TOUCH_EVERY:
        return False
    with uow:
        uow.session.execute(update(Visit).where(Visit.id == visit_id).values(last_seen_at=now)
                            .execution_options(synchronize_session=False))
        uow.commit()
    return True


def end_visit(uow: UnitOfWork, token: str) -> None:
    with uow:
        _delete_visits(uow.session, Visit.token_digest == token_digest(token))
        uow.commit()


# a citizen served at a counter: the cashier counts cash and reads card slips, so the visit
# lasts longer there than a kiosk's unattended screen; "Next customer" ends it at once
COUNTER_IDLE = dt.timedelta(minutes=20)


def purge_idle(uow: UnitOfWork, max_idle: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Destroy every visit idle for longer than ``max_idle`` (the browser may never come back);
    at a counter, idle for longer than ``COUNTER_IDLE``."""
    now = now or utcnow()
    counters = select(Terminal.id).where(Terminal.kind == TerminalKind.COUNTER.value)
    idle = or_(and_(Visit.last_seen_at < now - max_idle, Visit.terminal_id.not_in(counters)),
               Visit.last_seen_at < now - COUNTER_IDLE)
    with uow:
        count = _delete_visits(uow.session, idle)
        uow.commit()
    return count


def _delete_visits(session: Session, which) -> int:
    """Delete the visits ``which`` selects, and their family members (also ``ON DELETE CASCADE``:
    said here as well, so nothing depends on SQLite's foreign-key switch)."""
    session.execute(delete(VisitMember).where(VisitMember.visit_id.in_(select(Visit.id).where(which)))
                    .execution_options(synchronize_session=False))
    # one-time codes outlive their visit, for the sending limits (``ON DELETE SET NULL`` too)
    session.execute(update(OtpChallenge).where(OtpChallenge.visit_id.in_(select(Visit.id).where(which)))
                    .values(visit_id=None).execution_options(synchronize_session=False))
    return session.execute(delete(Visit).where(which).execution_options(synchronize_session=False)).rowcount


def set_person(uow: UnitOfWork, visit_id: int, person_id: int | None) -> None:
    """Who the citizen at this visit is (None: nobody yet); anything about the previous person
    goes, their family members too."""
    with uow:
        uow.session.execute(delete(VisitMember).where(VisitMember.visit_id == visit_id).execution_options(synchronize_session=False))
        uow.session.execute(update(Visit).where(Visit.id == visit_id)
                            .values(person_id=person_id, candidate_id=None, order_id=None, checkout_key=None, proven_by=None)
                            .execution_options(synchronize_session=False))
        # the proof of the person before, and any code sent for it, end here
        uow.session.execute(update(OtpChallenge).where(OtpChallenge.visit_id == visit_id, OtpChallenge.used_at.is_(None))
                            .values(tries=OTP_MAX_TRIES).execution_options(synchronize_session=False))
        uow.commit()


# Paying for others (seed 003): the payer, identified first, adds family members whose payable
# items join the same list and the same order. Alipay allows five relatives a year; here the
# payer and five more share one QR code.

class FamilyError(Exception):
    """Why a member was not added or removed; ``reason`` picks the message: ``is_payer``,
    ``already_added``, ``too_many``, ``no_candidate``, or ``paying`` (the visit's order is open)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def persons_of(visit: Visit) -> list[Person]:
    """Everyone the visit pays for, in order: the payer first, then the members as added."""
    return ([visit.person] if visit.person is not None else []) + [member.person for member in visit.members]


def _refusal(visit: Visit, person_id: int) -> str | None:
    if visit.order is not None and not OrderStatus(visit.order.status).finished:
        return "paying"  # the list of an order being paid does not change
    if person_id == visit.person_id:
        return "is_payer"
    if any(member.person_id == person_id for member in visit.members):
        return "already_added"
    if len(visit.members) >= MAX_MEMBERS:
        return "too_many"
    return None


def may_add_member(visit: Visit) -> bool:
    return visit.person_id is not None and len(visit.members) < MAX_MEMBERS


def propose_member(uow: UnitOfWork, visit_id: int, person_id: int) -> None:
    """A person looked up to be added: kept on the visit (never in the browser) until the payer
    confirms them. Raises ``FamilyError`` (nothing changes) for the payer, someone already
    added, or a seventh person."""

    def work(session):
        visit = session.get(Visit, visit_id)
        reason = _refusal(visit, person_id)
        if reason:
            raise FamilyError(reason)
        visit.candidate_id = person_id

    uow.run(work)


def drop_candidate(uow: UnitOfWork, visit_id: int) -> None:
    with uow:
        uow.session.execute(update(Visit).where(Visit.id == visit_id).values(candidate_id=None)
                            .execution_options(synchronize_session=False))
        uow.commit()


def confirm_member(uow: UnitOfWork, visit_id: int) -> None:
    """The payer confirmed the person looked up: they join the visit, in the first free place.
    Raises ``FamilyError`` (nothing changes) as ``propose_member`` does, or ``no_candidate``.
    The unique constraints settle two racing confirmations: one wins, the other is refused."""
    session = uow.session
    try:
        with uow:
            visit = session.get(Visit, visit_id)
            person_id = visit.candidate_id
            if person_id is None:
                raise FamilyError("no_candidate")
            reason = _refusal(visit, person_id)
            if reason:
                raise FamilyError(reason)
            taken = {member.position for member in visit.members}
            position = min(set(range(1, MAX_MEMBERS + 1)) - taken)
            session.add(VisitMember(visit_id=visit_id, person_id=person_id, position=position))
            _list_changed(visit)
            visit.candidate_id = None
            session.flush()
            uow.commit()
    except IntegrityError:
        with uow:
            visit = session.get(Visit, visit_id, populate_existing=True)
            reason = _refusal(visit, person_id) or "already_added"
        raise FamilyError(reason) from None


def remove_member(uow: UnitOfWork, visit_id: int, person_id: int) -> bool:
    """Take a member off the visit before paying (the payer cannot be removed: "Not me" does that).
    Returns whether one was removed."""
    with uow:
        visit = uow.session.get(Visit, visit_id)
        if visit.order is not None and not OrderStatus(visit.order.status).finished:
            raise FamilyError("paying")
        member = next((member for member in visit.members if member.person_id == person_id), None)
        if member is not None:
            visit.members.remove(member)
            _list_changed(visit)
        uow.commit()
    return member is not None


def _list_changed(visit: Visit) -> None:
    """The persons on the visit changed: a Pay tap from the screen before must not go through
    (its checkout key is gone), and an order that ended unpaid is not offered a new QR code for
    the old list (the visit lets go of it; an order still open is never let go of)."""
    visit.checkout_key = None
    if visit.order is not None and OrderStatus(visit.order.status).finished:
        visit.order_id = None

