"""Employer (unit) arrears and instalment agreements: the replenishment process of seed 002, as
arithmetic (no flask, no database).

- An employer's arrears are unpaid periods, each with a due date; a late fee of 0.05 % a day
  (Social Insurance Law art. 86: 5 per 10,000 a day) accrues on each from the day after it.
- An employer that cannot pay at once signs an instalment agreement. The debt is fixed on the
  day it is signed: the principal and the late fees accrued until then. The schedule's
  instalments sum to exactly that debt. While the agreement is kept (no instalment overdue),
  no further late fee accrues; an instalment paid late owes the late fee on itself from its due
  date, so breaking the agreement costs what paying late always costs.
- A merged employer's debt is signed for by the merging party; a split one's by each separated
  party for its share; a bankrupt one's by the liquidation group; one auctioned or leased by the
  competent authority (seed 002). Shares of a split add up to the whole debt.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from .premiums import add_months, late_fee

# Social Insurance Law art. 86: 0.05 % a day
LATE_FEE_PER_10000_PER_DAY = 5
MAX_INSTALMENTS = 36


class AgreementKind(str, Enum):
    """Who signs for the debt (seed 002)."""

    EMPLOYER = "employer"  # the employer itself, unable to pay in full at once
    MERGER = "merger"  # the party it merged into
    SPLIT = "split"  # each party it was separated into, for a share
    BANKRUPTCY = "bankruptcy"  # the liquidation group
    AUCTION = "auction"  # the competent authority, when it is sold at auction or leased


class AgreementState(str, Enum):
    PROPOSED = "proposed"  # waiting for a supervisor
    REJECTED = "rejected"
    ACTIVE = "active"  # approved: its instalments are collected
    COMPLETED = "completed"  # every instalment paid


class AgreementProblem(ValueError):
    """An agreement the rules refuse; ``code``: count (1 to 36 instalments), shares (a split's
    shares do not add up to the debt, or one is not above 0), counterparty (nobody named),
    nothing_owed, first_due (the first instalment is due before the signing), own (approving
    one's own proposal), role (not a supervisor), state (decided already), paid (an instalment
    paid already), order (an earlier instalment is unpaid)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Arrear:
    """One unpaid period of an employer."""

    period: dt.date  # the month's first day
    principal_fen: int
    due_date: dt.date

    def late_fee_fen(self, on: dt.date, rate: int = LATE_FEE_PER_10000_PER_DAY) -> int:
        return late_fee(self.principal_fen, self.due_date, on, rate)


def arrears_total(arrears: list[Arrear], on: dt.date, rate: int = LATE_FEE_PER_10000_PER_DAY) -> tuple[int, int]:
    """(principal, late fees accrued until ``on``) of the arrears."""
    return sum(a.principal_fen for a in arrears), sum(a.late_fee_fen(on, rate) for a in arrears)


def split(total_fen: int, count: int) -> list[int]:
    """``total_fen`` in ``count`` parts that differ by at most one fen and add up to it exactly;
    the extra fen go to the first parts."""
    if count < 1:
        raise AgreementProblem("count")
    base, extra = divmod(total_fen, count)
    return [base + (1 if index < extra else 0) for index in range(count)]


@dataclass(frozen=True)
class Instalment:
    number: int
    due_date: dt.date
    amount_fen: int
    paid_on: dt.date | None = None

    def overdue(self, on: dt.date) -> bool:
        return self.paid_on is None and on > self.due_date

    def late_fee_fen(self, on: dt.date, rate: int = LATE_FEE_PER_10000_PER_DAY) -> int:
        """The late fee this instalment owes: from its due date until it is paid (or ``on``)."""
        return late_fee(self.amount_fen, self.due_date, self.paid_on or on, rate)


def schedule(debt_fen: int, count: int, first_due: dt.date, signed_on: dt.date) -> list[Instalment]:
    """``count`` monthly instalments from ``first_due``, adding up to ``debt_fen`` exactly."""
    if not 1 <= count <= MAX_INSTALMENTS:
        raise AgreementProblem("count")
    if debt_fen <= 0:
        raise AgreementProblem("nothing_owed")
    if first_due < signed_on:
        raise AgreementProblem("first_due")
    if debt_fen < count:
        raise AgreementProblem("count")  # every instalment is at least a fen
    return [Instalment(number + 1, add_months(first_due, number), amount)
            for number, amount in enumerate(split(debt_fen, count))]


def check_shares(debt_fen: int, shares: list[int]) -> None:
    """A split's shares: each above 0, together the whole debt."""
    if not shares or any(share <= 0 for share in shares) or sum(shares) != debt_fen:
        raise AgreementProblem("shares")


def kept(instalments: list[Instalment], on: dt.date) -> bool:
    """An agreement is kept while none of its instalments is overdue."""
    return not any(instalment.overdue(on) for instalment in instalments)


def balance(instalments: list[Instalment], on: dt.date, rate: int = LATE_FEE_PER_10000_PER_DAY) -> tuple[int, int]:
    """(instalments still unpaid, late fees owed on overdue ones) on ``on``: what remains."""
    unpaid = sum(i.amount_fen for i in instalments if i.paid_on is None)
    fees = sum(i.late_fee_fen(on, rate) for i in instalments if i.paid_on is None)
    return unpaid, fees


def due_now(instalment: Instalment, on: dt.date, rate: int = LATE_FEE_PER_10000_PER_DAY) -> int:
    """What paying this instalment on ``on`` costs: its amount and, if it is late, its late fee."""
    return instalment.amount_fen + late_fee(instalment.amount_fen, instalment.due_date, on, rate)
