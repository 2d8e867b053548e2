"""The lock-out policy and the password rule for staff accounts."""
import datetime as dt

from kiosk.domain.staff import LOCK_OUT, MAX_FAILED_LOGINS, after_failure, is_locked, password_problem

NOW = dt.datetime(2026, 11, 22, 6, 0)


def test_the_fifth_wrong_password_in_a_row_locks_for_fifteen_minutes():
    state = after_failure(0, NOW)
    for _ in range(MAX_FAILED_LOGINS - 2):
        state = after_failure(state.failed_logins, NOW)
    assert state.failed_logins == MAX_FAILED_LOGINS - 1 and state.locked_until is None
    locked = after_failure(state.failed_logins, NOW)
    assert locked.locked_until == NOW + LOCK_OUT == NOW + dt.timedelta(minutes=15) and locked.failed_logins == 0
    assert is_locked(locked.locked_until, NOW + LOCK_OUT - dt.timedelta(seconds=1))
    assert not is_locked(locked.locked_until, NOW + LOCK_OUT)
    assert not is_locked(None, NOW)


def test_a_password_needs_ten_to_128_characters():
    assert password_problem("x" * 9) and password_problem("x" * 129)
    assert password_problem("x" * 10) is None and password_problem("x" * 128) is None
