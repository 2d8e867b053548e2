"""How the app talks to its database engine, below the services.

SQLite is the embedded default and must be as correct as PostgreSQL. SQLAlchemy drops
``FOR UPDATE`` there, and pysqlite opens transactions lazily with a plain ``BEGIN``, so two
transactions may both read a row and then overwrite each other's write (the sandbox's
ledger lost a payment that way). A transaction that writes therefore starts with
``BEGIN IMMEDIATE`` on SQLite: it takes the database's write lock first, waits for it up to
the busy timeout, and sees everything committed before it. Reading transactions keep a
plain ``BEGIN`` so that polls never queue behind writers (WAL lets readers run alongside).
"""
from __future__ import annotations

import contextlib
import contextvars

from sqlalchemy import event
from sqlalchemy.engine import Engine

_writing: contextvars.ContextVar[bool] = contextvars.ContextVar("kiosk_writing", default=False)


@contextlib.contextmanager
def writing():
    """Transactions begun inside this block are writing transactions (``BEGIN IMMEDIATE``)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def in_writing_block() -> bool:
    return _writing.get()


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL so readers never block the writer, a busy timeout instead of an instant
    'database is locked', foreign keys on, and the transaction control described above."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        # take transaction control from pysqlite: it would BEGIN (deferred) by itself
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _writing.get() else "BEGIN")
