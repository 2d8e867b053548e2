"""ESC/POS receipts: exact bytes in GBK and GB18030, status from the printer's own answers, and
failures (paper out, silence, a USB write that times out, an unreachable printer) that end in
``PrinterUnavailable`` instead of a hang or a half-sent receipt."""
from __future__ import annotations

import dataclasses
import inspect
import socket
import threading
import time

import pytest
from escpos.printer import Dummy, Network, Usb

from kiosk.printing import escpos as printing
from kiosk.printing.document import (COLUMNS, Document, Feed, Pair, Qr, Rule, Text, Title, display_width, pair_lines,
                                     wrap)
from kiosk.printing.escpos import (BoundedUsb, PrinterStatus, PrinterUnavailable, open_printer, print_document,
                                   read_status, render)

# the ESC/POS commands, written out here rather than taken from the code under test
INIT = b"\x1b@"
CHINESE_ON, CHINESE_OFF = b"\x1c\x26", b"\x1c\x2e"
LEFT, CENTER = b"\x1ba\x00", b"\x1ba\x01"
TITLE_ON = b"\x1d!\x01" + b"\x1bE\x01"  # GS ! double height, ESC E bold
TITLE_OFF = b"\x1d!\x00" + b"\x1bE\x00"
FEED_AND_CUT = b"\x1bd\x06" + b"\x1dV\x00"  # ESC d 6, GS V 0
YUAN = b"\xa3\xa4"  # ￥ in GBK and in GB18030

RECEIPT = Document((Title("社会保险费缴费凭证"), Text("缴费人 张*"), Pair("金额", "¥360.00"), Rule()))


def expected_receipt(codec: str) -> bytes:
    return (INIT + CHINESE_ON
            + TITLE_ON + CENTER + "社会保险费".encode(codec) + "缴费凭证".encode(codec) + b"\n" + TITLE_OFF
            + LEFT + "缴费人".encode(codec) + b" " + "张".encode(codec) + b"*\n"
            # 金额 is 4 columns, ￥360.00 is 8: 36 spaces make 48
            + LEFT + "金额".encode(codec) + b" " * 36 + YUAN + b"360.00\n"
            + LEFT + b"-" * 48 + b"\n"
            + CHINESE_OFF + FEED_AND_CUT)


def rendered(document: Document, encoding: str) -> bytes:
    printer = Dummy()
    render(document, printer, encoding=encoding)
    return printer.output


def body(output: bytes) -> bytes:
    """The text between entering and leaving Chinese mode, without the per-line alignment."""
    assert output.startswith(INIT + CHINESE_ON) and output.endswith(CHINESE_OFF + FEED_AND_CUT)
    return output[len(INIT + CHINESE_ON):-len(CHINESE_OFF + FEED_AND_CUT)].replace(LEFT, b"")


# --- bytes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding, codec", [("GBK", "gbk"), ("GB18030", "gb18030"), ("gbk", "gbk")])
def test_the_receipt_byte_for_byte(encoding, codec):
    assert rendered(RECEIPT, encoding) == expected_receipt(codec)


def test_the_receipt_never_goes_through_the_magic_encoder():
    """escpos's text() would have picked the bytes; ours are the encoding's own, with no code page
    switch (ESC t) and no GB18030 four-byte yuan sign."""
    output = rendered(RECEIPT, "GBK")
    assert b"\x1bt" not in output and b"\x81\x30\x84\x36" not in output and b"?" not in output


def test_gbk_and_gb18030_differ_where_gbk_has_no_character():
    document = Document((Text("欧元€ 𠀀"),))
    gb18030, gbk = rendered(document, "GB18030"), rendered(document, "GBK")
    assert body(gb18030) == "欧元".encode("gb18030") + b"\xa2\xe3" + b" " + b"\x95\x32\x82\x36" + b"\n"
    assert body(gbk) == "欧元".encode("gbk") + b"? ?\n"
    assert gb18030 != gbk


@pytest.mark.parametrize("encoding", ["GBK", "GB18030"])
def test_the_yuan_sign_prints_full_width_in_both_encodings(encoding):
    output = rendered(Document((Text("¥5"), Text("￥5"), Pair("Total", "¥12.00"))), encoding)
    assert body(output) == YUAN + b"5\n" + YUAN + b"5\n" + b"Total" + b" " * 36 + YUAN + b"12.00\n"
    assert b"?" not in output


