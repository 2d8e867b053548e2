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
import fcntl
import hashlib
import os
import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

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


def remote_session(engine: Engine, what: str) -> Session:
    """A session of its own for a simulated remote service (the sandbox payment provider, the
    sandbox SMS gateway), which keeps its ledger apart from ours. Refused inside a unit of work:
    calling a remote service there would hold our transaction across the network (and, on
    SQLite, wait for our own write lock)."""
    if in_writing_block():
        raise RuntimeError(f"{what} was called inside a unit of work")
    return Session(engine, expire_on_commit=False)


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


@contextlib.contextmanager
def exclusive(engine: Engine, name: str):
    """Yield True if this process now holds the lock called ``name`` on the database of ``engine``
    (until the block ends), False at once if someone else holds it. Never waits.

    - PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its
      own, in autocommit so no transaction stays open while the lock is held. It belongs to the
      database connection: a process that dies loses its connection and the lock with it. The key
      is derived from ``name`` and the connection's schema, so two deployments (or two test runs)
      in separate schemas of one database do not block each other.
    - SQLite: ``flock`` on a file beside the database file (``<file>.<name>.lock``). The kernel
      drops it when the process dies. SQLite is one host, so a file lock covers every process
      that can reach the database; an in-memory database has one process, so a lock in memory.
    """
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, name) as held:
            yield held
    elif engine.dialect.name == "sqlite":
        with _file_lock(engine, name) as held:
            yield held
    else:
        raise NotImplementedError(f"no lock for {engine.dialect.name}")


def _advisory_key(name: str, schema: str) -> int:
    digest = hashlib.blake2b(f"{schema}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)  # advisory locks take a signed bigint


@contextlib.contextmanager
def _advisory_lock(engine: Engine, name: str):
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    released = False
    try:
        key = _advisory_key(name, connection.exec_driver_sql("SELECT current_schema()").scalar_one())
        held = connection.exec_driver_sql("SELECT pg_try_advisory_lock(%(key)s)", {"key": key}).scalar_one()
        try:
            yield bool(held)
        finally:
            if held:
                connection.exec_driver_sql("SELECT pg_advisory_unlock(%(key)s)", {"key": key})
            released = True
    finally:
        if not released:
            # the unlock did not happen (the connection broke?): never hand a connection that may
            # still hold the lock back to the pool; closing it for good ends the session and the lock
            connection.invalidate()
        connection.close()


_memory_locks: dict[str, threading.Lock] = {}


@contextlib.contextmanager
def _file_lock(engine: Engine, name: str):
    database = engine.url.database
    if not database or database == ":memory:":
        lock = _memory_locks.setdefault(name, threading.Lock())
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                lock.release()
        return
    # a descriptor of our own per call: flock locks of separate open() calls exclude each other,
    # threads of one process included
    fd = os.open(f"{database}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        try:
            yield held
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
