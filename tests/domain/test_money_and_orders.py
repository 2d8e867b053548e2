import datetime as dt

import pytest

from kiosk.domain.money import apply_rate, yuan
from kiosk.domain.orders import TRANSITIONS, IllegalTransition, OrderStatus, Source, from_states, may, receipt_number


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


S = OrderStatus
EVERY_PAIR = [(current, target) for current in S for target in S if current is not target]


@pytest.mark.parametrize("source", list(Source))
def test_a_trade_the_provider_refunded_never_settles_bills_whoever_asks(source):
    assert not may(source, S.REFUNDED, S.PAID)
    assert all(not may(source, S.REFUNDED, target) for target in S)  # REFUNDED is final


@pytest.mark.parametrize("source", [Source.NOTIFY, Source.POLL, Source.STAFF, Source.CHECKOUT])
def test_while_an_order_is_closing_only_its_closer_decides(source):
    """The cancel may be about to give a payment back: no notification or poll records it meanwhile."""
    assert [target for target in S if may(source, S.CLOSING, target)] == []


@pytest.mark.parametrize("closer, ending", [(Source.CANCEL, S.CANCELLED), (Source.EXPIRY, S.EXPIRED)])
def test_a_closer_claims_the_order_first_and_then_ends_it_paid_refunded_or_closed(closer, ending):
    assert not may(closer, S.PENDING, ending)  # never straight from PENDING: claim first
    assert may(closer, S.PENDING, S.CLOSING)
    assert {target for target in S if may(closer, S.CLOSING, target)} == {S.PAID, S.REFUNDED, ending}


def test_recorders_record_a_payment_of_a_pending_order_or_a_late_one_of_an_order_closed_unpaid():
    for recorder in (Source.NOTIFY, Source.POLL, Source.RECONCILE):
        assert from_states(recorder, S.PAID) >= {S.PENDING, S.CANCELLED, S.EXPIRED, S.FAILED}
        assert S.REFUNDED not in from_states(recorder, S.PAID)
    assert from_states(Source.NOTIFY, S.PAID) == {S.PENDING, S.CANCELLED, S.EXPIRED, S.FAILED}


def test_only_the_sweep_takes_over_a_close_whose_closer_died_or_closes_a_trade_left_open_again():
    for state in (S.CANCELLED, S.EXPIRED, S.FAILED):
        assert {source for source in Source if may(source, state, S.CLOSING)} == {Source.SWEEP_CLOSE}
    assert {target for target in S if may(Source.SWEEP_CLOSE, S.CLOSING, target)} == {S.PAID, S.REFUNDED, S.CANCELLED, S.EXPIRED, S.FAILED}


def test_the_sweep_asking_about_an_order_is_a_recorder_and_never_ends_a_close_a_live_closer_claimed():
    """The sweep read an order as pending, a closer claimed it, and the sweep's question found it
    paid: recording it then would settle money the closer's cancel was about to refund."""
    assert [target for target in S if may(Source.RECONCILE, S.CLOSING, target)] == []
    assert not may(Source.RECONCILE, S.PENDING, S.CLOSING)


def test_the_refund_service_only_ever_moves_a_paid_order_to_refunded():
    """Once all the money is back: never a pending or closing order, never out of REFUNDED."""
    assert {(current, target) for current, target in EVERY_PAIR if may(Source.REFUND, current, target)} == {(S.PAID, S.REFUNDED)}
    assert from_states(Source.REFUND, S.REFUNDED) == {S.PAID}
    assert may(Source.STAFF, S.PAID, S.REFUNDED)


@pytest.mark.parametrize("current, target", EVERY_PAIR)
def test_every_move_in_the_table_is_between_two_states_and_has_a_reason(current, target):
    sources = TRANSITIONS.get((current, target), frozenset())
    for source in Source:
        assert may(source, current, target) == (source in sources)
        if source in sources:
            assert current in from_states(source, target)


def test_a_move_no_source_may_make_is_a_bug_not_a_race():
    with pytest.raises(IllegalTransition):
        from_states(Source.NOTIFY, S.CANCELLED)
    with pytest.raises(IllegalTransition):
        from_states(Source.POLL, S.REFUNDED)


def test_only_pending_and_closing_orders_are_unfinished():
    assert {state for state in S if not state.finished} == {S.PENDING, S.CLOSING}


def test_receipt_numbers_are_unique_per_order_and_dated_locally():
    assert receipt_number(dt.datetime(2026, 11, 22, 9, 30), 42) == "R2026112200000042"
    assert receipt_number(dt.datetime(2026, 11, 22), 1) != receipt_number(dt.datetime(2026, 11, 22), 2)


@pytest.mark.parametrize("text, fen", [("0.01", 1), ("123.45", 12345), ("1366.88", 136688)])
def test_provider_amounts_in_yuan_become_exact_fen_and_back(text, fen):
    from kiosk.domain.money import fen_of_yuan, yuan_of_fen

    assert fen_of_yuan(text) == fen and yuan_of_fen(fen) == text


@pytest.mark.parametrize("text", ["1", "1.5", "1.234", " 1.00", "1e2", "01.00", "-1.00", "１.００", "", None])
def test_an_amount_a_provider_would_not_write_is_refused_never_guessed(text):
    from kiosk.domain.money import fen_of_yuan

    with pytest.raises(ValueError):
        fen_of_yuan(text)