def test_the_trap_escpos_text_has_for_the_yuan_sign():
    """What the kiosk would print through escpos's own text(): "?" for ￥ in a line without Chinese,
    GB18030's four bytes for ¥ in a line with Chinese (a GBK printer shows rubbish)."""
    printer = Dummy()
    printer.text("Total ￥5")
    assert printer.output.endswith(b"Total ?5")
    printer = Dummy()
    printer.text("金额¥5")
    assert printer.output == "金额".encode("gbk") + b"\x81\x30\x84\x36" + b"5"


def test_control_characters_in_text_cannot_become_printer_commands():
    output = rendered(Document((Pair("张\x1dV\x00三", "1\x1b@"),)), "GBK")
    assert output.count(b"\x1dV") == 1 and output.count(INIT) == 1  # only our own cut and init
    assert body(output) == "张".encode("gbk") + b"?V?" + "三".encode("gbk") + b" " * 38 + b"1?@\n"


def test_an_unknown_encoding_is_refused():
    with pytest.raises(ValueError, match="GB18030"):
        rendered(RECEIPT, "UTF-8")


def test_qr_feed_and_alignment():
    output = rendered(Document((Qr("https://pay.example/q/1"), Feed(2), Text("谢谢", align="right"))), "GBK")
    payload = b"https://pay.example/q/1"
    assert output == (INIT + CHINESE_ON + CENTER
                      + b"\x1d(k\x04\x001A2\x00"  # model 2
                      + b"\x1d(k\x03\x001C\x06"  # 6-dot modules
                      + b"\x1d(k\x03\x001E0"  # error correction L
                      + b"\x1d(k" + bytes([len(payload) + 3, 0]) + b"1P0" + payload
                      + b"\x1d(k\x03\x001Q0"  # print it
                      + b"\n\n" + b"\x1ba\x02" + "谢谢".encode("gbk") + b"\n"
                      + CHINESE_OFF + FEED_AND_CUT)


def test_the_document_is_frozen_and_its_lines_a_tuple():
    document = Document([Rule()])
    assert document.lines == (Rule(),)
    with pytest.raises(dataclasses.FrozenInstanceError):
        document.lines = ()
    with pytest.raises(ValueError):
        Text("x", align="middle")


# --- columns ---------------------------------------------------------------------------------

def test_display_width_counts_chinese_characters_twice():
    assert [display_width(text) for text in ("金额", "￥", "abc", "张*", "")] == [4, 2, 3, 3, 0]


def printed_lines(document: Document, encoding: str = "GBK") -> list[str]:
    return body(rendered(document, encoding)).decode(encoding).split("\n")[:-1]


@pytest.mark.parametrize("label, value", [("金额", "¥360.00"), ("缴费人", "张*"), ("缴费期间 2025年1月-12月", "￥4,800.00"),
                                          ("Total", "12.00")])
def test_the_value_ends_at_column_48(label, value):
    [line] = printed_lines(Document((Pair(label, value),)))
    assert display_width(line) == COLUMNS
    assert line.endswith(value.replace("¥", "￥")) and line.startswith(label)


def test_a_long_label_wraps_and_its_value_still_ends_at_column_48():
    label = "城乡居民基本医疗保险个人缴费（含大病保险）及补充医疗保险"  # 28 characters, 56 columns
    lines = printed_lines(Document((Pair(label, "￥400.00"),)))
    assert len(lines) == 2 and "".join(lines).replace(" ", "").replace("￥400.00", "") == label
    assert all(display_width(line) <= COLUMNS for line in lines)
    assert display_width(lines[-1]) == COLUMNS and lines[-1].endswith(" ￥400.00")


def test_a_chinese_character_is_never_split_across_lines():
    assert [display_width(line) for line in wrap("A" + "汉" * 24)] == [47, 2]
    lines = pair_lines("A" + "汉" * 23, "￥1.00")  # 47 columns: the value needs a line of its own
    assert lines == ["A" + "汉" * 23, " " * 42 + "￥1.00"]


def test_a_value_wider_than_the_paper_wraps_and_ends_at_column_48():
    lines = pair_lines("交易号", "2" * 60)
    assert lines == ["交易号", "2" * 48, " " * 36 + "2" * 12]


# --- status ----------------------------------------------------------------------------------

