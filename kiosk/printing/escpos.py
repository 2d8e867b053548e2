"""Documents as ESC/POS bytes for 80 mm thermal printers, and sending them without hanging the kiosk.

Three traps of python-escpos 3.1 are avoided here:

- its ``text()`` sends any line holding a Chinese character as GB18030 (magicencode.py, lines 261-262)
  and other lines through single-byte code pages, where the full-width ￥ becomes "?"; many
  printers want GBK (python-escpos #678, #281). We switch the printer into its Chinese
  (double-byte) mode ourselves and send each line encoded exactly as the printer is configured.
- ``paper_status()`` answers 2, "adequate", when the printer says nothing (escpos.py, lines 1303-1304);
  here silence is UNKNOWN.
- ``Usb`` defaults to ``timeout=0`` (printer/usb.py, line 80) and passes it to pyusb's
  ``write`` (line 190), where 0 means wait forever; ``BoundedUsb`` always has a finite one.
"""
from __future__ import annotations

import contextlib
import logging
import math
import socket
import unicodedata
from urllib.parse import parse_qs, urlsplit

from escpos.printer import Dummy, Network, Usb
from escpos.printer import usb as escpos_usb

from ..domain.terminals import PRINTER_ENCODINGS as ENCODINGS
from ..domain.terminals import PrinterStatus
from .document import COLUMNS, Document, Feed, Pair, Qr, Rule, Text, Title, pair_lines, wrap

log = logging.getLogger(__name__)

DEFAULT_USB_TIMEOUT_MS = 5000
# printers answer a real-time status request at once; a longer wait only delays the receipt
STATUS_READ_TIMEOUT_MS = 1000
QR_MODULE_SIZE = 6  # dots per module: a payment URL's QR comes out about 2.5 cm wide

ESC_INIT = b"\x1b@"
CHINESE_MODE_ON = b"\x1c\x26"  # FS &: bytes >= 0x80 start a double-byte character
CHINESE_MODE_OFF = b"\x1c\x2e"  # FS .
DLE_EOT = b"\x10\x04"  # real-time status request, followed by n
HALF_WIDTH_YUAN, FULL_WIDTH_YUAN = "\u00a5", "\uffe5"  # ¥ is not in GBK; ￥ is A3 A4 in GBK and GB18030


# what stops a receipt before a byte of it is sent; UNKNOWN and PAPER_LOW still print
REFUSED = frozenset({PrinterStatus.PAPER_OUT, PrinterStatus.COVER_OPEN, PrinterStatus.OFFLINE})


class PrinterUnavailable(Exception):
    """The receipt was not (or not entirely) printed; ``status`` says what is known of the printer."""

    def __init__(self, status: PrinterStatus = PrinterStatus.UNKNOWN, detail: str = ""):
        self.status = PrinterStatus(status)
        self.detail = detail
        super().__init__(detail or f"printer unavailable: {self.status.value}")


# --- rendering -------------------------------------------------------------------------------

def _codec(encoding: str) -> str:
    name = str(encoding).upper()
    if name not in ENCODINGS:
        raise ValueError(f"printer encoding must be one of {ENCODINGS}, not {encoding!r}")
    return name.lower()


def _encodable(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str, encoding: str) -> str:
    """``text`` as the printer can show it: the yuan sign full width, and "?" for control
    characters (a name must not smuggle in printer commands) and for what the encoding lacks."""
    codec = _codec(encoding)
    return "".join(
        "?" if unicodedata.category(char).startswith("C") or not _encodable(char, codec) else char
        for char in text.replace(HALF_WIDTH_YUAN, FULL_WIDTH_YUAN))


def render(document: Document, printer, *, encoding: str) -> None:
    """Write ``document`` onto a python-escpos printer (``escpos.printer.Dummy`` to capture bytes).

    Text never goes through escpos's ``text()``: each line is ``printable()`` text encoded with
    the printer's own ``encoding`` ("GB18030" or "GBK") and sent in Chinese mode.
    """
    codec = _codec(encoding)

    def lines(*texts: str) -> None:
        printer._raw(b"".join(text.encode(codec) + b"\n" for text in texts))

    printer.hw("INIT")
    printer._raw(CHINESE_MODE_ON)
    for line in document.lines:
        if isinstance(line, Title):
            # GS ! sizes double-byte characters too; ESC ! would leave them single height
            printer.set(align="center", bold=True, custom_size=True, width=1, height=2)
            lines(*wrap(printable(line.text, encoding), COLUMNS))
            printer.set(bold=False, custom_size=True, width=1, height=1)
        elif isinstance(line, Text):
            printer.set(align=line.align)
            lines(*(piece for part in (line.text.splitlines() or [""])
                    for piece in wrap(printable(part, encoding), COLUMNS)))
        elif isinstance(line, Pair):
            printer.set(align="left")
            lines(*pair_lines(printable(line.label, encoding), printable(line.value, encoding), COLUMNS))
        elif isinstance(line, Rule):
            printer.set(align="left")
            lines("-" * COLUMNS)
        elif isinstance(line, Qr):
            printer.set(align="center")
            printer.qr(line.payload, size=QR_MODULE_SIZE, native=True)
        elif isinstance(line, Feed):
            printer._raw(b"\n" * line.lines)
        else:
            raise TypeError(f"not a document line: {line!r}")
    printer._raw(CHINESE_MODE_OFF)
    printer.cut()


