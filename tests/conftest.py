"""Fixtures: ``app``, ``client``, ``runner`` on a fresh database per test, once on SQLite and
once on PostgreSQL (``KIOSK_TEST_DATABASE_URL`` overrides the server at 127.0.0.1:5432).

The schema comes from the migrations, as in production, built once per test session and
backend: SQLite tests each get a copy of a database file upgraded to head; PostgreSQL tests
share a schema upgraded to head whose tables are emptied before each test.

Under ``CI=true`` a PostgreSQL that cannot be reached fails the run instead of skipping.
"""
from __future__ import annotations

import os
import secrets
import shutil

import pytest
import sqlalchemy as sa
from alembic import command

from kiosk import create_app
from kiosk.extensions import db, migrate
from kiosk.services.uow import UnitOfWork

PG_URL = os.environ.get("KIOSK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(what: str, why: str):
    """Skip on a developer's machine; fail in CI, where nothing may be skipped."""
    message = f"{what} is not available: {why}"
    if IN_CI:
        pytest.fail(message + " (CI=true: this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_schema():
    """A schema of our own in the shared test database, dropped at the end."""
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    schema = f"kiosk_test_{secrets.token_hex(4)}"
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        unavailable("PostgreSQL", str(exc).splitlines()[0])
    yield schema
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def make_config(database_url: str, **overrides) -> dict:
    config = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url}
    if database_url.startswith("postgresql"):
        schema = overrides.pop("PG_SCHEMA")
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}, "pool_pre_ping": True}
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def simulator_keys(tmp_path_factory) -> str:
    """The gateway simulator's keys for this session (``flask simulator-keys`` writes the same)."""
    from kiosk.payments.simulator import ensure_keys

    folder = tmp_path_factory.mktemp("simulator-keys")
    ensure_keys(folder)
    return str(folder)


def run_migrations(app, action: str = "upgrade", revision: str = "head", directory=None) -> None:
    """``flask db upgrade`` (or ``downgrade``) on the app's database, without Alembic's logging
    set-up, which would replace pytest's."""
    with app.app_context():
        config = migrate.get_config(directory)
        config.attributes["configure_logger"] = False
        getattr(command, action)(config, revision)
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A SQLite database upgraded to head, which each test copies."""
    path = tmp_path_factory.mktemp("schema") / "kiosk.sqlite"
    app = create_app(make_config(f"sqlite:///{path}"))
    run_migrations(app)
    with app.app_context():
        with db.engine.connect() as connection:
            # everything into the main file, so that copying the file copies the database
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_migrated_schema(pg_schema):
    """The session's PostgreSQL schema, upgraded to head once."""
    run_migrations(create_app(make_config(PG_URL, PG_SCHEMA=pg_schema)))
    return pg_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A database at head with no rows."""
    if request.param == "sqlite":
        path = tmp_path / "kiosk.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return {"url": f"sqlite:///{path}"}
    return {"url": PG_URL, "PG_SCHEMA": request.getfixturevalue("pg_migrated_schema")}


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated_app(request, tmp_path):
    """An app on a database of its own with no tables at all, for tests of the migrations."""
    if request.param == "sqlite":
        app = create_app(make_config(f"sqlite:///{tmp_path / 'empty.sqlite'}"))
        yield app
        with app.app_context():
            db.engine.dispose()
        return
    request.getfixturevalue("pg_schema")  # skips (or fails in CI) without PostgreSQL
    schema = f"kiosk_empty_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    app = create_app(make_config(PG_URL, PG_SCHEMA=schema))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def empty_tables() -> None:
    """Every table of the models emptied and its id sequence reset, in one statement."""
    quote = db.engine.dialect.identifier_preparer.quote
    names = ", ".join(quote(table.name) for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app_config():
    """Per-test overrides of the testing settings (a test may replace this fixture)."""
    return {}


@pytest.fixture
def app(database_url, app_config):
    extra = {k: v for k, v in database_url.items() if k != "url"}
    app = create_app(make_config(database_url["url"], **extra, **app_config))
    if database_url["url"].startswith("postgresql"):
        with app.app_context():
            empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """The demo region, rules and people of ``make run``."""
    from kiosk.demo import seed

    with app.app_context():
        seed(UnitOfWork(db.session), app.config["ID_DIGEST_KEY"], app.config["TERMINAL_CODE"])
    return app
