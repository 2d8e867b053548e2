"""Staff accounts (issue 8, first part): `flask create-staff`, log-in and log-out, lock-out, the
audit log, and a staff log-in kept apart from a citizen's visit in the same browser."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kiosk.domain.clock import utcnow
from kiosk.domain.staff import LOCK_OUT, MAX_FAILED_LOGINS
from kiosk.extensions import db
from kiosk.models import AuditEntry, StaffUser
from tests.helpers import Journey, csrf_token

PASSWORD = "correct horse 42"


def make_staff(runner, username="li.na", role="cashier", password=PASSWORD, name="Li Na"):
    return runner.invoke(args=["create-staff", username, "--role", role, "--name", name, "--password-stdin"],
                         input=password + "\n")


def actions(app) -> list[tuple[str, int | None]]:
    with app.app_context():
        rows = db.session.execute(select(AuditEntry.action, AuditEntry.staff_id).order_by(AuditEntry.id)).all()
        db.session.rollback()
        return [tuple(row) for row in rows]


def staff_id(app, username="li.na") -> int:
    with app.app_context():
        return db.session.scalar(select(StaffUser.id).where(StaffUser.username == username))


def log_in(client, username="li.na", password=PASSWORD):
    page = client.get("/staff/login")
    return client.post("/staff/login", data={"username": username, "password": password,
                                             "csrf_token": csrf_token_of(page.text)})


def csrf_token_of(html: str) -> str:
    import re

    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


# --- flask create-staff -------------------------------------------------------------------------

def test_create_staff_makes_an_account_with_a_hashed_password(app, runner):
    result = make_staff(runner)
    assert result.exit_code == 0 and "staff account made (cashier)" in result.output
    assert PASSWORD not in result.output
    with app.app_context():
        user = db.session.scalar(select(StaffUser))
        assert (user.username, user.display_name, user.role, user.active, user.failed_logins) == ("li.na", "Li Na", "cashier", True, 0)
        assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    assert actions(app) == [("staff.create", None)]


def test_create_staff_asks_for_the_password_twice_when_not_given_on_stdin(app, runner):
    result = runner.invoke(args=["create-staff", "wang.wei", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden
    with app.app_context():
        assert db.session.scalar(select(StaffUser.display_name)) == "wang.wei"


@pytest.mark.parametrize("args, stdin, says", [
    (["--role", "cashier"], "short\n", "at least 10 characters"),
    (["--role", "cashier"], "x" * 129 + "\n", "at most 128 characters"),
    (["--role", "janitor"], PASSWORD + "\n", "unknown role 'janitor'"),
])
def test_create_staff_refuses_a_weak_password_and_an_unknown_role(app, runner, args, stdin, says):
    result = runner.invoke(args=["create-staff", "li.na", *args, "--password-stdin"], input=stdin)
    assert result.exit_code != 0 and says in result.output and "no account made" in result.output
    with app.app_context():
        assert db.session.scalar(select(StaffUser.id)) is None


def test_create_staff_refuses_a_username_taken(app, runner):
    assert make_staff(runner).exit_code == 0
    result = make_staff(runner, username="LI.NA", role="admin")
    assert result.exit_code != 0 and "is taken" in result.output and "no account made" in result.output
    with app.app_context():
        assert db.session.scalars(select(StaffUser.role)).all() == ["cashier"]


# --- log-in, log-out, lock-out --------------------------------------------------------------------

def test_every_staff_page_but_the_log_in_asks_for_a_log_in(client):
    response = client.get("/staff/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    login = client.get("/staff/login")
    assert login.status_code == 200 and 'id="username"' in login.text
    assert login.headers["Cache-Control"] == "no-store"
    assert "data-idle" not in login.text and "kiosk.js" not in login.text  # a desktop page, not a kiosk screen


def test_log_in_shows_who_and_their_role_then_log_out(app, runner, client):
    make_staff(runner, role="supervisor")
    response = log_in(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/")
    home = client.get("/staff/")
    assert home.status_code == 200 and "Li Na" in home.text
    assert home.headers["Cache-Control"] == "no-store"
    client.post("/staff/language", data={"csrf_token": csrf_token_of(home.text)})
    home = client.get("/staff/")
    assert "Supervisor" in home.text and "Counter: take a payment" in home.text and "Refunds and voids" in home.text
    out = client.post("/staff/logout", data={"csrf_token": csrf_token_of(home.text)})
    assert out.status_code == 303
    assert client.get("/staff/").status_code == 302
    me = staff_id(app)
    assert actions(app) == [("staff.create", None), ("login", me), ("logout", me)]


def test_log_out_needs_the_csrf_token(app, runner, client):
    make_staff(runner)
    log_in(client)
    assert client.post("/staff/logout").status_code == 400
    assert client.get("/staff/").status_code == 200


def test_a_wrong_password_and_an_unknown_username_get_the_same_message(app, runner, client):
    make_staff(runner)
    client.post("/staff/language", data={"csrf_token": csrf_token_of(client.get("/staff/login").text)})  # English
    wrong = log_in(client, password="not the password")
    unknown = log_in(client, username="nobody")
    assert wrong.status_code == unknown.status_code == 422
    message = "The username or password is not right"
    assert message in wrong.text and message in unknown.text
    assert client.get("/staff/").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(StaffUser.failed_logins)) == 1
    assert actions(app)[1:] == [("login.failed", staff_id(app)), ("login.failed", None)]
    # a password longer than any account may have is wrong, and counts, without being hashed
    assert "not right" in log_in(client, password="x" * 100_000).text
    with app.app_context():
        assert db.session.scalar(select(StaffUser.failed_logins)) == 2


def test_five_wrong_passwords_lock_the_account_until_a_time_it_says(app, runner, client, monkeypatch):
    make_staff(runner)
    client.post("/staff/language", data={"csrf_token": csrf_token_of(client.get("/staff/login").text)})  # English
    now = dt.datetime(2026, 11, 22, 6, 0)  # 14:00 in Beijing
    monkeypatch.setattr("kiosk.services.staff.utcnow", lambda: now)
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert "not right" in log_in(client, password="wrong password").text
    locked = log_in(client, password="wrong password")
    assert locked.status_code == 422
    assert "locked after too many wrong passwords" in locked.text and "2026-11-22 14:15" in locked.text
    # even the right password is refused while it is locked
    still = log_in(client)
    assert still.status_code == 422 and "locked" in still.text and client.get("/staff/").status_code == 302
    me = staff_id(app)
    assert actions(app)[1:] == [("login.failed", me)] * 4 + [("lockout", me), ("login.locked", me)]
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "lockout"))
        assert entry.before == {"failed_logins": 4, "locked_until": None}
        assert entry.after == {"failed_logins": 0, "locked_until": "2026-11-22T06:15:00"}
        assert entry.terminal_code == app.config["COUNTER_CODE"] and entry.at == now
    # once the time has passed, the right password lets them in
    now = now + LOCK_OUT + dt.timedelta(seconds=1)
    assert log_in(client).status_code == 303
    assert client.get("/staff/").status_code == 200
    assert actions(app)[-1] == ("login", me)


def test_the_lock_out_message_is_translated(runner, client, monkeypatch):
    make_staff(runner)
    monkeypatch.setattr("kiosk.services.staff.utcnow", lambda: dt.datetime(2026, 11, 22, 6, 0))
    for _ in range(MAX_FAILED_LOGINS):
        response = log_in(client, password="wrong password")
    assert "2026-11-22 14:15" in response.text and "locked after" not in response.text  # Chinese by default


def test_a_deactivated_account_cannot_log_in_and_is_logged_out(app, runner, client):
    make_staff(runner)
    log_in(client)
    with app.app_context():
        db.session.scalar(select(StaffUser)).active = False
        db.session.commit()
    assert client.get("/staff/").status_code == 302
    assert log_in(client).status_code == 422


# --- apart from the citizen's visit ----------------------------------------------------------------

def test_a_citizen_visit_survives_a_staff_log_in_and_log_out(app, runner, client):
    make_staff(runner)
    citizen = Journey(client)
    citizen.start()
    with client.session_transaction() as session:
        visit = session["visit"]
    log_in(client)
    home = client.get("/staff/")
    client.post("/staff/logout", data={"csrf_token": csrf_token_of(home.text)})
    with client.session_transaction() as session:
        assert session["visit"] == visit
    assert client.get("/identify").status_code == 200  # the visit goes on


def test_a_staff_log_in_survives_a_citizen_visit_ending(app, runner, client):
    make_staff(runner)
    log_in(client)
    citizen = Journey(client)
    citizen.start()
    with client.session_transaction() as session:
        assert "visit" in session
    citizen.post("/done")
    with client.session_transaction() as session:
        assert "visit" not in session and "_user_id" in session
    assert client.get("/staff/").status_code == 200


def test_the_staff_log_in_is_not_the_citizen_visit(app, runner, client):
    make_staff(runner)
    log_in(client)
    with client.session_transaction() as session:
        assert "visit" not in session
    # a kiosk screen does not know the member of staff
    assert "Li Na" not in client.get("/").text
