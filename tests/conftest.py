"""Fixtures: ``app``, ``client``, ``runner`` on a fresh database per test, once on SQLite and
once on PostgreSQL (``KIOSK_TEST_DATABASE_URL`` overrides the server at 127.0.0.1:5432).

Under ``CI=true`` a PostgreSQL that cannot be reached fails the run instead of skipping.
"""
from __future__ import annotations

import os
import secrets

import pytest
import sqlalchemy as sa

from kiosk import create_app
from kiosk.extensions import db
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return {"url": f"sqlite:///{tmp_path / 'kiosk.sqlite'}"}
    return {"url": PG_URL, "PG_SCHEMA": request.getfixturevalue("pg_schema")}


@pytest.fixture
def app_config():
    """Per-test overrides of the testing settings (a test may replace this fixture)."""
    return {}


@pytest.fixture
def app(database_url, app_config):
    extra = {k: v for k, v in database_url.items() if k != "url"}
    app = create_app(make_config(database_url["url"], **extra, **app_config))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
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
