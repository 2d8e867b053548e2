"""The flask commands an operator runs."""
from sqlalchemy import func, inspect, select

from kiosk.extensions import db
from kiosk.models import Person, PremiumRuleRow


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
    assert "demo data created" in runner.invoke(args=["seed-demo"]).output
    assert "already there" in runner.invoke(args=["seed-demo"]).output
    with app.app_context():
        assert db.session.scalar(select(func.count(Person.id))) == 12
        assert db.session.scalar(select(func.count(PremiumRuleRow.id))) == 3


def test_reconcile_reports_what_it_looked_at(demo, runner):
    assert "0 pending orders looked at" in runner.invoke(args=["reconcile"]).output

