"""The simulator's fault switches: what a developer or a test makes the providers do wrong.

Gateway faults (one at a time, in ``gateway``): ``slow`` answers after ``slow_seconds`` (a
provider timeout, when longer than the app's), ``http500``, ``garbage`` (a 200 that is not the
protocol), ``bad_signature`` (answers signed with a key that is not the provider's).

Notification faults (any together, in ``notify``): ``delay`` (the first post waits
``notify_delay_seconds``), ``duplicate`` (an acknowledged notification is sent once more),
``reorder`` (a notification is held until the next one has gone, or ``notify_delay_seconds``),
``lose`` (never sent: the app must find the payment by asking), ``bad_signature`` (signed with
a stranger's key), ``wrong_amount`` (a fen more than the trade, properly signed).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

GATEWAY_FAULTS = ("slow", "http500", "garbage", "bad_signature")
NOTIFY_FAULTS = ("delay", "duplicate", "reorder", "lose", "bad_signature", "wrong_amount")


@dataclass
class Faults:
    gateway: str | None = None
    slow_seconds: float = 15.0
    notify: set[str] = field(default_factory=set)
    notify_delay_seconds: float = 5.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def set(self, *, gateway: str | None = None, notify=(), slow_seconds: float | None = None,
            notify_delay_seconds: float | None = None) -> None:
        """All switches at once (the developer page's form, a test): unknown names are refused."""
        if gateway not in (None, "", *GATEWAY_FAULTS):
            raise ValueError(f"unknown gateway fault {gateway!r}")
        unknown = set(notify) - set(NOTIFY_FAULTS)
        if unknown:
            raise ValueError(f"unknown notification faults {sorted(unknown)}")
        with self._lock:
            self.gateway = gateway or None
            self.notify = set(notify)
            if slow_seconds is not None:
                self.slow_seconds = max(0.0, float(slow_seconds))
            if notify_delay_seconds is not None:
                self.notify_delay_seconds = max(0.0, float(notify_delay_seconds))

    def clear(self) -> None:
        self.set()

    def has(self, name: str) -> bool:
        return name in self.notify
