"""Payments taken at a staffed counter: the ways to pay there, cash change, the drawer, and what
a cashier types about a card payment (no flask, no database).

A counter payment is an order with one attempt whose ``provider`` is the method's name, moved
PENDING -> PAID by ``Source.STAFF`` through the same transition table as the kiosk's, so a bill
is paid at most once whichever channel takes it."""
from __future__ import annotations

import re
import unicodedata
from enum import Enum


class CounterMethod(str, Enum):
    CASH = "cash"
    POS_CARD = "pos_card"  # a bank card on the counter's POS terminal: its reference is recorded
    SS_CARD = "ss_card"  # a social security card's financial account: the card masked, a reference recorded

    @property
    def takes_cash(self) -> bool:
        return self is CounterMethod.CASH

    @property
    def needs_card_number(self) -> bool:
        return self is CounterMethod.SS_CARD


COUNTER_METHODS = frozenset(method.value for method in CounterMethod)


class DrawerKind(str, Enum):
    """What moved money in or out of a counter's cash drawer (amounts are signed: out is negative)."""

    FLOAT = "float"  # change put in at the start of the day
    SALE = "sale"  # cash taken for a payment (the amount kept: tendered minus change)
    REFUND = "refund"  # cash given back


class CounterProblem(ValueError):
    """What a cashier typed that cannot be taken; ``code`` picks the message shown on the field."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def change_due(total_fen: int, tendered_fen: int) -> int:
    """The change to hand back for a cash payment of ``total_fen`` with ``tendered_fen`` given.
    Raises ``CounterProblem('short')`` when less was given than is owed."""
    if total_fen <= 0:
        raise ValueError("a payment is more than 0 fen")
    if tendered_fen < total_fen:
        raise CounterProblem("short")
    return tendered_fen - total_fen


# a cash payment's tendered amount: more than this is a typing mistake, not a payment (10,000 yuan)
MAX_TENDERED_FEN = 1_000_000

_TYPED_YUAN = re.compile(r"(0|[1-9][0-9]{0,7})(?:\.([0-9]{1,2}))?", re.ASCII)


def typed_fen(text: str | None) -> int:
    """An amount a cashier typed in yuan ("100", "100.5", "¥1,000.00") as fen, exactly (never a
    float). Raises ``CounterProblem('amount')`` for anything else, a negative amount included."""
    compact = "".join(ch for ch in unicodedata.normalize("NFKC", text or "") if not ch.isspace() and ch != ",")
    compact = compact.removeprefix("¥")
    match = _TYPED_YUAN.fullmatch(compact)
    if match is None:
        raise CounterProblem("amount")
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


_REFERENCE = re.compile(r"[A-Z0-9]{6,32}")
_CARD_NUMBER = re.compile(r"[A-Z0-9]{9,20}")


def _compact(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in text if not ch.isspace() and ch != "-").upper()


def pos_reference(text: str | None) -> str:
    """The POS slip's reference (retrieval or trace number) as typed: 6 to 32 letters or digits,
    spaces and hyphens dropped. Raises ``CounterProblem('reference')``."""
    reference = _compact(text)
    if not _REFERENCE.fullmatch(reference):
        raise CounterProblem("reference")
    return reference


def mask_card_number(text: str | None) -> str:
    """A social security card's number, masked for keeping: the first two and last four
    characters (9 to 20 letters or digits). The number itself is never stored.
    Raises ``CounterProblem('card')``."""
    number = _compact(text)
    if not _CARD_NUMBER.fullmatch(number):
        raise CounterProblem("card")
    return number[:2] + "*" * (len(number) - 6) + number[-4:]
