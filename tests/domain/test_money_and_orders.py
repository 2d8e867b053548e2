import datetime as dt

import pytest

from kiosk.domain.money import apply_rate, yuan
from kiosk.domain.orders import OrderStatus, receipt_number, sources_of


@pytest.mark.parametrize("fen, text", [(0, "0.00"), (5, "0.05"), (40000, "400.00"), (136688, "1,366.88"), (-150, "-1.50")])
def test_fen_are_shown_as_yuan(fen, text):
    assert yuan(fen) == text


def test_rates_round_half_up_to_the_fen_or_the_yuan():
    assert apply_rate(229900, 700, rounding="yuan") == 16100  # 160.93 -> 161 yuan
    assert apply_rate(229900, 700, rounding="fen") == 16093
    assert apply_rate(50, 5000) == 25
    assert apply_rate(1, 5000) == 1  # 0.5 fen rounds up
    with pytest.raises(ValueError):
        apply_rate(1, 1, rounding="jiao")


def test_paid_can_follow_every_unpaid_state_but_nothing_follows_paid():
    assert sources_of(OrderStatus.PAID) == {OrderStatus.PENDING, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FAILED}
    assert sources_of(OrderStatus.CANCELLED) == {OrderStatus.PENDING}
    assert not OrderStatus.PENDING.finished and OrderStatus.PAID.finished


def test_receipt_numbers_are_unique_per_order_and_dated_locally():
    assert receipt_number(dt.datetime(2026, 11, 22, 9, 30), 42) == "R2026112200000042"
    assert receipt_number(dt.datetime(2026, 11, 22), 1) != receipt_number(dt.datetime(2026, 11, 22), 2)
