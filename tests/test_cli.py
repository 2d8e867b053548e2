"""The flask commands an operator runs."""
import datetime as dt
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy import update as sa_update

from kiosk.extensions import db
from kiosk.models import Person, PremiumRuleRow, StaffUser
from tests.web.test_staff import csrf_token_of


def test_init_db_builds_an_empty_database_through_the_migrations_and_is_safe_to_repeat(unmigrated_app):
    runner = unmigrated_app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0 and "database ready (migrated from an empty database to revision" in first.output
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0 and "already the newest" in again.output
    with unmigrated_app.app_context():
        assert set(inspect(db.engine).get_table_names()) == set(db.metadata.tables) | {"alembic_version"}


def test_init_db_refuses_a_database_made_before_migrations_and_says_what_to_do(unmigrated_app):
    with unmigrated_app.app_context():
        db.create_all()  # what init-db did before the schema came from migrations
    result = unmigrated_app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 1
    assert "no alembic_version table" in result.output and "rm -r instance" in result.output
    with unmigrated_app.app_context():
        assert "alembic_version" not in inspect(db.engine).get_table_names()  # nothing was changed


def test_init_db_and_seed_demo_are_safe_to_run_twice(app, runner):
    assert "database ready" in runner.invoke(args=["init-db"]).output
    first = runner.invoke(args=["seed-demo"]).output
    assert "demo data created" in first and "demo staff accounts made: cashier, supervisor, admin" in first
    second = runner.invoke(args=["seed-demo"]).output
    assert "already there" in second and "staff" not in second
    with app.app_context():
        assert db.session.scalar(select(func.count(Person.id))) == 15  # a dozen cases and a family of three
        assert db.session.scalar(select(func.count(PremiumRuleRow.id))) == 4
        roles = dict(db.session.execute(select(StaffUser.username, StaffUser.role)).all())
        assert roles == {"cashier": "cashier", "supervisor": "supervisor", "admin": "admin"}


def test_the_demo_staff_passwords_of_the_readme_log_in(app, runner, client):
    """README.md lists them; a demo that cannot log in is a broken promise."""
    from kiosk.demo import DEMO_STAFF
    from tests.web.test_staff import log_in

    runner.invoke(args=["seed-demo"])
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for username, _, _, password in DEMO_STAFF:
        assert f"`{username}`" in readme and f"`{password}`" in readme
        response = log_in(client, username, password)
        assert response.status_code == 303, username
        client.post("/staff/logout", data={"csrf_token": csrf_token_of(client.get("/staff/").text)})


def test_reconcile_reports_what_it_looked_at(demo, runner):
    assert "0 unfinished payment attempts looked at" in runner.invoke(args=["reconcile"]).output



def _paid_sandbox_order(app) -> tuple[int, int]:
    from tests.helpers import ZHAO_MIN
    from tests.services.conftest import Terminal, buyer_pays, poll

    order_id = Terminal(app).identify(ZHAO_MIN).checkout()
    buyer_pays(app, order_id)
    assert poll(app, order_id) == "paid"
    with app.app_context():
        from kiosk.models import PaymentOrder

        return order_id, db.session.get(PaymentOrder, order_id).total_fen


def test_refund_gives_part_then_the_rest_back_and_refuses_more(demo, runner):
    from kiosk.domain.money import yuan

    order_id, total = _paid_sandbox_order(demo)
    part = runner.invoke(args=["refund", str(order_id), "--amount", "100", "--reason", "overpaid"])
    assert part.exit_code == 0, part.output
    assert f"refund R{order_id}-1: success, 1.00 yuan; still refundable {yuan(total - 100)} yuan" in part.output
    too_much = runner.invoke(args=["refund", str(order_id), "--amount", str(total), "--reason", "again"])
    assert too_much.exit_code == 1 and "too_much" in too_much.output
    rest = runner.invoke(args=["refund", str(order_id), "--reason", "citizen asked"])
    assert rest.exit_code == 0 and f"success, {yuan(total - 100)} yuan; still refundable 0.00 yuan" in rest.output
    nothing = runner.invoke(args=["refund", str(order_id), "--reason", "once more"])
    assert nothing.exit_code == 1 and "not_paid" in nothing.output


