"""Money is integer fen everywhere; these helpers only convert at the edges."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

_YUAN = re.compile(r"(-?)(0|[1-9][0-9]*)\.([0-9]{2})", re.ASCII)


def yuan(fen: int) -> str:
    """12345 -> '123.45' (no currency sign: templates add it in the person's language)."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def apply_rate(base_fen: int, rate_per_10000: int, *, rounding: str = "fen") -> int:
    """base x rate (in 1/10000), rounded half-up to the fen or to the whole yuan.

    Rounding is a property of a rule, so it is passed in, never assumed.
    """
    exact = Decimal(base_fen) * Decimal(rate_per_10000) / Decimal(10000)
    if rounding == "yuan":
        return int((exact / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 100
    if rounding == "fen":
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    raise ValueError(f"unknown rounding {rounding!r}")


def fen_of_yuan(text: str, *, signed: bool = False) -> int:
    """"123.45" -> 12345, exactly, as payment providers write amounts; anything else (no two
    decimals, spaces, exponents, a sign unless ``signed``) raises ValueError. Never a float."""
    match = _YUAN.fullmatch(text) if isinstance(text, str) else None
    if match is None or (match.group(1) and not signed):
        raise ValueError("not an amount in yuan with two decimals")
    fen = int(match.group(2)) * 100 + int(match.group(3))
    return -fen if match.group(1) else fen


def yuan_of_fen(fen: int) -> str:
    """12345 -> "123.45", as payment providers want amounts (no thousands separator, no sign)."""
    if not isinstance(fen, int) or isinstance(fen, bool) or fen < 0:
        raise ValueError("an amount in fen is a non-negative integer")
    return f"{fen // 100}.{fen % 100:02d}"


def plain_yuan(fen: int) -> str:
    """-12345 -> "-123.45": signed, no thousands separator (CSV exports)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(int(fen)) // 100}.{abs(int(fen)) % 100:02d}"
