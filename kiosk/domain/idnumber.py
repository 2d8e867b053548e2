"""Resident ID numbers (GB 11643-1999), validated with python-stdnum behind one wrapper.

``stdnum.cn.ric`` checks length, format, check digit, date and region, but it
raises ``KeyError`` for some unknown region codes, accepts future birth dates,
keeps inner spaces and does not map a full-width X. This module fixes those and
reports every failure as one :class:`IdProblem`.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

_ALLOWED = re.compile(r"[0-9X]*")
_SHAPE = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")


class IdProblem(str, Enum):
    """Why a typed ID number is not accepted (one reason, the first one found)."""

    EMPTY = "empty"
    CHARACTERS = "characters"
    LENGTH = "length"
    TOO_LONG = "too_long"
    CHECKSUM = "checksum"
    DATE = "date"
    FUTURE = "future"
    REGION = "region"


class InvalidIdNumber(ValueError):
    def __init__(self, problem: IdProblem):
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date

    @property
    def is_male(self) -> bool:
        return int(self.number[16]) % 2 == 1

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)


def normalise(raw: str) -> str:
    """What a keypad, keyboard or scanner typed, as the 18 or 15 characters meant.

    NFKC maps full-width digits and the full-width X; every kind of white space,
    inner ones included, and the hyphens some scanners add are dropped.
    """
    text = unicodedata.normalize("NFKC", raw or "")
    text = "".join(ch for ch in text if not ch.isspace() and ch != "-")
    return text.upper()


def _legacy_to_18(number: str) -> str:
    """A 15-digit number has no check digit: insert the century and compute one."""
    body = number[:6] + "19" + number[6:]
    return body + ric.calc_check_digit(body + "0")


def parse_resident_id(raw: str, today: dt.date) -> ResidentId:
    """Validate ``raw`` and return the canonical 18-character number.

    Raises :class:`InvalidIdNumber` with the reason; never anything else.
    """
    number = normalise(raw)
    if not number:
        raise InvalidIdNumber(IdProblem.EMPTY)
    if len(number) > 18:
        # longer than any ID number: most likely a second number typed or scanned onto the first
        raise InvalidIdNumber(IdProblem.TOO_LONG)
    if not _ALLOWED.fullmatch(number):
        raise InvalidIdNumber(IdProblem.CHARACTERS)
    if len(number) not in (15, 18):
        raise InvalidIdNumber(IdProblem.LENGTH)
    if not _SHAPE.fullmatch(number):
        # right length, but an X that is not the last of 18 characters
        raise InvalidIdNumber(IdProblem.CHARACTERS)
    if len(number) == 15:
        number = _legacy_to_18(number)
    try:
        birth_date = ric.get_birth_date(number)
    except stdnum_errors.ValidationError:
        # the date is checked before the check digit: a wrong date is the likelier typo to name
        raise InvalidIdNumber(IdProblem.DATE) from None
    try:
        ric.validate(number)
    except stdnum_errors.InvalidChecksum:
        raise InvalidIdNumber(IdProblem.CHECKSUM) from None
    except stdnum_errors.InvalidComponent:
        raise InvalidIdNumber(IdProblem.REGION) from None
    except stdnum_errors.ValidationError:
        raise InvalidIdNumber(IdProblem.CHARACTERS) from None
    except (KeyError, ValueError, IndexError):
        # stdnum's region table raises KeyError for some codes it half-knows
        raise InvalidIdNumber(IdProblem.REGION) from None
    if birth_date > today:
        raise InvalidIdNumber(IdProblem.FUTURE)
    return ResidentId(number=number, birth_date=birth_date)


def mask_id_number(number: str) -> str:
    """Keep the first four and last four characters: enough to recognise, not to reuse."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    """张三 -> 张*, 张小三 -> 张*三, 欧阳小明 -> 欧**明; Latin names keep initials only."""
    name = (name or "").strip()
    if not name:
        return ""
    if " " in name:
        return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
