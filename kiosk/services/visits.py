"""Server-side citizen sessions: created at the service menu, destroyed when done or idle."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select

from ..domain.clock import utcnow
from ..extensions import db
from ..models import Terminal, Visit


# a visit seen within this long is not written again: the poller asks every second
TOUCH_EVERY = dt.timedelta(seconds=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def terminal_by_code(code: str) -> Terminal:
    terminal = db.session.scalar(select(Terminal).where(Terminal.code == code))
    if terminal is None:
        terminal = Terminal(code=code, name=code)
        db.session.add(terminal)
        db.session.commit()
    return terminal


def start_visit(terminal_code: str, old_token: str | None = None) -> str:
    """A new visit; the previous one on this browser, if any, is destroyed first."""
    if old_token:
        end_visit(old_token)
    terminal = terminal_by_code(terminal_code)
    token = secrets.token_urlsafe(32)
    db.session.add(Visit(token_digest=_digest(token), terminal_id=terminal.id))
    db.session.commit()
    return token


def load_visit(token: str | None, max_idle: dt.timedelta, now: dt.datetime | None = None, touch: bool = True) -> Visit | None:
    """The live visit for ``token``, or None. A visit idle for longer than ``max_idle`` is destroyed."""
    if not token:
        return None
    now = now or utcnow()
    visit = db.session.scalar(select(Visit).where(Visit.token_digest == _digest(token)))
    if visit is None:
        return None
    if now - visit.last_seen_at > max_idle:
        db.session.delete(visit)
        db.session.commit()
        return None
    if touch and now - visit.last_seen_at >= TOUCH_EVERY:
        visit.last_seen_at = now
        db.session.commit()
    return visit


def end_visit(token: str) -> None:
    db.session.execute(delete(Visit).where(Visit.token_digest == _digest(token)))
    db.session.commit()


def purge_idle(max_idle: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Destroy every visit idle for longer than ``max_idle`` (the browser may never come back)."""
    result = db.session.execute(delete(Visit).where(Visit.last_seen_at < (now or utcnow()) - max_idle))
    db.session.commit()
    return result.rowcount


def set_person(visit: Visit, person_id: int | None) -> None:
    visit.person_id = person_id
    visit.order_id = None
    visit.checkout_key = None
    db.session.commit()
