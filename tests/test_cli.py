"""The flask commands an operator runs."""
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import Person, PremiumRuleRow


def test_init_db_and_seed_demo_are_safe_to_run_twice(app, runner):
    assert "database ready" in runner.invoke(args=["init-db"]).output
    assert "demo data created" in runner.invoke(args=["seed-demo"]).output
    assert "already there" in runner.invoke(args=["seed-demo"]).output
    with app.app_context():
        assert db.session.scalar(select(func.count(Person.id))) == 12
        assert db.session.scalar(select(func.count(PremiumRuleRow.id))) == 3


def test_reconcile_reports_what_it_looked_at(demo, runner):
    assert "0 pending orders looked at" in runner.invoke(args=["reconcile"]).output

