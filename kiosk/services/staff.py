"""Staff accounts: creating them, logging in and out, and the audit log every staff action writes.

The audit log is append-only: ``audit`` adds an entry and nothing here (or anywhere) changes or
deletes one. Log-in failures are audited without the username typed, which may be a password
typed into the wrong box; log messages name neither."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.clock import utcnow
from ..domain.staff import MAX_PASSWORD_LENGTH, ROLES, after_failure, is_locked, password_problem
from ..models import AuditEntry, StaffUser
from .uow import UnitOfWork

# checked against when the username is unknown, so that a wrong username takes as long as a wrong password
_DUMMY_HASH = generate_password_hash("not a password of anyone")


class StaffError(ValueError):
    """A staff account that cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class LoginResult:
    """``staff_id`` when the log-in succeeded; else ``locked_until`` (naive UTC) when the account is
    locked, or neither for a wrong username or password (the two are not told apart)."""

    staff_id: int | None = None
    locked_until: dt.datetime | None = None


def audit(session: Session, action: str, staff_id: int | None, terminal_code: str = "",
          before: dict | None = None, after: dict | None = None, detail: str = "", now: dt.datetime | None = None) -> None:
    """Append one entry to the audit log, in the caller's unit of work."""
    session.add(AuditEntry(staff_id=staff_id, action=action, terminal_code=terminal_code or "", at=now or utcnow(),
                           before=before, after=after, detail=detail))


def _password_is(password_hash: str, password: str) -> bool:
    # a password longer than any account may have is wrong without hashing it
    return len(password) <= MAX_PASSWORD_LENGTH and check_password_hash(password_hash, password)


def _lock_state(user: StaffUser) -> dict:
    return {"failed_logins": user.failed_logins,
            "locked_until": user.locked_until.isoformat() if user.locked_until else None}


def create_staff(uow: UnitOfWork, username: str, display_name: str, role: str, password: str) -> int:
    """A new staff account; ``StaffError`` for an unknown role, a weak password, a username taken."""
    username = username.strip()
    if not username:
        raise StaffError("the username is empty")
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    problem = password_problem(password)
    if problem:
        raise StaffError(problem)
    with uow:
        session = uow.session
        if session.scalar(select(StaffUser.id).where(func.lower(StaffUser.username) == username.lower())) is not None:
            raise StaffError(f"the username {username!r} is taken")
        user = StaffUser(username=username, display_name=display_name.strip() or username, role=role,
                         password_hash=generate_password_hash(password), failed_logins=0, active=True)
        session.add(user)
        session.flush()
        audit(session, "staff.create", None, after={"staff_id": user.id, "role": role, "active": True},
              detail="flask create-staff")
        uow.commit()
        return user.id


def authenticate(uow: UnitOfWork, username: str, password: str, terminal_code: str = "",
                 now: dt.datetime | None = None) -> LoginResult:
    """Check a log-in. Each wrong password counts; at the limit the account is locked for a while
    (``domain.staff``), and while it is locked even the right password is refused. Every outcome
    is audited: login, login.failed, lockout, login.locked."""
    now = now or utcnow()
    with uow:
        session = uow.session
        user = session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == username.strip().lower()))
        if user is None or not user.active:
            _password_is(_DUMMY_HASH, password)
            audit(session, "login.failed", user.id if user else None, terminal_code, now=now,
                  detail="inactive account" if user else "unknown username")
            uow.commit()
            return LoginResult()
        if is_locked(user.locked_until, now):
            audit(session, "login.locked", user.id, terminal_code, now=now)
            locked_until = user.locked_until
            uow.commit()
            return LoginResult(locked_until=locked_until)
        before = _lock_state(user)
        if _password_is(user.password_hash, password):
            user.failed_logins = 0
            user.locked_until = None
            audit(session, "login", user.id, terminal_code, before=before, after=_lock_state(user), now=now)
            staff_id = user.id
            uow.commit()
            return LoginResult(staff_id=staff_id)
        state = after_failure(user.failed_logins, now)
        user.failed_logins = state.failed_logins
        user.locked_until = state.locked_until
        audit(session, "lockout" if state.locked_until else "login.failed", user.id, terminal_code,
              before=before, after=_lock_state(user), now=now)
        uow.commit()
        return LoginResult(locked_until=state.locked_until)


def record_logout(uow: UnitOfWork, staff_id: int, terminal_code: str = "") -> None:
    with uow:
        audit(uow.session, "logout", staff_id, terminal_code)
        uow.commit()


def active_staff(session: Session, staff_id: int) -> StaffUser | None:
    """The account for a logged-in session, or None once it is deactivated or gone."""
    user = session.get(StaffUser, staff_id)
    return user if user is not None and user.active else None


@dataclass(frozen=True)
class AuditQuery:
    """What an administrator searches the audit log for; each part optional."""

    username: str = ""
    action: str = ""  # an action or the start of one: "refund." finds every refund step
    terminal: str = ""
    since: dt.date | None = None  # local dates, both ends included
    until: dt.date | None = None


def search_audit(session: Session, query: AuditQuery, limit: int | None = 500) -> list[tuple[AuditEntry, str | None]]:
    """Entries matching ``query``, newest first, with the username of who did each."""
    from ..domain.clock import day_start_utc

    statement = (select(AuditEntry, StaffUser.username).outerjoin(StaffUser, StaffUser.id == AuditEntry.staff_id)
                 .order_by(AuditEntry.id.desc()))
    if query.username:
        statement = statement.where(func.lower(StaffUser.username) == query.username.strip().lower())
    if query.action:
        statement = statement.where(AuditEntry.action.startswith(query.action.strip(), autoescape=True))
    if query.terminal:
        statement = statement.where(func.upper(AuditEntry.terminal_code) == query.terminal.strip().upper())
    if query.since:
        statement = statement.where(AuditEntry.at >= day_start_utc(query.since))
    if query.until:
        statement = statement.where(AuditEntry.at < day_start_utc(query.until + dt.timedelta(days=1)))
    if limit is not None:
        statement = statement.limit(limit)
    return [tuple(row) for row in session.execute(statement).all()]
