"""The terminal registry: kiosks and counters, the browsers enrolled as them, their heartbeats.

An administrator registers a terminal and makes a one-time code for it; a browser that types
the code in at /enrol becomes that terminal (a random token in a cookie of its own; the
database keeps its SHA-256, as for codes). Only enrolled browsers use the kiosk's pages, unless
an app instance was explicitly set to serve one terminal (``KIOSK_TERMINAL_CODE``, and
development's demo terminal).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..domain.clock import utcnow
from ..domain.terminals import (CODE_VALID, PRINTER_ENCODINGS, PrinterStatus, PrintMode, TerminalKind, is_silent,
                                new_enrolment_code, normalise_code)
from ..models import EnrolmentCode, Region, Terminal, TerminalBrowser
from ..printing.escpos import open_printer
from .staff import audit
from .uow import UnitOfWork


class TerminalError(ValueError):
    """Why a terminal could not be registered or a browser enrolled; ``code`` picks the message:
    code_taken, no_region, bad_code (unknown, used or expired: not told apart), empty."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class TerminalRef:
    """The terminal a request comes from, as the views need it (what never changes: it may be
    kept between requests)."""

    id: int
    code: str
    kind: TerminalKind


def _ref(terminal: Terminal) -> TerminalRef:
    return TerminalRef(terminal.id, terminal.code, TerminalKind(terminal.kind))


def printer_of(session: Session, terminal_id: int) -> PrinterStatus:
    """The printer status the terminal last reported."""
    return PrinterStatus(session.scalar(select(Terminal.printer_status).where(Terminal.id == terminal_id)))


def _snapshot(terminal: Terminal) -> dict:
    return {"terminal_id": terminal.id, "code": terminal.code, "kind": terminal.kind, "location": terminal.location,
            "region_id": terminal.region_id}


def register(uow: UnitOfWork, code: str, name: str, kind: TerminalKind, location: str, region_code: str | None,
             staff_id: int) -> int:
    """A new terminal in the registry; ``TerminalError`` for a code taken or a region unknown."""
    code = code.strip().upper()
    if not code:
        raise TerminalError("empty")

    def work(session: Session) -> int:
        if session.scalar(select(Terminal.id).where(func.upper(Terminal.code) == code)) is not None:
            raise TerminalError("code_taken")
        region_id = None
        if region_code:
            region_id = session.scalar(select(Region.id).where(Region.code == region_code.strip()))
            if region_id is None:
                raise TerminalError("no_region")
        terminal = Terminal(code=code, name=name.strip() or code, kind=kind.value, location=location.strip(), region_id=region_id)
        session.add(terminal)
        session.flush()
        audit(session, "terminal.register", staff_id, code, after=_snapshot(terminal))
        return terminal.id

    return uow.run(work, retries=1)


def issue_code(uow: UnitOfWork, terminal_id: int, staff_id: int, now: dt.datetime | None = None) -> str:
    """A one-time enrolment code for the terminal, shown once to the administrator: only its
    digest is kept. Valid for a day; any earlier unused code of the terminal stops working."""
    now = now or utcnow()
    code = new_enrolment_code(secrets.choice)

    def work(session: Session) -> None:
        terminal = session.get(Terminal, terminal_id)
        session.execute(update(EnrolmentCode).where(EnrolmentCode.terminal_id == terminal_id, EnrolmentCode.used_at.is_(None))
                        .values(expires_at=now).execution_options(synchronize_session=False))
        session.add(EnrolmentCode(terminal_id=terminal_id, code_digest=digest(normalise_code(code)), created_by=staff_id,
                                  created_at=now, expires_at=now + CODE_VALID))
        audit(session, "terminal.enrolment_code", staff_id, terminal.code, now=now, after={"terminal_id": terminal_id,
                                                                                          "valid_until": (now + CODE_VALID).isoformat()})

    uow.run(work, retries=1)
    return code