class AnsweringPrinter(Dummy):
    """A Dummy that answers real-time status requests (DLE EOT n) with the given bytes, and keeps
    them apart from what would be printed."""

    def __init__(self, answers: dict[int, bytes] | None = None):
        super().__init__()
        self.answers = answers or {}
        self.queries: list[int] = []
        self._answer = b""

    def _raw(self, msg: bytes) -> None:
        if len(msg) == 3 and msg[:2] == b"\x10\x04":
            self.queries.append(msg[2])
            self._answer = self.answers.get(msg[2], b"")
        else:
            super()._raw(msg)

    def _read(self) -> bytes:
        return self._answer


ONLINE, OFFLINE = b"\x12", b"\x1a"  # bit 3: offline
PAPER_ADEQUATE, PAPER_NEAR_END, PAPER_END = b"\x12", b"\x1e", b"\x72"  # bits 2-3 near end, 5-6 end
COVER_OPEN, NO_CAUSE = b"\x16", b"\x12"  # offline cause, bit 2: cover open


def test_silence_is_unknown_though_escpos_calls_it_adequate_paper():
    printer = AnsweringPrinter({})
    assert printer.paper_status() == 2  # escpos 3.1: "paper is adequate" from a printer that said nothing
    assert read_status(printer) is PrinterStatus.UNKNOWN
    assert printer.queries == [4, 1]  # escpos's request, then ours: one, no waiting on the others


@pytest.mark.parametrize("answers, status", [
    ({1: ONLINE, 4: PAPER_ADEQUATE}, PrinterStatus.OK),
    ({1: ONLINE, 4: PAPER_NEAR_END}, PrinterStatus.PAPER_LOW),
    ({1: OFFLINE, 4: PAPER_END, 2: NO_CAUSE}, PrinterStatus.PAPER_OUT),
    ({1: ONLINE, 4: PAPER_END}, PrinterStatus.PAPER_OUT),
    ({1: OFFLINE, 4: PAPER_ADEQUATE, 2: COVER_OPEN}, PrinterStatus.COVER_OPEN),
    ({1: OFFLINE, 4: PAPER_ADEQUATE, 2: b"\x32"}, PrinterStatus.PAPER_OUT),  # stopped at paper end
    ({1: OFFLINE, 4: PAPER_ADEQUATE, 2: NO_CAUSE}, PrinterStatus.OFFLINE),
    ({1: OFFLINE}, PrinterStatus.OFFLINE),
    ({1: ONLINE}, PrinterStatus.UNKNOWN),  # online, but says nothing of its paper
    ({1: b"\xff", 4: PAPER_ADEQUATE}, PrinterStatus.UNKNOWN),  # not a status byte
    ({1: b"\x00\x12", 4: b"\x72\x12"}, PrinterStatus.OK),  # the newest byte answers
])
def test_status_from_the_printers_answers(answers, status):
    assert read_status(AnsweringPrinter(answers)) is status


class TimingOutPrinter(Dummy):
    def _read(self) -> bytes:
        raise TimeoutError("timed out")


@pytest.mark.parametrize("printer", [Dummy(), TimingOutPrinter()], ids=["cannot read", "times out"])
def test_a_printer_that_cannot_answer_is_unknown(printer):
    assert read_status(printer) is PrinterStatus.UNKNOWN


# --- printing --------------------------------------------------------------------------------

def test_nothing_is_printed_when_the_paper_is_out():
    printer = AnsweringPrinter({1: OFFLINE, 4: PAPER_END})
    with pytest.raises(PrinterUnavailable) as caught:
        print_document(printer, RECEIPT, encoding="GBK")
    assert caught.value.status is PrinterStatus.PAPER_OUT
    assert printer.output == b""


@pytest.mark.parametrize("answers, status", [({1: OFFLINE, 4: PAPER_ADEQUATE, 2: COVER_OPEN}, PrinterStatus.COVER_OPEN),
                                             ({1: OFFLINE, 4: PAPER_ADEQUATE, 2: NO_CAUSE}, PrinterStatus.OFFLINE)])
def test_nothing_is_printed_with_the_cover_open_or_offline(answers, status):
    printer = AnsweringPrinter(answers)
    with pytest.raises(PrinterUnavailable) as caught:
        print_document(printer, RECEIPT, encoding="GBK")
    assert caught.value.status is status and printer.output == b""