# --- status ----------------------------------------------------------------------------------

def _ask(printer, n: int) -> int | None:
    """The status byte answering DLE EOT n, or None for silence, an error or a byte that is not
    a status byte (bits 1 and 4 are always set, bits 0 and 7 always clear)."""
    try:
        answer = bytes(printer.query_status(DLE_EOT + bytes([n])) or b"")
    except Exception as exc:  # Dummy's NotImplementedError, socket timeouts, USB errors: all silence
        log.info("printer status %d: no answer (%r)", n, exc)
        return None
    if not answer:
        return None
    byte = answer[-1]  # the newest byte answers this request; earlier ones may be stale
    return byte if byte & 0b1001_0011 == 0b0001_0010 else None


@contextlib.contextmanager
def _short_reads(printer):
    """A network printer's socket waits at most STATUS_READ_TIMEOUT_MS for a status answer
    (escpos's ``Network`` has one timeout for everything): a printer that never answers status
    requests must not hold every receipt up by the whole connection timeout."""
    device = getattr(printer, "_device", None)  # not ``device``: escpos opens the printer on reading it
    if not isinstance(device, socket.socket):
        yield
        return
    before = device.gettimeout()
    limit = STATUS_READ_TIMEOUT_MS / 1000
    device.settimeout(limit if before is None else min(before, limit))
    try:
        yield
    finally:
        device.settimeout(before)


def read_status(printer) -> PrinterStatus:
    """What the printer says of itself, UNKNOWN when it says nothing."""
    with _short_reads(printer):
        return _read_status(printer)


def _read_status(printer) -> PrinterStatus:
    printer_status = _ask(printer, 1)
    if printer_status is None:
        return PrinterStatus.UNKNOWN  # don't wait out the other two requests as well
    paper = _ask(printer, 4)
    if paper is not None and paper & 0b0110_0000:  # bits 5-6: roll paper end
        return PrinterStatus.PAPER_OUT
    if printer_status & 0b0000_1000:  # bit 3: offline
        cause = _ask(printer, 2)
        if cause is not None and cause & 0b0000_0100:  # bit 2: cover open
            return PrinterStatus.COVER_OPEN
        if cause is not None and cause & 0b0010_0000:  # bit 5: stopped at paper end
            return PrinterStatus.PAPER_OUT
        return PrinterStatus.OFFLINE
    if paper is None:
        return PrinterStatus.UNKNOWN
    if paper & 0b0000_1100:  # bits 2-3: roll paper near end
        return PrinterStatus.PAPER_LOW
    return PrinterStatus.OK


# --- connections -----------------------------------------------------------------------------

def _usb_support_installed() -> bool:
    """Whether pyusb imported; escpos tries the import itself and its Usb needs nothing else."""
    return escpos_usb.is_usable()


class BoundedUsb(Usb):
    """escpos's ``Usb`` whose transfers all end: escpos's default timeout of 0 is forever in pyusb.

    A failed or timed-out write raises ``PrinterUnavailable`` instead of blocking or leaking
    pyusb's errors.
    """

    def __init__(self, id_vendor: int, id_product: int, *, timeout_ms: int = DEFAULT_USB_TIMEOUT_MS,
                 in_ep: int = 0x82, out_ep: int = 0x01, **kwargs):
        if not (isinstance(timeout_ms, int) and timeout_ms > 0):
            raise ValueError(f"a USB printer needs a finite timeout in milliseconds > 0, not {timeout_ms!r}")
        for name, number in (("vendor", id_vendor), ("product", id_product)):
            if not 0 < number <= 0xFFFF:  # escpos would drop a 0 and take any USB device
                raise ValueError(f"USB {name} id must be 0x0001-0xFFFF, not {number!r}")
        super().__init__(idVendor=id_vendor, idProduct=id_product, timeout=timeout_ms,
                         in_ep=in_ep, out_ep=out_ep, **kwargs)

    def open(self, raise_not_found: bool = True) -> None:
        if not _usb_support_installed():
            raise PrinterUnavailable(PrinterStatus.OFFLINE, "USB support is not installed")
        super().open(raise_not_found)

    def _raw(self, msg: bytes) -> None:
        device = self.device
        if not device:
            raise PrinterUnavailable(PrinterStatus.OFFLINE, "USB printer is not connected")
        try:
            written = device.write(self.out_ep, msg, self.timeout)
        except Exception as exc:  # pyusb's USBTimeoutError / USBError (OSErrors), bad endpoints
            raise PrinterUnavailable(PrinterStatus.OFFLINE, f"USB write failed: {exc}") from exc
        if isinstance(written, int) and written < len(msg):
            raise PrinterUnavailable(PrinterStatus.OFFLINE, f"USB write stopped after {written} of {len(msg)} bytes")

    def _read(self) -> bytes:
        device = self.device
        if not device:
            return b""
        return bytes(device.read(self.in_ep, 16, min(self.timeout, STATUS_READ_TIMEOUT_MS)))

    def close(self) -> None:
        """Never raises (escpos's close needs pyusb, and runs from ``__del__``)."""
        try:
            if _usb_support_installed():
                super().close()
        except Exception as exc:
            log.warning("closing the USB printer failed: %r", exc)
        finally:
            self._device = False


