"""Server-side citizen sessions: created at the service menu, destroyed when done or idle."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.clock import utcnow
from ..models import Region, Terminal, Visit
from .uow import UnitOfWork

# a visit seen within this long is not written again: the poller asks every second
TOUCH_EVERY = dt.timedelta(seconds=5)


def token_digest(token: str) -> str:
    """What the database keeps of a visit's token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def terminal_id(session: Session, code: str, region_code: str | None = None) -> int:
    """The terminal with this code, registered on first use (until the terminal registry lands).
    With ``region_code`` (the setting KIOSK_TERMINAL_REGION) it stands in that region, whose
    rules price its dues; a region not loaded yet (`flask rules load`) leaves it as it was."""
    found = session.execute(select(Terminal.id, Terminal.region_id).where(Terminal.code == code)).first()
    region_id = session.scalar(select(Region.id).where(Region.code == region_code)) if region_code else None
    if found is not None:
        if region_id is not None and found.region_id != region_id:
            session.execute(update(Terminal).where(Terminal.id == found.id).values(region_id=region_id)
                            .execution_options(synchronize_session=False))
        return found.id
    try:
        with session.begin_nested():
            terminal = Terminal(code=code, name=code, region_id=region_id)
            session.add(terminal)
        return terminal.id
    except IntegrityError:
        return session.scalar(select(Terminal.id).where(Terminal.code == code))


def start_visit(uow: UnitOfWork, terminal_code: str, old_token: str | None = None, region_code: str | None = None) -> str:
    """A new visit; the previous one on this browser, if any, is destroyed in the same transaction."""
    token = secrets.token_urlsafe(32)

    def work(session):
        if old_token:
            session.execute(delete(Visit).where(Visit.token_digest == token_digest(old_token)))
        session.add(Visit(token_digest=token_digest(token), terminal_id=terminal_id(session, terminal_code, region_code)))

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
        uow.session.execute(delete(Visit).where(Visit.token_digest == token_digest(token)))
        uow.commit()


def purge_idle(uow: UnitOfWork, max_idle: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Destroy every visit idle for longer than ``max_idle`` (the browser may never come back)."""
    with uow:
        result = uow.session.execute(delete(Visit).where(Visit.last_seen_at < (now or utcnow()) - max_idle))
        uow.commit()
    return result.rowcount


def set_person(uow: UnitOfWork, visit_id: int, person_id: int | None) -> None:
    """Who the citizen at this visit is (None: nobody yet); anything about the previous person goes."""
    with uow:
        uow.session.execute(update(Visit).where(Visit.id == visit_id).values(person_id=person_id, order_id=None, checkout_key=None)
                            .execution_options(synchronize_session=False))
        uow.commit()