@pytest.mark.parametrize("answers, status", [({}, PrinterStatus.UNKNOWN),
                                             ({1: ONLINE, 4: PAPER_NEAR_END}, PrinterStatus.PAPER_LOW),
                                             ({1: ONLINE, 4: PAPER_ADEQUATE}, PrinterStatus.OK)])
def test_a_silent_or_low_printer_prints_anyway(answers, status):
    printer = AnsweringPrinter(answers)
    assert print_document(printer, RECEIPT, encoding="GB18030") is status
    assert printer.output == expected_receipt("gb18030")


class BrokenPipePrinter(AnsweringPrinter):
    def _raw(self, msg: bytes) -> None:
        if len(msg) == 3 and msg[:2] == b"\x10\x04":
            return super()._raw(msg)
        raise BrokenPipeError(32, "Broken pipe")


def test_a_failed_send_becomes_printer_unavailable():
    with pytest.raises(PrinterUnavailable) as caught:
        print_document(BrokenPipePrinter({1: ONLINE, 4: PAPER_ADEQUATE}), RECEIPT, encoding="GBK")
    assert caught.value.status is PrinterStatus.OFFLINE
    assert isinstance(caught.value.__cause__, BrokenPipeError)


# --- USB -------------------------------------------------------------------------------------

class FakeUsbDevice:
    """Stands in for a pyusb device: records each transfer's timeout, answers nothing."""

    def __init__(self, write_error: Exception | None = None, written: int | None = None):
        self.write_error, self.written = write_error, written
        self.writes: list[tuple[int, bytes, int]] = []
        self.read_timeouts: list[int] = []

    def write(self, endpoint, data, timeout=None):
        self.writes.append((endpoint, bytes(data), timeout))
        if self.write_error:
            raise self.write_error
        return len(data) if self.written is None else self.written

    def read(self, endpoint, size, timeout=None):
        self.read_timeouts.append(timeout)
        return bytearray()


def usb_printer(device: FakeUsbDevice, **kwargs) -> BoundedUsb:
    printer = BoundedUsb(0x04B8, 0x0202, **kwargs)
    printer.device = device  # as escpos's open() would, without a USB bus
    return printer


def test_escpos_usb_waits_forever_by_default_and_ours_does_not():
    assert inspect.signature(Usb.__init__).parameters["timeout"].default == 0  # pyusb: 0 = no timeout
    assert BoundedUsb(0x04B8, 0x0202).timeout == 5000
    for forever in (0, None, -1, 2.5):
        with pytest.raises(ValueError):
            BoundedUsb(0x04B8, 0x0202, timeout_ms=forever)


def test_a_usb_write_that_times_out_raises_printer_unavailable():
    # what pyusb raises: USBTimeoutError, an OSError with errno ETIMEDOUT
    device = FakeUsbDevice(write_error=TimeoutError(110, "Operation timed out"))
    started = time.monotonic()
    with pytest.raises(PrinterUnavailable) as caught:
        print_document(usb_printer(device, timeout_ms=3000), RECEIPT, encoding="GBK")
    assert time.monotonic() - started < 1
    assert caught.value.status is PrinterStatus.OFFLINE and isinstance(caught.value.__cause__, TimeoutError)
    # the status request failed as well (silence: UNKNOWN, so the receipt was tried), each write bounded
    assert [(data[:3], timeout) for _, data, timeout in device.writes] == [
        (b"\x10\x04\x01", 3000), (INIT + CHINESE_ON[:1], 3000)]


def test_a_usb_printer_prints_with_a_finite_timeout():
    device = FakeUsbDevice()
    assert print_document(usb_printer(device), RECEIPT, encoding="GBK") is PrinterStatus.UNKNOWN
    assert device.writes == [(0x01, b"\x10\x04\x01", 5000), (0x01, expected_receipt("gbk"), 5000)]
    assert device.read_timeouts == [1000]  # a status answer is waited for a second at most


def test_a_short_usb_write_raises_printer_unavailable():
    with pytest.raises(PrinterUnavailable, match="after 10 of"):
        usb_printer(FakeUsbDevice(written=10))._raw(b"x" * 64)