def test_refund_refuses_an_order_paid_elsewhere_or_unknown_and_needs_a_reason(demo, runner):
    from kiosk.models import PaymentAttempt

    with demo.app_context():
        counter = db.session.scalar(select(PaymentAttempt.order_id).where(PaymentAttempt.provider == "counter").limit(1))
    elsewhere = runner.invoke(args=["refund", str(counter), "--reason", "x"])
    assert elsewhere.exit_code == 1 and "other_provider" in elsewhere.output
    unknown = runner.invoke(args=["refund", "999999", "--reason", "x"])
    assert unknown.exit_code == 1 and "not_found" in unknown.output
    assert runner.invoke(args=["refund", "1"]).exit_code == 2  # --reason is required


def test_refunds_reports_what_it_did_on_the_demo_data(demo, runner):
    result = runner.invoke(args=["refunds"])
    assert result.exit_code == 0
    assert "0 refunds of money paid twice asked for, 0 unfinished refunds followed" in result.output


def test_simulator_keys_are_made_once_and_kept(tmp_path):
    from click.testing import CliRunner

    from kiosk.cli import simulator_keys
    from kiosk.payments.simulator.keys import FILES

    folder = tmp_path / "simulator"
    first = CliRunner().invoke(simulator_keys, ["--dir", str(folder)])
    assert first.exit_code == 0 and "made" in first.output
    made = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert set(made) == set(FILES.values())
    assert all(path.stat().st_mode & 0o077 == 0 for path in folder.iterdir())  # mode 600: keys
    again = CliRunner().invoke(simulator_keys, ["--dir", str(folder)])
    assert again.exit_code == 0 and "none made" in again.output
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == made  # the same keys: nothing to re-upload
    (folder / FILES["alipay_public"]).unlink()  # half a pair is made anew, whole
    CliRunner().invoke(simulator_keys, ["--dir", str(folder)])
    assert (folder / FILES["alipay_private"]).read_bytes() != made[FILES["alipay_private"]]
    assert (folder / FILES["wechat_apiv3_key"]).read_bytes() == made[FILES["wechat_apiv3_key"]]


def test_sweep_runs_every_job_once_and_reports_each(demo, runner):
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("sweep done: sandbox: 0 unfinished payment attempts followed; sandbox: 0 refunds of money paid "
                                     "twice asked for; sandbox: 0 unfinished refunds followed; 0 staff refund requests finished; "
                                     "0 idle sessions destroyed; 0 one-time codes older than a day deleted")


def test_sweep_skips_and_says_so_while_another_sweep_holds_the_lock(demo, runner):
    from kiosk.database import exclusive
    from kiosk.services.sweeps import LOCK_NAME

    with demo.app_context(), exclusive(db.engine, LOCK_NAME) as held:
        assert held
        result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0 and "sweep skipped: another sweep is running" in result.output
    assert "sweep done" in runner.invoke(args=["sweep"]).output


def test_sweep_exits_with_an_error_when_a_job_failed_after_running_the_others(demo, runner, monkeypatch):
    from kiosk.services import sweeps

    def down(*args, **kwargs):
        raise RuntimeError("sessions table unreachable")

    monkeypatch.setattr(sweeps, "purge_idle", down)
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 1
    assert "sandbox: 0 unfinished payment attempts followed" in result.output and "idle sessions destroyed FAILED" in result.output


def test_sweep_every_runs_again_after_each_pause_until_stopped(demo, runner, monkeypatch):
    import time

    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 3:
            raise KeyboardInterrupt  # Ctrl-C, or SIGTERM (turned into the same)

    from kiosk.models import Visit
    from kiosk.services import sweeps
    from tests.services.conftest import Terminal

    runs = []
    original = sweeps.run_sweep
    monkeypatch.setattr(sweeps, "run_sweep", lambda *args, **kwargs: runs.append(1) or original(*args, **kwargs))
    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr("signal.signal", lambda *args: None)  # the test runner keeps its own handlers
    with demo.app_context():
        Terminal(demo)  # a citizen's session, left a day ago
        db.session.execute(sa_update(Visit).values(last_seen_at=Visit.last_seen_at - dt.timedelta(days=1)))
        db.session.commit()
    result = runner.invoke(args=["sweep", "--every", "30"])
    assert result.exit_code == 0, result.output
    assert len(runs) == 3 and pauses == [30, 30, 30]
    # the sweep that destroyed the session is reported; the two that found nothing are not
    assert result.output.count("sweep done") == 1 and "1 idle sessions destroyed" in result.output
    assert result.output.strip().endswith("sweeps stopped")
    assert runner.invoke(args=["sweep", "--every", "0"]).exit_code == 2  # a pause of at least a second
