"""A person's payment records and the certificate of one year and scheme (issue 9): plain values
in, plain values out. What counts is what was paid for the person's own bills, whoever paid and
through whichever channel (kiosk, counter, or a payment the statements recovered)."""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from .contributions import months_of
from .premiums import Scheme


@dataclass(frozen=True)
class PaidPeriod:
    """One paid bill: its period, what was paid for it and how."""

    scheme: str
    period_start: dt.date
    period_end: dt.date
    amount_fen: int
    paid_at: dt.datetime  # UTC
    provider: str  # the attempt's provider: the app, or at the counter the method (cash, pos_card, ...)
    at_counter: bool
    from_statement: bool  # recorded by reconciliation from the provider's statement
    receipt_id: int | None
    receipt_number: str | None
    paid_by_other: bool  # a family member paid it (seed 003)

    @property
    def year(self) -> int:
        return self.period_start.year

    @property
    def months(self) -> int:
        return months_of(Scheme(self.scheme))


@dataclass(frozen=True)
class YearScheme:
    """The records of one year (of the periods, not of the payments) and one scheme."""

    year: int
    scheme: str
    periods: tuple[PaidPeriod, ...]

    @property
    def total_fen(self) -> int:
        return sum(period.amount_fen for period in self.periods)

    @property
    def months(self) -> int:
        return sum(period.months for period in self.periods)

    @property
    def first_month(self) -> dt.date:
        return min(period.period_start for period in self.periods)

    @property
    def last_day(self) -> dt.date:
        return max(period.period_end for period in self.periods)


def by_year_and_scheme(periods: list[PaidPeriod], scheme_order: list[str] | None = None) -> list[YearScheme]:
    """Newest year first; within a year the schemes in ``scheme_order`` (the person's), then by
    name; within a group the periods in time order."""
    order = {code: index for index, code in enumerate(scheme_order or [])}
    groups: dict[tuple[int, str], list[PaidPeriod]] = {}
    for period in periods:
        groups.setdefault((period.year, period.scheme), []).append(period)
    keys = sorted(groups, key=lambda key: (-key[0], order.get(key[1], len(order)), key[1]))
    return [YearScheme(year, scheme, tuple(sorted(groups[(year, scheme)], key=lambda period: period.period_start)))
            for year, scheme in keys]


def certificate_group(periods: list[PaidPeriod], year: int, scheme: str) -> YearScheme | None:
    """What a certificate of ``year`` and ``scheme`` states; None when nothing was paid for it."""
    chosen = tuple(sorted((period for period in periods if period.year == year and period.scheme == scheme),
                          key=lambda period: period.period_start))
    return YearScheme(year, scheme, chosen) if chosen else None


def mask_phone(phone: str | None) -> str:
    """138****5678: enough for a citizen to recognise their number."""
    phone = phone or ""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:] if len(phone) >= 8 else "*" * len(phone)


class NotAPhone(ValueError):
    """Not a mainland mobile number."""


def normalise_phone(typed: str | None) -> str:
    """A mainland mobile number as typed at the counter: spaces, hyphens and a +86 or 0086
    prefix allowed; 11 digits starting 13-19 left. Raises ``NotAPhone``."""
    text = "".join(character for character in unicodedata.normalize("NFKC", typed or "") if character not in " -")
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if len(text) != 11 or not text.isascii() or not text.isdigit() or text[0] != "1" or text[1] not in "3456789":
        raise NotAPhone(typed)
    return text


def names_match(read: str, registered: str) -> bool:
    """The name an ID-card reader typed against the one on record: white space (readers pad
    with it) and the middle dot of minority names (·, ・, •) do not count."""
    def compact(name: str) -> str:
        text = unicodedata.normalize("NFKC", name or "")
        return "".join(character for character in text if not character.isspace() and character not in "·・•.")

    return bool(compact(read)) and compact(read) == compact(registered)
