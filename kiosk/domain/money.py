"""Money is integer fen everywhere; these helpers only convert at the edges."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


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
