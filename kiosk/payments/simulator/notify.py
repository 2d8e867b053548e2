"""Posting a provider's notifications to the merchant's notify_url, as the providers do: in the
background, again and again until the merchant acknowledges, with the fault switches applied.

Real Alipay retries over 25 hours (4m, 10m, 10m, 1h, 2h, 6h, 15h) and WeChat Pay over 24 hours;
the simulator keeps their behaviour on a short schedule so a demo sees it happen.
"""
from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from .faults import Faults

log = logging.getLogger(__name__)

RETRY_SCHEDULE = (0, 1, 2, 5, 10, 30, 60)  # seconds before each post


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass
class Delivery:
    """One notification and what became of it (the developer page lists them)."""

    provider: str
    out_trade_no: str
    url: str
    body: bytes
    headers: dict[str, str]
    acknowledged: Callable[[int, bytes], bool]
    attempts: list[int | str] = field(default_factory=list)  # HTTP status of each post, or the error
    state: str = "pending"  # pending, held, acknowledged, given_up, lost
    fault: str = ""


class Notifier:
    def __init__(self, faults: Faults | None = None, *, post=http_post, schedule=RETRY_SCHEDULE):
        self.faults = faults or Faults()
        self.post = post
        self.schedule = tuple(schedule)
        self.deliveries: list[Delivery] = []
        self._held: list[Delivery] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running = 0

    def send(self, provider: str, out_trade_no: str, url: str, body: bytes, headers: dict[str, str],
             acknowledged: Callable[[int, bytes], bool]) -> Delivery:
        delivery = Delivery(provider, out_trade_no, url, body, headers, acknowledged)
        release: list[Delivery] = []
        with self._lock:
            self.deliveries.append(delivery)
            del self.deliveries[:-200]  # the newest are enough for the page
            if self.faults.has("lose"):
                delivery.state, delivery.fault = "lost", "lose"
                return delivery
            if self.faults.has("reorder") and not self._held:
                delivery.state, delivery.fault = "held", "reorder"
                self._held.append(delivery)
                timer = threading.Timer(self.faults.notify_delay_seconds, self._release, args=(delivery,))
                timer.daemon = True
                timer.start()
                return delivery
            release, self._held = self._held, []
        self._start(delivery, delay=self.faults.notify_delay_seconds if self.faults.has("delay") else 0)
        for held in release:  # the one held back goes after the newer one
            self._start(held, delay=0.2)
        return delivery

    def _release(self, delivery: Delivery) -> None:
        with self._lock:
            if delivery not in self._held:
                return
            self._held.remove(delivery)
        self._start(delivery, delay=0)

    def _start(self, delivery: Delivery, delay: float) -> None:
        with self._lock:
            self._running += 1
            delivery.state = "pending"
        duplicate = self.faults.has("duplicate")
        threading.Thread(target=self._deliver, args=(delivery, delay, duplicate), daemon=True,
                         name=f"simulator-notify-{delivery.provider}").start()

    def _deliver(self, delivery: Delivery, delay: float, duplicate: bool) -> None:
        try:
            time.sleep(delay)
            for wait in self.schedule:
                time.sleep(wait)
                if self._post_once(delivery):
                    delivery.state = "acknowledged"
                    if duplicate:
                        delivery.fault = "duplicate"
                        self._post_once(delivery)  # the same notification again, as providers do
                    return
            delivery.state = "given_up"
        finally:
            with self._lock:
                self._running -= 1
                self._idle.notify_all()

    def _post_once(self, delivery: Delivery) -> bool:
        try:
            status, text = self.post(delivery.url, delivery.body, delivery.headers)
        except OSError as error:
            log.warning("simulator: notification to the merchant failed: %s", error.__class__.__name__)
            delivery.attempts.append(error.__class__.__name__)
            return False
        delivery.attempts.append(status)
        return delivery.acknowledged(status, text)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until no notification is being posted (tests; held ones are not waited for)."""
        with self._lock:
            return self._idle.wait_for(lambda: self._running == 0, timeout)