def open_printer(url: str, timeout_seconds: float):
    """A printer for ``tcp://host[:port]`` (port 9100 by default) or
    ``usb://VID:PID[?in_ep=0x81&out_ep=0x03]`` (hexadecimal ids), every wait bounded by
    ``timeout_seconds``. Nothing is connected until the first print."""
    if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, (int, float)) \
            or not math.isfinite(timeout_seconds) or timeout_seconds <= 0:
        raise ValueError(f"printer timeout must be a finite number of seconds > 0, not {timeout_seconds!r}")
    parts = urlsplit(str(url).strip())
    if parts.scheme == "tcp":
        if not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise ValueError(f"network printer URL must be tcp://host[:port], not {url!r}")
        try:
            port = parts.port or 9100
        except ValueError:
            raise ValueError(f"bad port in printer URL {url!r}") from None
        return Network(parts.hostname, port=port, timeout=timeout_seconds)
    if parts.scheme == "usb":
        ids = parts.netloc.split(":")
        options = parse_qs(parts.query, keep_blank_values=True)
        if len(ids) != 2 or parts.path not in ("", "/") or set(options) - {"in_ep", "out_ep"} \
                or any(len(values) != 1 for values in options.values()):
            raise ValueError(f"USB printer URL must be usb://VID:PID[?in_ep=..&out_ep=..], not {url!r}")
        try:
            vendor, product = (int(number, 16) for number in ids)
            endpoints = {name: int(values[0], 16) for name, values in options.items()}
        except ValueError:
            raise ValueError(f"USB ids and endpoints must be hexadecimal in {url!r}") from None
        return BoundedUsb(vendor, product, timeout_ms=max(1, round(timeout_seconds * 1000)), **endpoints)
    raise ValueError(f"unsupported printer URL {url!r}: expected tcp://host[:port] or usb://VID:PID")


# --- printing --------------------------------------------------------------------------------

def _close_quietly(printer) -> None:
    try:
        printer.close()
    except Exception as exc:
        log.warning("closing the printer failed: %r", exc)


def print_document(printer, document: Document, *, encoding: str) -> PrinterStatus:
    """Print ``document`` and return the status read before printing (OK, PAPER_LOW or UNKNOWN).

    The receipt is rendered in full before the printer is touched, so a bug never leaves half a
    receipt; it goes out in one write. The connection lasts for this receipt only: opened here
    (a network printer serves one client at a time) and closed whatever happens. Raises
    ``PrinterUnavailable`` when the printer reports paper out, cover open or offline (nothing
    sent) or when connecting or sending fails. Never retries: a failed write may have printed
    part of the receipt, and printing it twice is worse than telling the citizen.
    """
    buffer = Dummy()
    buffer.profile = getattr(printer, "profile", buffer.profile)  # the cut command depends on it
    render(document, buffer, encoding=encoding)
    payload = buffer.output
    try:
        try:
            if not getattr(printer, "_device", True):  # escpos: False before the first open, None after a failed one
                printer.open()
        except PrinterUnavailable:
            raise
        except Exception as exc:  # DeviceNotFoundError, OSError
            raise PrinterUnavailable(PrinterStatus.OFFLINE, f"cannot connect to the printer: {exc}") from exc
        status = read_status(printer)
        if status in REFUSED:
            raise PrinterUnavailable(status)
        try:
            printer._raw(payload)
        except PrinterUnavailable:
            raise
        except Exception as exc:  # one write of finished bytes: whatever fails here is the transport
            raise PrinterUnavailable(PrinterStatus.OFFLINE, f"sending the receipt failed: {exc}") from exc
        return status
    finally:
        _close_quietly(printer)
