"""The unit of work: one use case, one transaction, one commit (cosmicpython's pattern, on the
app's SQLAlchemy session).

    with uow:
        ...            # reads and writes through uow.session
        uow.commit()   # once; leaving the block without it rolls everything back

Helpers called inside a use case never commit, so a payment and, later, a till entry can
share one transaction. A use case that must call a payment provider commits before the call
and opens a new unit of work after it: no transaction is ever held open across the network
(and the sandbox refuses to be called from inside one).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from ..database import writing

T = TypeVar("T")


class UnitOfWork:
    def __init__(self, session: Session | scoped_session):
        # the session of this app context (Flask-SQLAlchemy hands out a scoped proxy)
        self.session = session() if isinstance(session, scoped_session) else session
        self._block = None
        self._committed = False

    def __enter__(self) -> UnitOfWork:
        if self._block is not None:
            raise RuntimeError("a unit of work is already open: helpers take it, they do not open another")
        session = self.session
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("changes were made outside a unit of work")
        if session.in_transaction():
            # end the reading transaction, so that the writing one starts afresh (BEGIN IMMEDIATE on SQLite)
            session.rollback()
        self._block = writing()
        self._block.__enter__()
        self._committed = False
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if not self._committed:
                self.session.rollback()
        finally:
            self._block.__exit__(None, None, None)
            self._block = None

    def commit(self, keep_loaded: bool = False) -> None:
        """Commit. ``keep_loaded``: the objects read or written in this unit of work keep their
        values instead of being expired, for a caller that only shows them in this same request
        (what it just read and wrote is what is committed); saves reading them all again."""
        if self._committed:
            raise RuntimeError("a unit of work commits once")
        session = self.session
        if keep_loaded and session.expire_on_commit:
            session.expire_on_commit = False
            try:
                session.commit()
            finally:
                session.expire_on_commit = True
        else:
            session.commit()
        self._committed = True

    def idle(self) -> None:
        """Call before asking a provider anything: no transaction of ours stays open while it
        answers (on PostgreSQL a connection idle in transaction, holding back vacuum; on SQLite
        a pinned snapshot). Reads made before are ended; writes must be committed already."""
        if self._block is not None:
            raise RuntimeError("a payment provider was called inside a unit of work")
        session = self.session
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("changes were made outside a unit of work")
        if session.in_transaction():
            session.rollback()

    def run(self, work: Callable[[Session], T], retries: int = 3, keep_loaded: bool = False) -> T:
        """``work(session)`` in a unit of work, committed; done again from the start when a racing
        transaction won a unique constraint (two terminals freezing the same bill, say).
        ``keep_loaded``: as for ``commit``."""
        for attempt in range(retries):
            try:
                with self:
                    result = work(self.session)
                    self.commit(keep_loaded)
                    return result
            except IntegrityError:
                if attempt == retries - 1:
                    raise
        raise AssertionError("unreachable")
