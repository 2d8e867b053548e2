"""Verification codes for receipts and certificates (issue 9): printed as a QR code, opened at
``/verify/<code>`` on anyone's phone (no flask, no database).

A code is a random serial (80 bits: it cannot be guessed or enumerated) and a keyed tag over the
kind and the serial (HMAC-SHA256 with a server secret, 64 bits kept): a code changed in any
character no longer verifies, and a code cannot be made without the secret. The serial is what
the database looks up; the tag is checked first, so a forged or mistyped code costs no read.
Written in Crockford's base 32 (no I, L, O, U), case and hyphens ignored, so that it can also be
typed from the paper.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import Enum

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {character: value for value, character in enumerate(ALPHABET)}
# what people misread: O for 0, I and L for 1
_DECODE.update({"O": 0, "I": 1, "L": 1})
SERIAL_BYTES = 10  # 80 bits, 16 characters
TAG_BYTES = 8  # 64 bits, 13 characters (the last one carries 1 bit of padding)


class Kind(str, Enum):
    RECEIPT = "R"
    CERTIFICATE = "C"


def _encode(data: bytes) -> str:
    number, bits = int.from_bytes(data, "big"), len(data) * 8
    length = -(-bits // 5)
    number <<= length * 5 - bits
    return "".join(ALPHABET[(number >> (5 * (length - 1 - i))) & 31] for i in range(length))


def _decode(text: str, size: int) -> bytes | None:
    bits, length = size * 8, -(-size * 8 // 5)
    if len(text) != length or any(character not in _DECODE for character in text):
        return None
    number = 0
    for character in text:
        number = number * 32 + _DECODE[character]
    padding = length * 5 - bits
    if number & ((1 << padding) - 1):
        return None  # the padding bits must be zero: one text per code
    return (number >> padding).to_bytes(size, "big")


def _tag(secret: bytes, kind: Kind, serial: bytes) -> bytes:
    return hmac.new(secret, kind.value.encode() + serial, hashlib.sha256).digest()[:TAG_BYTES]


def new_serial(random_bytes=secrets.token_bytes) -> str:
    """A fresh serial to store (the tag needs the key; the serial does not)."""
    return _encode(random_bytes(SERIAL_BYTES))


def code_of(secret: bytes, kind: Kind, serial: str) -> str:
    """The code to print for a stored serial."""
    raw = _decode(serial, SERIAL_BYTES)
    if raw is None:
        raise ValueError("not a serial of this module")
    return kind.value + serial + _encode(_tag(secret, kind, raw))


def new_code(secret: bytes, kind: Kind, random_bytes=secrets.token_bytes) -> tuple[str, str]:
    """A fresh code: (the code to print, its serial to store)."""
    serial = new_serial(random_bytes)
    return code_of(secret, kind, serial), serial


def normalise(typed: str) -> str:
    return "".join(character for character in (typed or "").upper() if character.isalnum())


def check(secret: bytes, typed: str) -> tuple[Kind, str] | None:
    """(kind, serial) of a genuine code, or None for anything altered, forged or malformed."""
    code = normalise(typed)
    if not code:
        return None
    try:
        kind = Kind(code[0])
    except ValueError:
        return None
    serial_length = -(-SERIAL_BYTES * 8 // 5)
    serial = _decode(code[1:1 + serial_length], SERIAL_BYTES)
    tag = _decode(code[1 + serial_length:], TAG_BYTES)
    if serial is None or tag is None or not hmac.compare_digest(tag, _tag(secret, kind, serial)):
        return None
    return kind, _encode(serial)
