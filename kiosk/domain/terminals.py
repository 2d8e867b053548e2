"""Terminals: the kiosks and counters that share one app and one database (no flask, no database)."""
from __future__ import annotations

from enum import Enum


class TerminalKind(str, Enum):
    BUREAU_KIOSK = "bureau_kiosk"  # a self-service kiosk in a social-security bureau's hall
    BANK_KIOSK = "bank_kiosk"  # a self-service kiosk in a bank's lobby
    COUNTER = "counter"  # a staffed counter: a cashier's browser and a customer display

    @property
    def is_kiosk(self) -> bool:
        return self is not TerminalKind.COUNTER


TERMINAL_KINDS = tuple(kind.value for kind in TerminalKind)
