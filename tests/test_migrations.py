"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL.

Alembic's comparison (``compare_metadata``) does not look at an index's ``WHERE``: a partial
unique index that lost its predicate would pass it. ``schema_differences`` adds that check.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import textwrap

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError

from kiosk import ROOT, models
from kiosk.extensions import db, migrate
from tests.conftest import run_migrations


def normalised(predicate) -> str | None:
    if predicate is None:
        return None
    return re.sub(r"\s+", " ", str(predicate)).strip().strip("()").strip()


def index_predicates_in_models(dialect) -> dict[str, str | None]:
    return {
        index.name: normalised(where if where is None else where.compile(dialect=dialect))
        for table in db.metadata.tables.values()
        for index in table.indexes
        for where in [index.dialect_options[dialect.name]["where"]]
    }


def index_predicates_in_database(connection) -> dict[str, str | None]:
    inspector = sa.inspect(connection)
    key = f"{connection.dialect.name}_where"
    return {
        index["name"]: normalised(index.get("dialect_options", {}).get(key))
        for table in inspector.get_table_names()
        for index in inspector.get_indexes(table)
    }


def schema_differences(connection) -> list:
    """What ``flask db migrate`` would find to do, plus every index whose predicate differs."""
    differences = list(compare_metadata(MigrationContext.configure(connection), db.metadata))
    in_models = index_predicates_in_models(connection.dialect)
    in_database = index_predicates_in_database(connection)
    differences += [
        ("index predicate", name, in_models.get(name), in_database.get(name))
        for name in sorted(set(in_models) | set(in_database))
        if in_models.get(name) != in_database.get(name)
    ]
    return differences


def head_revision() -> str:
    return ScriptDirectory.from_config(migrate.get_config()).get_current_head()


def test_the_migrations_build_exactly_the_models(unmigrated_app):
    run_migrations(unmigrated_app)
    with unmigrated_app.app_context(), db.engine.connect() as connection:
        assert schema_differences(connection) == []
        assert set(sa.inspect(connection).get_table_names()) == set(db.metadata.tables) | {"alembic_version"}
        assert MigrationContext.configure(connection).get_current_revision() == head_revision()


def test_an_index_that_lost_its_predicate_is_a_difference(unmigrated_app):
    """The check above can fail: without its WHERE, uq_item_live_bill would forbid paying a
    bill again after a failed order, and Alembic alone does not notice."""
    run_migrations(unmigrated_app)
    with unmigrated_app.app_context():
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP INDEX uq_item_live_bill")
            connection.exec_driver_sql("CREATE UNIQUE INDEX uq_item_live_bill ON payment_order_item (bill_id)")
        with db.engine.connect() as connection:
            # Alembic alone sees nothing (should it ever, schema_differences' own check may go)
            assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []
            differences = schema_differences(connection)
    assert [(kind, name) for kind, name, *_ in differences] == [("index predicate", "uq_item_live_bill")]


def test_the_partial_unique_indexes_exist_with_their_predicates(app):
    with app.app_context(), db.engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect == "sqlite":
            rows = connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'payment_order_item'")
        else:
            rows = connection.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = 'payment_order_item'")
        ddl = {name: sql for name, sql in rows}
    live, settled = {"sqlite": ("WHERE live = 1", "WHERE settled = 1"), "postgresql": ("WHERE live", "WHERE settled")}[dialect]
    assert ddl["uq_item_live_bill"].startswith("CREATE UNIQUE INDEX") and ddl["uq_item_live_bill"].endswith(live)
    assert ddl["uq_item_settled_bill"].startswith("CREATE UNIQUE INDEX") and ddl["uq_item_settled_bill"].endswith(settled)


