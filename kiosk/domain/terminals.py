"""Terminals: the kiosks and counters that share one app and one database (no flask, no database)."""
from __future__ import annotations

import datetime as dt
import unicodedata
from enum import Enum


class TerminalKind(str, Enum):
    BUREAU_KIOSK = "bureau_kiosk"  # a self-service kiosk in a social-security bureau's hall
    BANK_KIOSK = "bank_kiosk"  # a self-service kiosk in a bank's lobby
    COUNTER = "counter"  # a staffed counter: a cashier's browser and a customer display

    @property
    def is_kiosk(self) -> bool:
        return self is not TerminalKind.COUNTER


TERMINAL_KINDS = tuple(kind.value for kind in TerminalKind)


class PrinterStatus(str, Enum):
    """What a kiosk's heartbeat says of its receipt printer."""

    OK = "ok"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"
    COVER_OPEN = "cover_open"  # an ESC/POS printer says so (its paper is being changed)
    UNKNOWN = "unknown"  # never reported (a browser printing cannot tell), or a printer that does not answer

    @property
    def prints(self) -> bool:
        """Whether a receipt can be expected to come out."""
        return self in (PrinterStatus.OK, PrinterStatus.PAPER_LOW, PrinterStatus.UNKNOWN)


PRINTER_STATUSES = tuple(status.value for status in PrinterStatus)


class PrintMode(str, Enum):
    """How a terminal prints: the page itself (print CSS, Chromium's --kiosk-printing), or the
    server sends ESC/POS to its thermal printer on the network or USB (``services.printing``)."""

    BROWSER = "browser"
    ESCPOS = "escpos"


PRINT_MODES = tuple(mode.value for mode in PrintMode)
# what ESC/POS printers are sent Chinese text in: one printer wants GBK where another takes GB18030
PRINTER_ENCODINGS = ("GB18030", "GBK")

# a terminal not heard from for this long is shown as out of contact on the dashboard
SILENT_AFTER = dt.timedelta(minutes=3)
# a kiosk's heartbeat comes this often (kiosk.js)
HEARTBEAT_EVERY = dt.timedelta(seconds=60)

# one-time enrolment codes: 8 characters without look-alikes (0/O, 1/I/L), about 40 bits;
# single use, valid for a day, and tried at most a few times per minute from one address
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_VALID = dt.timedelta(hours=24)


def new_enrolment_code(random_choice) -> str:
    """A code as an administrator reads it out: two groups of four (``random_choice`` picks a
    character; the caller passes ``secrets.choice``)."""
    code = "".join(random_choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{code[:4]}-{code[4:]}"


def normalise_code(typed: str | None) -> str:
    """A code as typed: case, spaces and the hyphen do not matter."""
    text = unicodedata.normalize("NFKC", typed or "")
    return "".join(ch for ch in text if ch.isalnum()).upper()


def is_silent(last_seen_at: dt.datetime | None, now: dt.datetime) -> bool:
    return last_seen_at is None or now - last_seen_at > SILENT_AFTER
