"""Receipts on a terminal's own ESC/POS printer (issue 9), against a fake network printer on a
real socket: printed once, stored before, never printed twice when the printer comes back unless
someone asks, and the citizen told where to get a receipt the printer could not print."""
from __future__ import annotations

import re
import socket
import threading

import pytest
from sqlalchemy import select, update

from kiosk.extensions import db
from kiosk.models import AuditEntry, PrintJob, Receipt, Terminal
from kiosk.services import staff
from tests.helpers import ZHANG_SAN, ZHAO_MIN, Journey
from tests.services.conftest import uow

DLE_EOT = b"\x10\x04"
ONLINE, PAPER_ADEQUATE, PAPER_END = b"\x12", b"\x12", b"\x72"
CUT = b"\x1dV\x00"


class FakePrinter:
    """A thermal printer on tcp://127.0.0.1:<port>: answers real-time status requests with
    ``answers`` and keeps everything else it receives (the receipts), per connection."""

    def __init__(self, answers: dict[int, bytes] | None = None):
        self.answers = answers if answers is not None else {1: ONLINE, 4: PAPER_ADEQUATE}
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                data = b""
                while True:
                    try:
                        chunk = connection.recv(65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    data += chunk
                    while DLE_EOT in chunk:
                        index = chunk.index(DLE_EOT)
                        n = chunk[index + 2] if index + 2 < len(chunk) else 0
                        if n in self.answers:
                            connection.sendall(self.answers[n])
                        chunk = chunk[index + 3:]
                self.received.append(data)

    @property
    def receipts(self) -> list[bytes]:
        """What was printed: what came besides status requests (a print ends with a cut)."""
        return [data for data in self.received if CUT in data]

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def printer():
    fake = FakePrinter()
    yield fake
    fake.close()


def escpos(app, url: str, encoding: str = "GBK") -> None:
    with app.app_context():
        db.session.execute(update(Terminal).where(Terminal.code == "DEMO-01")
                           .values(print_mode="escpos", printer_url=url, printer_encoding=encoding))
        db.session.commit()


def refused_url() -> str:
    """An address where nothing listens: the printer is off."""
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"tcp://127.0.0.1:{port}"


def paid_receipt_page(app, client) -> tuple[Journey, object]:
    journey = Journey(client)
    journey.post("/preferences/language", {"next": "/"})
    return journey, journey.paid_receipt(app, ZHAO_MIN)


def test_an_escpos_kiosk_prints_the_receipt_once_in_its_printers_encoding(demo, client, printer):
    demo.config["PRINTER_TIMEOUT_SECONDS"] = 2
    escpos(demo, printer.url, "GBK")
    journey, page = paid_receipt_page(demo, client)
    assert page.status_code == 200
    assert 'id="printed"' in page.text and 'data-auto-print' not in page.text  # the server printed, not the page
    number = re.search(r'id="receipt-number">(\w+)<', page.text).group(1)
    assert len(printer.receipts) == 1
    printed = printer.receipts[0]
    assert number.encode() in printed
    assert "赵*".encode("gbk") in printed and b"\xa3\xa4" in printed  # GBK Chinese, the yuan sign as ￥
    with demo.app_context():
        job = db.session.scalar(select(PrintJob))
        assert (job.status, job.copy, job.printer_status) == ("printed", False, "ok")
    # a reload does not print again
    journey.get("/receipt")
    assert len(printer.receipts) == 1


def test_a_printer_failure_leaves_a_stored_receipt_and_the_citizen_told_where_to_get_it(demo, client):
    demo.config["PRINTER_TIMEOUT_SECONDS"] = 2
    url = refused_url()
    escpos(demo, url)
    journey, page = paid_receipt_page(demo, client)
    assert page.status_code == 200
    assert 'id="print-failed"' in page.text and 'role="alert"' in page.text
    number = re.search(r'id="failed-receipt-number">(\w+)<', page.text).group(1)
    assert "print the receipt at any counter, or at any kiosk" in page.text
    with demo.app_context():
        assert db.session.scalar(select(Receipt.id).where(Receipt.number == number)) is not None  # stored: reprintable anywhere
        job = db.session.scalar(select(PrintJob))
        assert (job.status, job.printer_status) == ("failed", "offline")
        assert db.session.scalar(select(Terminal.printer_status).where(Terminal.code == "DEMO-01")) == "offline"

    # the printer comes back at the same address: the heartbeat sees it, and nothing prints by itself
    host, port = url.removeprefix("tcp://").split(":")
    back = FakePrinter()
    back.server.close()
    back.server = socket.create_server((host, int(port)))
    back.port = int(port)
    back.thread = threading.Thread(target=back._serve, daemon=True)
    back.thread.start()
    try:
        assert journey.post("/terminal/heartbeat").status_code == 204
        with demo.app_context():
            assert db.session.scalar(select(Terminal.printer_status).where(Terminal.code == "DEMO-01")) == "ok"
        assert back.receipts == []
        # unless someone asks: Print again prints it once, marked as a copy
        again = journey.post("/receipt/print")
        assert 'id="printed"' in again.text
        assert len(back.receipts) == 1 and number.encode() in back.receipts[0]
        assert "补打".encode("gb18030") in back.receipts[0] or b"REPRINT" in back.receipts[0]
    finally:
        back.close()


def test_paper_out_prints_nothing_and_the_next_citizen_is_warned_before_paying(demo, client):
    demo.config["PRINTER_TIMEOUT_SECONDS"] = 2
    empty = FakePrinter({1: ONLINE, 4: PAPER_END})
    try:
        escpos(demo, empty.url)
        _, page = paid_receipt_page(demo, client)
        assert 'id="print-failed"' in page.text and "Out of paper" in page.text
        assert empty.receipts == []  # the status was read first: no receipt bytes went out
        nxt = Journey(demo.test_client())
        nxt.post("/preferences/language", {"next": "/"})
        nxt.identify(ZHANG_SAN)  # who still has something to pay
        assert 'id="printer-notice"' in nxt.get("/dues").text
    finally:
        empty.close()


@pytest.fixture
def admin_client(demo):
    with demo.app_context():
        staff.create_staff(uow(), "root", "Root", "admin", "long enough password")
    client = demo.test_client()
    journey = Journey(client)
    journey.get("/staff/login")
    journey.post("/staff/login", {"username": "root", "password": "long enough password"})
    return journey


def test_an_admin_sets_a_terminals_printing_and_a_bad_address_changes_nothing(demo, admin_client):
    with demo.app_context():
        terminal_id = db.session.scalar(select(Terminal.id).where(Terminal.code == "DEMO-01"))
    page = admin_client.get("/admin/terminals")
    assert page.status_code == 200 and f'id="printing-DEMO-01"' in page.text
    bad = admin_client.post(f"/admin/terminals/{terminal_id}/printing", {"mode": "escpos", "url": "lpt1", "encoding": "GBK"})
    assert bad.status_code == 422 and "tcp://host:9100" in bad.text
    with demo.app_context():
        assert db.session.get(Terminal, terminal_id).print_mode == "browser"
    good = admin_client.post(f"/admin/terminals/{terminal_id}/printing",
                             {"mode": "escpos", "url": "tcp://10.0.0.21:9100", "encoding": "GBK"})
    assert good.status_code == 303
    with demo.app_context():
        terminal = db.session.get(Terminal, terminal_id)
        assert (terminal.print_mode, terminal.printer_url, terminal.printer_encoding) == ("escpos", "tcp://10.0.0.21:9100", "GBK")
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "terminal.printing"))
        assert entry.before["print_mode"] == "browser" and entry.after["printer_url"] == "tcp://10.0.0.21:9100"