def make_bill_and_orders(count: int):
    region = models.Region(code="110105", name="Chaoyang", agency_name="Chaoyang agency")
    person = models.Person(id_digest="d" * 64, id_masked="1101**********0427", name="赵*", birth_date=dt.date(1985, 9, 12), region=region)
    terminal = models.Terminal(code="T-1", name="Hall")
    db.session.add_all([person, terminal])
    db.session.flush()
    bill = models.Bill(person_id=person.id, scheme="medical", period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 1, 31),
                       due_date=dt.date(2026, 1, 31), principal_fen=10000)
    orders = [
        models.PaymentOrder(idempotency_key=f"key-{n}", payer=person, terminal=terminal,
                            total_fen=10000, expires_at=dt.datetime(2026, 1, 2))
        for n in range(count)
    ]
    db.session.add_all([bill, *orders])
    db.session.commit()
    return bill, orders


def add_item(order, bill, *, live: bool, settled: bool) -> None:
    db.session.add(models.PaymentOrderItem(order=order, bill=bill, person_id=bill.person_id, principal_fen=10000, subsidy_fen=0, late_fee_fen=0,
                                           amount_fen=10000, live=live, settled=settled))
    db.session.commit()


def test_a_bill_is_in_one_live_order_and_settled_once_whatever_the_code_does(app):
    with app.app_context():
        bill, (first, second, third, fourth) = make_bill_and_orders(4)
        add_item(first, bill, live=True, settled=False)
        with pytest.raises(IntegrityError):
            add_item(second, bill, live=True, settled=False)
        db.session.rollback()
        # orders that let the bill go (failed, cancelled) may be many
        add_item(second, bill, live=False, settled=False)
        add_item(third, bill, live=False, settled=False)
        db.session.execute(sa.update(models.PaymentOrderItem).where(models.PaymentOrderItem.order_id == first.id).values(settled=True))
        db.session.commit()
        with pytest.raises(IntegrityError):
            add_item(fourth, bill, live=False, settled=True)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(models.PaymentOrderItem)) == 3


def test_downgrade_to_base_and_upgrade_again(unmigrated_app):
    run_migrations(unmigrated_app)
    run_migrations(unmigrated_app, "downgrade", "base")
    with unmigrated_app.app_context(), db.engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
        assert MigrationContext.configure(connection).get_current_revision() is None
    run_migrations(unmigrated_app)
    with unmigrated_app.app_context(), db.engine.connect() as connection:
        assert schema_differences(connection) == []


REBUILD_REVISION = '''
from alembic import op

revision = "rebuild"
down_revision = "{head}"


def upgrade():
    # what a later revision that alters these tables does on SQLite: copy, drop, rename
    for table in ("payment_order", "payment_order_item"):
        with op.batch_alter_table(table, recreate="always"):
            pass


def downgrade():
    pass
'''


