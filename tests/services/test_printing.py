"""Printing on an ESC/POS terminal as a service (issue 9): no transaction of ours is open while
the printer is asked anything, and a printer setting nothing can open is a failed print, not a crash."""
from __future__ import annotations

from sqlalchemy import select, update

from kiosk.domain.terminals import PrinterStatus
from kiosk.extensions import db
from kiosk.models import PrintJob, Receipt, Terminal
from kiosk.printing.document import Document, Text
from kiosk.printing.escpos import PrinterUnavailable
from kiosk.services import printing
from tests.services.conftest import uow


def escpos_terminal(app, url="tcp://127.0.0.1:9") -> int:
    with app.app_context():
        db.session.execute(update(Terminal).where(Terminal.code == "DEMO-01").values(print_mode="escpos", printer_url=url))
        db.session.commit()
        return db.session.scalar(select(Terminal.id).where(Terminal.code == "DEMO-01"))


class Silent:
    """A printer that is off; it notes whether our session held a transaction when asked."""

    def __init__(self, seen: list[bool]):
        self.seen = seen

    def __call__(self, url, timeout_seconds):
        self.seen.append(db.session().in_transaction())
        raise PrinterUnavailable(PrinterStatus.OFFLINE, "off")


def test_no_transaction_is_open_while_the_printer_is_asked(demo):
    terminal_id = escpos_terminal(demo)
    seen: list[bool] = []
    with demo.app_context():
        assert printing.probe(uow(), terminal_id, opener=Silent(seen)) is PrinterStatus.OFFLINE
    assert seen == [False]


def test_a_failed_print_is_a_failed_job_and_the_terminals_status(demo):
    terminal_id = escpos_terminal(demo, url="usb://zz:yy")  # saved before validation existed: cannot be opened
    with demo.app_context():
        receipt_id = db.session.scalar(select(Receipt.id))
        seen: list[bool] = []
        outcome = printing.print_on_terminal(uow(), terminal_id, lambda: Document((Text("x"),)), receipt_id=receipt_id)
        assert (outcome.printed, outcome.status) == (False, PrinterStatus.OFFLINE)
        job = db.session.get(PrintJob, outcome.job_id)
        assert job.status == "failed" and "hexadecimal" in job.detail
        assert db.session.get(Terminal, terminal_id).printer_status == "offline"
        escpos_terminal(demo)
        outcome = printing.print_on_terminal(uow(), terminal_id, lambda: Document((Text("x"),)), receipt_id=receipt_id, opener=Silent(seen))
        assert outcome.printed is False and seen == [False]
