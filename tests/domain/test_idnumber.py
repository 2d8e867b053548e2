"""The ID wrapper: every class of invalid number gets its own reason; nothing else escapes."""
import datetime as dt

import pytest

from kiosk.domain.idnumber import IdProblem, InvalidIdNumber, mask_id_number, mask_name, normalise, parse_resident_id

TODAY = dt.date(2026, 11, 22)
VALID = "11010519491231002X"  # the GB 11643 example number


def problem(raw: str) -> IdProblem:
    with pytest.raises(InvalidIdNumber) as caught:
        parse_resident_id(raw, TODAY)
    return caught.value.problem


def test_a_valid_number_is_accepted_with_its_birth_date_and_sex():
    resident = parse_resident_id(VALID, TODAY)
    assert resident.number == VALID
    assert resident.birth_date == dt.date(1949, 12, 31)
    assert not resident.is_male  # sequence 002 is even


@pytest.mark.parametrize("typed", [
    "11010519491231002x",  # lower-case x from a keyboard
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and full-width X from an IME
    " 110105 19491231 002X ",  # spaces inside and around
    "110105-19491231-002X",  # hyphens some scanners add
    "110105\u300019491231002X",  # ideographic space
])
def test_what_people_and_scanners_type_is_normalised(typed):
    assert parse_resident_id(typed, TODAY).number == VALID


def test_a_legacy_15_digit_number_becomes_its_18_digit_form():
    assert parse_resident_id("110105530101123", TODAY).number == "110105195301011236"


@pytest.mark.parametrize("raw, reason", [
    ("", IdProblem.EMPTY),
    ("   ", IdProblem.EMPTY),
    ("11010519491231002A", IdProblem.CHARACTERS),
    ("1101051949123100X2", IdProblem.CHARACTERS),  # X only as the last of 18
    ("11010519491231X", IdProblem.CHARACTERS),  # no X in a 15-digit number
    ("1101051949123100", IdProblem.LENGTH),
    ("1101051949123100211", IdProblem.TOO_LONG),
    ("110105194912310021110105", IdProblem.TOO_LONG),  # a second scan added to the first: 24 characters
    ("11010519491231002A110105", IdProblem.TOO_LONG),
    ("110105194912310021", IdProblem.CHECKSUM),
    ("110105194902300020", IdProblem.DATE),  # 30 February
    ("110105194913310026", IdProblem.DATE),  # month 13
    ("990105194912310023", IdProblem.REGION),  # no such region, check digit right
    ("11000119900101001X", IdProblem.REGION),  # stdnum raises KeyError for this one
])
def test_each_invalid_number_gets_one_clear_reason(raw, reason):
    assert problem(raw) is reason


def test_the_region_and_check_digit_cases_are_what_the_table_says():
    # guard the fixtures above: a region typo must not hide behind a checksum error
    from stdnum.cn import ric

    body = "99010519491231002"
    assert ric.calc_check_digit(body + "0") == "3"


def test_a_birth_date_after_today_is_refused():
    from stdnum.cn import ric

    body = "11010520301231002"
    number = body + ric.calc_check_digit(body + "0")
    assert ric.is_valid(number)  # the library itself would accept it
    assert problem(number) is IdProblem.FUTURE


def test_normalise_keeps_what_it_cannot_fix_for_the_error_message():
    assert normalise("ab c") == "ABC"


@pytest.mark.parametrize("name, masked", [("张三", "张*"), ("张小三", "张*三"), ("欧阳小明", "欧**明"), ("李", "李"), ("Wang Li", "W*** L*"), ("", "")])
def test_names_are_masked(name, masked):
    assert mask_name(name) == masked


def test_id_numbers_are_masked_to_first_and_last_four():
    masked = mask_id_number(VALID)
    assert masked == "1101**********002X"
    assert "19491231" not in masked