def test_a_later_batch_revision_keeps_partial_indexes_rows_and_references_on_sqlite(tmp_path):
    """Later revisions will rebuild tables on SQLite (batch mode). A rebuild must keep the
    partial indexes' WHERE (alembic #1112) and must be able to drop a table that other rows
    reference, which SQLite refuses while foreign keys are on (``migrations/env.py``)."""
    from kiosk import create_app
    from tests.conftest import make_config

    app = create_app(make_config(f"sqlite:///{tmp_path / 'kiosk.sqlite'}"))
    directory = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", directory)
    with app.app_context():
        head = head_revision()
    (directory / "versions" / "9999_rebuild.py").write_text(textwrap.dedent(REBUILD_REVISION.format(head=head)))
    run_migrations(app, revision=head)
    with app.app_context():
        bill, (order,) = make_bill_and_orders(1)
        add_item(order, bill, live=True, settled=True)
        db.session.add(models.PaymentEvent(order_id=order.id, kind="paid", source="test"))
        db.session.commit()
        db.session.remove()
    run_migrations(app, revision="heads", directory=str(directory))
    with app.app_context(), db.engine.connect() as connection:
        created = dict(connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
        assert created["payment_order"].startswith('CREATE TABLE "payment_order"')  # it was rebuilt
        assert schema_differences(connection) == []
        assert connection.exec_driver_sql("SELECT count(*) FROM payment_order_item WHERE live AND settled").scalar() == 1
        assert connection.exec_driver_sql("SELECT count(*) FROM payment_event WHERE order_id IS NOT NULL").scalar() == 1


def test_0006_turns_windows_in_months_into_dates_of_the_coverage_year_and_back(unmigrated_app):
    run_migrations(unmigrated_app, revision="0005")
    with unmigrated_app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO region (id, code, name, agency_name) VALUES (1, '110105', 'R', 'A')"))
        for rule_id, before, after in ((1, 4, 0), (2, 4, 8), (3, 3, 12)):
            connection.execute(sa.text(
                "INSERT INTO premium_rule (id, region_id, scheme, valid_from, flat_fen, rate_per_10000, base_floor_fen, "
                "base_cap_fen, late_fee_per_10000_per_day, rounding, window_opens_months_before, window_closes_months_after, "
                "max_arrears_months, subsidy_percent) VALUES (:id, 1, 'resident_medical', '2024-01-01', 40000, 0, 0, 0, 0, "
                "'fen', :before, :after, 24, '{}')"), {"id": rule_id, "before": before, "after": after})
    run_migrations(unmigrated_app, revision="0006")
    with unmigrated_app.app_context(), db.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, window_opens, window_opens_year, window_closes, window_closes_year, "
                                          "active, version FROM premium_rule ORDER BY id")).all()
        assert [tuple(row[:5]) for row in rows] == [(1, "09-01", -1, "12-31", -1), (2, "09-01", -1, "08-31", 0),
                                                    (3, "10-01", -1, "12-31", 0)]
        assert all(row[5] and row[6] == "before-0006" for row in rows)
    run_migrations(unmigrated_app, "downgrade", "0005")
    with unmigrated_app.app_context(), db.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT window_opens_months_before, window_closes_months_after FROM premium_rule "
                                          "ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(4, 0), (4, 8), (3, 12)]


def test_0008_keeps_each_orders_person_as_its_payer_and_gives_each_item_its_bills_person(unmigrated_app):
    """Paying for others: until 0008 the person of an order was its payer and the insured person
    of every item alike; upgrading says so in the new columns, and downgrading gives it back."""
    run_migrations(unmigrated_app, revision="0005")
    statements = (
        "INSERT INTO region (id, code, name, agency_name) VALUES (1, '110105', 'R', 'Agency')",
        "INSERT INTO insured_person (id, id_digest, id_masked, name, birth_date, category, region_id) "
        "VALUES (7, 'd', '1101**********0427', 'x', '1985-09-12', 'standard', 1)",
        "INSERT INTO terminal (id, code, name, location) VALUES (1, 'T-1', 'Hall', '')",
        "INSERT INTO bill (id, person_id, scheme, period_start, period_end, due_date, principal_fen, subsidy_fen, "
        "late_fee_per_10000_per_day, created_at) VALUES (3, 7, 'flexible_medical', '2026-01-01', '2026-01-31', '2026-01-31', "
        "10000, 0, 0, '2026-01-01 00:00:00')",
        "INSERT INTO payment_order (id, idempotency_key, person_id, terminal_id, total_fen, created_at, round_no, expires_at) "
        "VALUES (5, 'k', 7, 1, 10000, '2026-01-02 00:00:00', 1, '2026-01-02 00:03:00')",
        "INSERT INTO payment_order_item (id, order_id, bill_id, principal_fen, subsidy_fen, late_fee_fen, amount_fen, live, settled) "
        "VALUES (9, 5, 3, 10000, 0, 0, 10000, false, false)",
    )
    with unmigrated_app.app_context():
        with db.engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
        db.engine.dispose()
    run_migrations(unmigrated_app, revision="0008")
    with unmigrated_app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT payer_id FROM payment_order WHERE id = 5").scalar() == 7
        assert connection.exec_driver_sql("SELECT person_id FROM payment_order_item WHERE id = 9").scalar() == 7
    run_migrations(unmigrated_app, "downgrade", "0005")
    with unmigrated_app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT person_id FROM payment_order WHERE id = 5").scalar() == 7