def enrol(uow: UnitOfWork, typed_code: str, now: dt.datetime | None = None) -> tuple[str, TerminalRef]:
    """The browser that typed ``typed_code`` becomes the code's terminal: returns the token for
    its cookie. The code is used up by a compare-and-set, so two browsers typing it at once
    cannot both enrol. ``TerminalError('bad_code')`` for a code unknown, used or expired."""
    now = now or utcnow()
    code = normalise_code(typed_code)
    if not code:
        raise TerminalError("bad_code")
    token = secrets.token_urlsafe(32)

    def work(session: Session) -> TerminalRef:
        found = session.scalar(select(EnrolmentCode).where(EnrolmentCode.code_digest == digest(code)))
        if found is None or found.used_at is not None or found.expires_at <= now:
            raise TerminalError("bad_code")
        used = session.execute(update(EnrolmentCode).where(EnrolmentCode.id == found.id, EnrolmentCode.used_at.is_(None))
                               .values(used_at=now).execution_options(synchronize_session=False)).rowcount
        if not used:
            raise TerminalError("bad_code")
        terminal = session.get(Terminal, found.terminal_id)
        session.add(TerminalBrowser(terminal_id=terminal.id, token_digest=digest(token), enrolled_at=now))
        audit(session, "terminal.enrol", None, terminal.code, now=now, after={"terminal_id": terminal.id})
        return _ref(terminal)

    return token, uow.run(work, retries=1)


def terminal_of_browser(session: Session, token: str | None) -> TerminalRef | None:
    """The terminal a browser's token enrols it as, or None (no token, unknown, revoked)."""
    if not token:
        return None
    terminal = session.scalar(select(Terminal).join(TerminalBrowser, TerminalBrowser.terminal_id == Terminal.id)
                              .where(TerminalBrowser.token_digest == digest(token), TerminalBrowser.revoked_at.is_(None)))
    return _ref(terminal) if terminal is not None else None


def terminal_by_code(uow: UnitOfWork, code: str, region_code: str | None, kind: TerminalKind) -> TerminalRef:
    """The terminal an app instance serves by setting (``KIOSK_TERMINAL_CODE``, the demo's),
    registered on first use."""
    from .visits import terminal_id

    return _ref(uow.run(lambda session: session.get(Terminal, terminal_id(session, code, region_code, kind))))


def set_printing(uow: UnitOfWork, terminal_id: int, mode: PrintMode, url: str | None, encoding: str, staff_id: int) -> None:
    """How a terminal prints. ESC/POS needs a printer address this version can open
    (tcp://host[:port] or usb://VID:PID) and an encoding; ``TerminalError``: printer_url,
    printer_encoding, unknown. Audited with before and after."""
    url = (url or "").strip() or None
    if encoding not in PRINTER_ENCODINGS:
        raise TerminalError("printer_encoding")
    if mode is PrintMode.ESCPOS:
        try:
            open_printer(url or "", 1)  # parses the address; connects to nothing
        except ValueError:
            raise TerminalError("printer_url") from None
    with uow:
        session = uow.session
        terminal = session.get(Terminal, terminal_id)
        if terminal is None:
            raise TerminalError("unknown")
        before = {"print_mode": terminal.print_mode, "printer_url": terminal.printer_url, "printer_encoding": terminal.printer_encoding}
        terminal.print_mode, terminal.printer_url, terminal.printer_encoding = mode.value, url, encoding
        audit(session, "terminal.printing", staff_id, terminal.code, before=before,
              after={"print_mode": mode.value, "printer_url": url, "printer_encoding": encoding})
        uow.commit()


def heartbeat(uow: UnitOfWork, terminal_id: int, printer: PrinterStatus | None, now: dt.datetime | None = None) -> None:
    """The terminal is there; with ``printer``, its printer's status (else the last one stands)."""
    values = {"last_seen_at": now or utcnow()}
    if printer is not None:
        values["printer_status"] = printer.value
    with uow:
        uow.session.execute(update(Terminal).where(Terminal.id == terminal_id).values(**values)
                            .execution_options(synchronize_session=False))
        uow.commit()


@dataclass(frozen=True)
class TerminalRow:
    """A line of the terminals dashboard."""

    terminal: Terminal
    browsers: int
    silent: bool
    printer: PrinterStatus


def dashboard(session: Session, now: dt.datetime | None = None) -> list[TerminalRow]:
    now = now or utcnow()
    browsers = dict(session.execute(select(TerminalBrowser.terminal_id, func.count()).where(TerminalBrowser.revoked_at.is_(None))
                                    .group_by(TerminalBrowser.terminal_id)).all())
    return [TerminalRow(terminal, browsers.get(terminal.id, 0), is_silent(terminal.last_seen_at, now),
                        PrinterStatus(terminal.printer_status))
            for terminal in session.scalars(select(Terminal).order_by(Terminal.kind, Terminal.code))]
