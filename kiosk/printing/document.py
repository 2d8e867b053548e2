"""A receipt as plain data: a tuple of lines, each saying what it is, not how a printer draws it.

The column helpers measure text as a fixed-pitch printer lays it out: 48 columns on 80 mm paper
(font A, 12 dots a column), a Chinese character taking two.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal, Union

COLUMNS = 48
ALIGNMENTS = ("left", "center", "right")
# Wide and full-width characters take two columns; so do the ambiguous ones (·, ×, é, Greek),
# which a Chinese printer draws from its double-byte font.
_TWO_COLUMNS = frozenset("WFA")


@dataclass(frozen=True)
class Title:
    """Centred, bold, double height."""
    text: str


@dataclass(frozen=True)
class Text:
    text: str
    align: Literal["left", "center", "right"] = "left"

    def __post_init__(self):
        if self.align not in ALIGNMENTS:
            raise ValueError(f"align must be one of {ALIGNMENTS}, not {self.align!r}")


@dataclass(frozen=True)
class Pair:
    """A label on the left and its value ending at the last column."""
    label: str
    value: str


@dataclass(frozen=True)
class Rule:
    """A line of dashes across the paper."""


@dataclass(frozen=True)
class Qr:
    payload: str


@dataclass(frozen=True)
class Feed:
    lines: int = 1

    def __post_init__(self):
        if self.lines < 0:
            raise ValueError("a feed cannot be negative")


Line = Union[Title, Text, Pair, Rule, Qr, Feed]


@dataclass(frozen=True)
class Document:
    lines: tuple[Line, ...]

    def __post_init__(self):
        object.__setattr__(self, "lines", tuple(self.lines))


def char_width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in _TWO_COLUMNS else 1


def display_width(text: str) -> int:
    """Columns ``text`` takes on a fixed-pitch printer."""
    return sum(char_width(char) for char in text)


def wrap(text: str, columns: int = COLUMNS) -> list[str]:
    """Cut ``text`` into lines of at most ``columns``; a two-column character is never split."""
    lines, current, used = [], "", 0
    for char in text:
        width = char_width(char)
        if current and used + width > columns:
            lines.append(current)
            current, used = "", 0
        current += char
        used += width
    lines.append(current)
    return lines


def pair_lines(label: str, value: str, columns: int = COLUMNS) -> list[str]:
    """Lay out a label and a value: the value ends at the last column, on the label's last line if
    it fits there (with at least one space between them), else on a line of its own."""
    lines = wrap(label, columns) if label else []
    *value_head, value_tail = wrap(value, columns)
    tail_width = display_width(value_tail)
    if not value_head and lines and display_width(lines[-1]) + 1 + tail_width <= columns:
        last = lines.pop()
        return [*lines, last + " " * (columns - display_width(last) - tail_width) + value_tail]
    return [*lines, *value_head, " " * (columns - tail_width) + value_tail]
