"""One-time codes sent by SMS before a citizen's payment records are shown (issue 9; seed 001's
social-insurance website does the same): the rules, no flask, no database.

- A code is 6 digits, valid for 5 minutes, and allows 5 tries; then it is spent.
- Only a keyed hash of it is kept (HMAC-SHA256 with a server secret, bound to the challenge), so
  the database does not hold codes that could be read back.
- Sending is limited per person and per terminal (``may_send``): a terminal cannot flood a
  person's phone, and nobody can try the whole code space by asking for new codes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum

CODE_DIGITS = 6
VALID_FOR = dt.timedelta(minutes=5)
MAX_TRIES = 5
# at most this many codes sent in the window: to one person, and from one terminal
PER_PERSON = (3, dt.timedelta(minutes=15))
PER_TERMINAL = (20, dt.timedelta(hours=1))


def new_code(random_below=secrets.randbelow) -> str:
    return f"{random_below(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(secret: bytes, challenge_id: int, code: str) -> str:
    """What is kept of a code: bound to its challenge, so one hash never fits another."""
    return hmac.new(secret, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()


class Verdict(str, Enum):
    OK = "ok"
    WRONG = "wrong"  # a try used; tries are left
    SPENT = "spent"  # no tries left (this one was the last, or they were used up before)
    EXPIRED = "expired"
    MALFORMED = "malformed"  # not 6 digits: no try used


@dataclass(frozen=True)
class Challenge:
    """A code sent: when, how many tries are used, whether it was used."""

    id: int
    code_hash: str
    sent_at: dt.datetime
    tries: int = 0
    used: bool = False


def judge(secret: bytes, challenge: Challenge, typed: str, now: dt.datetime) -> Verdict:
    """What a typed code is worth. A wrong code costs a try; the caller records it (a
    compare-and-set on the tries, so two racing guesses cannot both be the fifth)."""
    code = "".join(character for character in (typed or "") if not character.isspace())
    if len(code) != CODE_DIGITS or not code.isdigit():
        return Verdict.MALFORMED
    if challenge.used or challenge.tries >= MAX_TRIES:
        return Verdict.SPENT
    if now - challenge.sent_at > VALID_FOR:
        return Verdict.EXPIRED
    if hmac.compare_digest(code_hash(secret, challenge.id, code), challenge.code_hash):
        return Verdict.OK
    return Verdict.SPENT if challenge.tries + 1 >= MAX_TRIES else Verdict.WRONG


def may_send(sent_to_person: list[dt.datetime], sent_from_terminal: list[dt.datetime], now: dt.datetime) -> dt.datetime | None:
    """None when a code may be sent now; else the moment the first limit reached lets go."""
    waits = []
    for times, (limit, window) in ((sent_to_person, PER_PERSON), (sent_from_terminal, PER_TERMINAL)):
        recent = sorted(moment for moment in times if now - moment < window)
        if len(recent) >= limit:
            waits.append(recent[len(recent) - limit] + window)
    return max(waits) if waits else None
