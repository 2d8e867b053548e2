"""The simulator's notifier: posts until acknowledged, as the providers do, with its fault switches."""
from __future__ import annotations

import threading

import pytest

from kiosk.payments.simulator import Faults, Notifier


class Merchant:
    """A notify URL that answers from a script of statuses, and remembers what reached it, in order."""

    def __init__(self, *answers: int):
        self.answers, self.received, self.lock = list(answers), [], threading.Lock()

    def __call__(self, url, body, headers):
        with self.lock:
            self.received.append(body)
            status = self.answers.pop(0) if self.answers else 200
        return status, b"success" if status == 200 else b"failure"


def notifier(merchant, **faults) -> Notifier:
    switches = Faults()
    switches.set(**faults)
    return Notifier(switches, post=merchant, schedule=(0, 0.01, 0.01, 0.01))


def send(notifier, body: bytes):
    return notifier.send("alipay", "K1", "http://127.0.0.1:9/notify", body, {}, lambda status, text: status == 200 and text == b"success")


def test_a_notification_is_retried_until_it_is_acknowledged_then_never_again():
    merchant = Merchant(503, 400, 200)
    sender = notifier(merchant)
    delivery = send(sender, b"paid")
    assert sender.wait_idle(10)
    assert (delivery.state, delivery.attempts, merchant.received) == ("acknowledged", [503, 400, 200], [b"paid"] * 3)


def test_a_notification_never_acknowledged_is_given_up_after_the_schedule():
    merchant = Merchant(*[500] * 10)
    sender = notifier(merchant)
    delivery = send(sender, b"paid")
    assert sender.wait_idle(10)
    assert delivery.state == "given_up" and len(delivery.attempts) == 4


def test_reordered_notifications_arrive_newest_first():
    merchant = Merchant()
    sender = notifier(merchant, notify={"reorder"}, notify_delay_seconds=60)
    first = send(sender, b"first")
    assert first.state == "held" and merchant.received == []
    send(sender, b"second")
    assert sender.wait_idle(10)
    assert merchant.received == [b"second", b"first"]


def test_a_duplicated_notification_is_sent_again_after_its_acknowledgement_and_a_lost_one_never():
    merchant = Merchant()
    sender = notifier(merchant, notify={"duplicate"})
    send(sender, b"paid")
    assert sender.wait_idle(10)
    assert merchant.received == [b"paid", b"paid"]
    sender.faults.set(notify={"lose"})
    assert send(sender, b"gone").state == "lost"
    assert sender.wait_idle(10) and merchant.received == [b"paid", b"paid"]


def test_unknown_switches_are_refused_and_change_nothing():
    faults = Faults()
    faults.set(gateway="slow", notify={"delay"})
    for bad in ({"gateway": "explode"}, {"notify": {"fire"}}):
        with pytest.raises(ValueError):
            faults.set(**bad)
    assert (faults.gateway, faults.notify) == ("slow", {"delay"})
