"""Staff accounts: the roles and the lock-out policy (no flask, no database)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

ROLES = ("cashier", "supervisor", "admin")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128  # longer is refused unhashed: scrypt over a megabyte posted would tie up a worker
MAX_FAILED_LOGINS = 5  # wrong passwords in a row before the account is locked
LOCK_OUT = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class LockState:
    failed_logins: int
    locked_until: dt.datetime | None


def is_locked(locked_until: dt.datetime | None, now: dt.datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failure(failed_logins: int, now: dt.datetime) -> LockState:
    """One more wrong password: at the limit the account is locked and the count starts again."""
    failed = failed_logins + 1
    if failed >= MAX_FAILED_LOGINS:
        return LockState(0, now + LOCK_OUT)
    return LockState(failed, None)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must have at most {MAX_PASSWORD_LENGTH} characters"
    return None
