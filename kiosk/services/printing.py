"""Printing receipts and certificates on a terminal's own thermal printer (ESC/POS), for
terminals whose printing mode says so; a browser-printing terminal prints the page itself
(print CSS, Chromium's --kiosk-printing) and nothing here runs.

A print is a job row, committed before a byte goes out (the receipt or certificate itself was
stored before): whatever happens to the printer, the document and the attempt are on record.
A failed job is never sent again by itself: when the printer comes back, nothing prints twice
unless someone asks (a reprint, which is a new job marked as a copy). The printer's status as
read at each print is the terminal's reported status (the dashboard, the dues screen's notice).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from ..domain.clock import utcnow
from ..domain.terminals import PrintMode, PrinterStatus
from ..models import PrintJob, Terminal
from ..printing.document import Document
from ..printing.escpos import PrinterUnavailable, open_printer, print_document, read_status
from .uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrinterSetting:
    mode: PrintMode
    url: str | None
    encoding: str


def printer_setting(session, terminal_id: int) -> PrinterSetting:
    mode, url, encoding = session.execute(select(Terminal.print_mode, Terminal.printer_url, Terminal.printer_encoding)
                                          .where(Terminal.id == terminal_id)).one()
    return PrinterSetting(PrintMode(mode), url, encoding)


@dataclass(frozen=True)
class PrintOutcome:
    printed: bool
    status: PrinterStatus
    job_id: int


def print_on_terminal(uow: UnitOfWork, terminal_id: int, make_document: Callable[[], Document], *,
                      receipt_id: int | None = None, certificate_id: int | None = None, copy: bool = False,
                      timeout_seconds: float = 5, opener=open_printer, now: dt.datetime | None = None) -> PrintOutcome | None:
    """Print the document ``make_document`` makes on the terminal's ESC/POS printer; None (and
    nothing made) for a browser-printing terminal."""
    setting = printer_setting(uow.session, terminal_id)
    if setting.mode is not PrintMode.ESCPOS:
        return None
    document = make_document()
    with uow:
        job = PrintJob(terminal_id=terminal_id, receipt_id=receipt_id, certificate_id=certificate_id, copy=copy,
                       status="sending", created_at=now or utcnow())
        uow.session.add(job)
        uow.session.flush()
        job_id = job.id
        uow.commit()
    detail = ""
    uow.idle()
    try:
        if not setting.url:
            raise PrinterUnavailable(PrinterStatus.OFFLINE, "no printer address is set for this terminal")
        status, printed = print_document(opener(setting.url, timeout_seconds), document, encoding=setting.encoding), True
    except (PrinterUnavailable, ValueError) as error:
        status = error.status if isinstance(error, PrinterUnavailable) else PrinterStatus.OFFLINE
        printed, detail = False, str(error)[:200]
        log.warning("print job %s on terminal %s failed: %s", job_id, terminal_id, detail)
    with uow:
        uow.session.execute(update(PrintJob).where(PrintJob.id == job_id)
                            .values(status="printed" if printed else "failed", printer_status=status.value, detail=detail,
                                    finished_at=utcnow()).execution_options(synchronize_session=False))
        _report(uow.session, terminal_id, status)
        uow.commit()
    return PrintOutcome(printed, status, job_id)


def probe(uow: UnitOfWork, terminal_id: int, *, timeout_seconds: float = 5, opener=open_printer) -> PrinterStatus | None:
    """Ask an ESC/POS terminal's printer how it is (for the heartbeat, which keeps the answer);
    None for a browser-printing terminal. Only status requests are sent: a job that failed stays failed."""
    setting = printer_setting(uow.session, terminal_id)
    if setting.mode is not PrintMode.ESCPOS:
        return None
    status = PrinterStatus.OFFLINE
    uow.idle()  # no transaction of ours stays open while the printer answers (or does not)
    if setting.url:
        printer = None
        try:
            printer = opener(setting.url, timeout_seconds)
            printer.open()
            status = read_status(printer)
        except Exception as error:  # refused, unreachable, no USB support: the printer cannot be reached
            log.info("printer of terminal %s cannot be reached: %r", terminal_id, error)
        finally:
            if printer is not None:
                try:
                    printer.close()
                except Exception:
                    pass
    return status


def _report(session, terminal_id: int, status: PrinterStatus) -> None:
    session.execute(update(Terminal).where(Terminal.id == terminal_id).values(printer_status=status.value)
                    .execution_options(synchronize_session=False))