def test_without_pyusb_a_usb_printer_cannot_open(monkeypatch):
    monkeypatch.setattr(printing, "_usb_support_installed", lambda: False)
    printer = open_printer("usb://0x04b8:0x0202", 5)
    with pytest.raises(PrinterUnavailable, match="USB support is not installed"):
        printer.open()
    with pytest.raises(PrinterUnavailable, match="USB support is not installed") as caught:
        print_document(printer, RECEIPT, encoding="GBK")
    assert caught.value.status is PrinterStatus.OFFLINE
    printer.close()  # escpos's own close would raise RuntimeError without pyusb


# --- opening ---------------------------------------------------------------------------------

def test_open_printer_parses_tcp_urls():
    printer = open_printer("tcp://192.0.2.10:9101", 3)
    assert isinstance(printer, Network) and (printer.host, printer.port, printer.timeout) == ("192.0.2.10", 9101, 3)
    printer = open_printer("tcp://printer.lobby.local", 2.5)
    assert (printer.host, printer.port, printer.timeout) == ("printer.lobby.local", 9100, 2.5)


def test_open_printer_parses_usb_urls():
    printer = open_printer("usb://0x04b8:0x0202", 5)
    assert isinstance(printer, BoundedUsb)
    assert (printer.usb_args, printer.timeout, printer.in_ep, printer.out_ep) == (
        {"idVendor": 0x04B8, "idProduct": 0x0202}, 5000, 0x82, 0x01)
    printer = open_printer("usb://0416:5011?in_ep=0x81&out_ep=0x03", 0.5)
    assert (printer.usb_args, printer.timeout, printer.in_ep, printer.out_ep) == (
        {"idVendor": 0x0416, "idProduct": 0x5011}, 500, 0x81, 0x03)


@pytest.mark.parametrize("url", ["http://192.0.2.10:9100", "192.0.2.10:9100", "", "lp:/dev/usb/lp0", "tcp://",
                                 "tcp://host:port", "usb://0x04b8", "usb://0x04b8:0x0000", "usb://zz:0x0202",
                                 "usb://0x04b8:0x0202?timeout=0", "serial:///dev/ttyS0"])
def test_open_printer_rejects_other_urls(url):
    with pytest.raises(ValueError, match="printer URL|USB"):
        open_printer(url, 5)


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan"), None])
def test_open_printer_wants_a_finite_timeout(timeout):
    with pytest.raises(ValueError, match="timeout"):
        open_printer("tcp://192.0.2.10", timeout)


# --- a network printer -----------------------------------------------------------------------

def test_a_silent_network_printer_gets_the_receipt_after_one_bounded_wait():
    """A listener that never answers status requests: one socket timeout, then the receipt,
    and the connection closed afterwards (a network printer serves one client at a time)."""
    server = socket.create_server(("127.0.0.1", 0))
    received = bytearray()

    def serve():
        connection, _ = server.accept()
        with connection:
            while chunk := connection.recv(4096):
                received.extend(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    printer = open_printer(f"tcp://127.0.0.1:{server.getsockname()[1]}", 0.2)
    started = time.monotonic()
    assert print_document(printer, RECEIPT, encoding="GBK") is PrinterStatus.UNKNOWN
    thread.join(2)
    server.close()
    assert time.monotonic() - started < 2
    assert bytes(received) == b"\x10\x04\x01" + expected_receipt("gbk")


def test_an_unreachable_network_printer_is_offline():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: the connection is refused
    with pytest.raises(PrinterUnavailable, match="cannot connect") as caught:
        print_document(open_printer(f"tcp://127.0.0.1:{port}", 0.5), RECEIPT, encoding="GBK")
    assert caught.value.status is PrinterStatus.OFFLINE


def test_a_network_printers_status_is_read_with_a_short_wait_and_the_long_one_restored():
    """A printer that never answers status requests must not hold each receipt up by the whole
    connection timeout: the socket's timeout is cut to the status read's for the reads only."""
    from escpos.printer import Network

    from kiosk.printing.escpos import STATUS_READ_TIMEOUT_MS, _short_reads

    server = socket.create_server(("127.0.0.1", 0))
    printer = Network("127.0.0.1", port=server.getsockname()[1], timeout=30)
    try:
        printer.open()
        assert printer._device.gettimeout() == 30
        with _short_reads(printer):
            assert printer._device.gettimeout() == STATUS_READ_TIMEOUT_MS / 1000
        assert printer._device.gettimeout() == 30
    finally:
        printer.close()
        server.close()
