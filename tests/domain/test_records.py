"""Payment records and certificates as plain values (issue 9)."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.records import PaidPeriod, by_year_and_scheme, certificate_group, mask_phone, names_match

PAID_AT = dt.datetime(2026, 11, 30, 2, 0)


def period(scheme: str, year: int, month: int, fen: int, **overrides) -> PaidPeriod:
    start = dt.date(year, month, 1)
    annual = scheme == "resident_medical"
    end = dt.date(year, 12, 31) if annual else (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1))
    values = dict(scheme=scheme, period_start=start, period_end=end, amount_fen=fen, paid_at=PAID_AT, provider="alipay",
                  at_counter=False, from_statement=False, receipt_id=1, receipt_number="R1", paid_by_other=False)
    values.update(overrides)
    return PaidPeriod(**values)


def test_records_group_by_year_newest_first_then_the_persons_schemes():
    periods = [period("flexible_medical", 2025, 11, 35000), period("flexible_pension", 2026, 1, 80000),
               period("flexible_medical", 2026, 2, 35000), period("flexible_medical", 2026, 1, 35000)]
    groups = by_year_and_scheme(periods, ["flexible_medical", "flexible_pension"])
    assert [(group.year, group.scheme) for group in groups] == [
        (2026, "flexible_medical"), (2026, "flexible_pension"), (2025, "flexible_medical")]
    assert [p.period_start.month for p in groups[0].periods] == [1, 2]  # in time order
    assert (groups[0].total_fen, groups[0].months) == (70000, 2)


def test_an_annual_scheme_counts_twelve_months():
    group = certificate_group([period("resident_medical", 2027, 1, 40000)], 2027, "resident_medical")
    assert (group.months, group.total_fen, group.first_month, group.last_day) == (12, 40000, dt.date(2027, 1, 1), dt.date(2027, 12, 31))


def test_nothing_paid_for_a_year_and_scheme_is_no_certificate():
    assert certificate_group([period("flexible_medical", 2026, 1, 35000)], 2025, "flexible_medical") is None
    assert certificate_group([period("flexible_medical", 2026, 1, 35000)], 2026, "flexible_pension") is None


@given(st.lists(st.tuples(st.sampled_from(["flexible_medical", "flexible_pension"]), st.integers(2020, 2027),
                          st.integers(1, 12), st.integers(0, 10**7)), max_size=40))
def test_a_certificate_states_exactly_the_payments_of_its_year_and_scheme(rows):
    periods = [period(scheme, year, month, fen) for scheme, year, month, fen in rows]
    for year in range(2020, 2028):
        for scheme in ("flexible_medical", "flexible_pension"):
            mine = [fen for s, y, _, fen in rows if (s, y) == (scheme, year)]
            group = certificate_group(periods, year, scheme)
            assert (group is None) == (not mine)
            if group is not None:
                assert group.total_fen == sum(mine) and group.months == len(mine) and len(group.periods) == len(mine)
    # the records' groups cover every payment once
    assert sum(group.total_fen for group in by_year_and_scheme(periods)) == sum(fen for *_, fen in rows)


def test_phones_are_masked_to_their_first_three_and_last_four_digits():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone(None) == ""


def test_a_readers_name_matches_despite_padding_and_the_middle_dot():
    assert names_match(" 孙丽 ", "孙丽")
    assert names_match("买买提·艾力", "买买提艾力")
    assert names_match("ＡＢＣ", "ABC")  # full width from a reader
    assert not names_match("", "孙丽")
    assert not names_match("孙 丽丽", "孙丽")


def test_a_mobile_number_as_typed_at_the_counter():
    import pytest

    from kiosk.domain.records import NotAPhone, normalise_phone

    assert normalise_phone("138 0013 8000") == "13800138000"
    assert normalise_phone("+86 139-0000-1234") == "13900001234"
    assert normalise_phone("008613900001234") == "13900001234"
    assert normalise_phone("１３９００００１２３４") == "13900001234"  # full-width digits, as some keyboards type them
    for typed in ("", "1380013800", "138001380001", "12800138000", "23800138000", "1380013800x", None):
        with pytest.raises(NotAPhone):
            normalise_phone(typed)
