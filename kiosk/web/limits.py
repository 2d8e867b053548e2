"""Limits on looking ID numbers up (issue 5: one session scanned all 1,000 numbers of a birth
date in about 9 s and learned names, schemes and welfare categories).

Every look-up counts per visit and per terminal; not-found answers count again, apart, so a
scan slows to a crawl while a citizen who finds themselves never notices. The keys are the
server-side visit and the terminal, never the ID number, and Flask-Limiter logs only keys.
Starting a new visit for each number escapes the visit's limits, not the terminal's.
The limits are settings (``config/settings.py`` ``LOOKUP_LIMITS``), read at each request.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, g

from ..extensions import limiter


def _visit() -> str:
    # a SQLite id may come back after its visit is deleted: the start time tells two visits apart
    return f"{g.visit.id}@{g.visit.created_at:%Y%m%d%H%M%S%f}"


def _terminal() -> str:
    return str(g.visit.terminal_id)


def note_not_found() -> None:
    """The look-up found nobody: the not-found limits count this request."""
    g.person_not_found = True


def _not_found(response) -> bool:
    return bool(g.get("person_not_found"))


def _setting(name: str):
    return lambda: current_app.config[name]


# every view that looks an ID number up (identify, a card read on the attract screen, and adding a
# family member) counts against the same limits: a second keypad must not double what a scan may try
SCOPE = "look-up"


def look_up(view):
    """Limit ``view`` (after ``needs_visit``, which loads the visit the keys come from); ``view``
    may also be a function a view calls once it has loaded the visit."""
    limits = (
        limiter.shared_limit(_setting("LOOKUP_LIMIT_PER_VISIT"), SCOPE, key_func=lambda: f"visit:{_visit()}"),
        limiter.shared_limit(_setting("LOOKUP_LIMIT_PER_TERMINAL"), SCOPE, key_func=lambda: f"terminal:{_terminal()}"),
        # tested before the look-up, counted after it only if it found nobody
        limiter.shared_limit(_setting("NOT_FOUND_LIMIT_PER_VISIT"), SCOPE, key_func=lambda: f"visit-miss:{_visit()}",
                             deduct_when=_not_found),
        limiter.shared_limit(_setting("NOT_FOUND_LIMIT_PER_TERMINAL"), SCOPE, key_func=lambda: f"terminal-miss:{_terminal()}",
                             deduct_when=_not_found),
    )
    for limit in limits:
        view = limit(view)
    return view


def refused_until() -> dt.datetime:
    """When the longest of this request's refusals ends (naive UTC)."""
    ends = [request_limit.reset_at for request_limit in limiter.current_limits if request_limit.breached]
    return dt.datetime.fromtimestamp(max(ends, default=0), dt.timezone.utc).replace(tzinfo=None)
