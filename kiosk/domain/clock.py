"""Times are stored as naive UTC and shown in Asia/Shanghai; premium periods are local dates."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def utcnow() -> dt.datetime:
    """Naive UTC, the one form every timestamp column holds (SQLite keeps no zone)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def to_local(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(LOCAL_ZONE)


def local_today(now: dt.datetime) -> dt.date:
    return to_local(now).date()


def day_start_utc(day: dt.date) -> dt.datetime:
    """The first moment of a local date, as the naive UTC the columns hold."""
    return dt.datetime.combine(day, dt.time(), LOCAL_ZONE).astimezone(dt.timezone.utc).replace(tzinfo=None)
