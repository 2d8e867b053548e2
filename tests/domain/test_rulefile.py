"""Rule files: every field checked, each problem naming file, field and reason; windows as dates
of the coverage year; late enrolment's waiting period; seed 001 from the demo file's rule."""
import datetime as dt
import json
from pathlib import Path

import pytest

from kiosk.domain.premiums import (Category, Enrolment, PremiumRule, Scheme, dues_for, employee_contribution_under,
                                   next_window, waiting_period_months)
from kiosk.domain.rulefile import RuleFileError, check_together, checksum_version, parse_rule_file

DEMO_FILE = Path(__file__).resolve().parents[2] / "config" / "rules" / "demo-region.json"
REGION = {"code": "110105", "name": "演示区", "agency_name": "演示区医疗保障局"}
RESIDENT = {"scheme": "resident_medical", "valid_from": "2024-01-01", "flat_fen": 40000,
            "subsidy_percent": {"minimum_living": 70, "extreme_poverty": 100, "orphan": 100}}
FLEX = {"scheme": "flexible_medical", "valid_from": "2024-01-01", "rate_per_10000": 900,
        "base_floor_fen": 400000, "base_cap_fen": 2000000, "late_fee_per_10000_per_day": 5}


def text_of(*rules, **top) -> str:
    return json.dumps({"region": REGION, "rules": list(rules), **top})


def problems(*rules, **top) -> list[str]:
    with pytest.raises(RuleFileError) as refused:
        parse_rule_file("r.json", text_of(*rules, **top))
    return [str(problem) for problem in refused.value.problems]


def test_the_demo_file_is_valid_and_its_version_is_its_checksum():
    text = DEMO_FILE.read_text(encoding="utf-8")
    parsed = parse_rule_file(DEMO_FILE.name, text)
    assert parsed.region.code == "110105" and parsed.version == checksum_version(text)
    assert {rule.scheme for rule in parsed.rules} == set(Scheme)


def test_an_explicit_version_is_kept():
    assert parse_rule_file("r.json", text_of(RESIDENT, version="2027-1")).version == "2027-1"


def test_seed_001_examples_come_out_of_the_demo_files_employee_rule():
    (rule,) = [r for r in parse_rule_file(DEMO_FILE.name, DEMO_FILE.read_text(encoding="utf-8")).rules
               if r.scheme is Scheme.EMPLOYEE_MEDICAL]
    wage_3000 = employee_contribution_under(300000, rule)
    assert (wage_3000.employer_fen, wage_3000.supplementary_fen, wage_3000.individual_fen) == (21000, 3600, 6000)
    wage_2000 = employee_contribution_under(200000, rule)
    assert wage_2000.base_fen == 229900
    assert (wage_2000.employer_fen, wage_2000.individual_fen) == (16100, 4600)
    assert employee_contribution_under(9_000_000, rule).base_fen == rule.base_cap_fen


@pytest.mark.parametrize("change, where, reason", [
    ({"flat_fen": -1}, "rules[0].flat_fen", "cannot be negative"),
    ({"flat_fen": 400.5}, "rules[0].flat_fen", "whole number"),
    ({"flat_fen": "40000"}, "rules[0].flat_fen", "whole number"),
    ({"flat_fen": True}, "rules[0].flat_fen", "whole number"),
    ({"rate_per_10000": 10001}, "rules[0].rate_per_10000", "at most 10000"),
    # beyond an INTEGER column: SQLite stored it, PostgreSQL failed the whole load with a traceback
    ({"flat_fen": 2**31}, "rules[0].flat_fen", "largest number a rule may hold is 2147483647"),
    ({"waiting_months": 10**15}, "rules[0].waiting_months", "largest number"),
    ({"rounding": "jiao"}, "rules[0].rounding", '"fen" or "yuan"'),
    ({"scheme": "dental"}, "rules[0].scheme", "known schemes are"),
    ({"valid_from": "2024-02-30"}, "rules[0].valid_from", "no date in the calendar"),
    ({"valid_from": "1/1/2024"}, "rules[0].valid_from", "YYYY-MM-DD"),
    ({"valid_to": "2023-12-31"}, "rules[0].valid_to", "before valid_from"),
    ({"window_opens": "9-1"}, "rules[0].window_opens", "MM-DD"),
    ({"window_opens": "02-29"}, "rules[0].window_opens", "not 02-29"),
    ({"window_opens_year": 1}, "rules[0].window_opens_year", "-1"),
    ({"window_opens": "12-01", "window_closes": "09-01"}, "rules[0].window_closes", "before it opens"),
    ({"subsidy_percent": {"minimum_living": 50}}, "rules[0].subsidy_percent.minimum_living", "at least 60"),
    ({"subsidy_percent": {"extreme_poverty": 90}}, "rules[0].subsidy_percent.extreme_poverty", "must be 100"),
    ({"subsidy_percent": {"orphan": 0}}, "rules[0].subsidy_percent.orphan", "must be 100"),
    ({"subsidy_percent": {"standard": 101}}, "rules[0].subsidy_percent.standard", "0 to 100"),
    ({"subsidy_percent": {"veteran": 10}}, "rules[0].subsidy_percent.veteran", "not a known category"),
    ({"flat_fenn": 1}, "rules[0].flat_fenn", "not a known field"),
])
def test_each_kind_of_error_names_file_field_and_reason(change, where, reason):
    (message,) = problems({**RESIDENT, **change})
    assert message.startswith(f"r.json: {where}: ") and reason in message


def test_floor_above_cap_and_a_missing_cap_are_refused():
    assert problems({**FLEX, "base_floor_fen": 3000000}) == ["r.json: rules[0].base_cap_fen: is 2000000, below base_floor_fen 3000000"]
    (message,) = problems({**FLEX, "base_cap_fen": 0})
    assert "rules[0].base_cap_fen" in message and "needs a cap" in message


def test_overlapping_date_ranges_of_one_scheme_are_refused_and_adjacent_ones_taken():
    ended = {**RESIDENT, "valid_to": "2026-12-31"}
    later = {**RESIDENT, "valid_from": "2027-01-01", "flat_fen": 42000}
    assert len(parse_rule_file("r.json", text_of(ended, later)).rules) == 2
    (message,) = problems(RESIDENT, later)
    assert message.startswith("r.json: rules[1].valid_from: 2027-01-01 overlaps rules[0]")
    (message,) = problems({**RESIDENT, "valid_to": "2027-01-01"}, later)
    assert "overlaps" in message
    assert len(parse_rule_file("r.json", text_of(RESIDENT, FLEX)).rules) == 2  # other schemes do not overlap


def test_the_top_level_is_checked_and_every_problem_is_reported_at_once():
    found = problems(RESIDENT, region={"code": "11010", "name": "", "agency_name": "x"}, version="", extra=1)
    fields = [message.split(": ")[1] for message in found]
    assert fields == ["extra", "version", "region.code", "region.name"]
    with pytest.raises(RuleFileError, match=r"r.json: \(file\): is not valid JSON"):
        parse_rule_file("r.json", "{not json")
    with pytest.raises(RuleFileError, match=r"r.json: rules: must be a non-empty list"):
        parse_rule_file("r.json", json.dumps({"region": REGION, "rules": []}))
    assert len(problems({**RESIDENT, "flat_fen": -1}, {**FLEX, "rounding": "x"})) == 2


def test_comments_are_allowed_anywhere():
    parsed = parse_rule_file("r.json", text_of({**RESIDENT, "_comment": "x", "subsidy_percent": {"_why": "y", "minimum_living": 60}},
                                               _comment="z"))
    assert parsed.rules[0].subsidy_percent == {"minimum_living": 60}


def test_one_region_per_file():
    first = parse_rule_file("a.json", text_of(RESIDENT))
    second = parse_rule_file("b.json", text_of(FLEX))
    with pytest.raises(RuleFileError, match="b.json: region.code: 110105 is also the region of a.json"):
        check_together([first, second])


# the payment window, with fixed dates

SEPT_DEC = PremiumRule(Scheme.RESIDENT_MEDICAL, dt.date(2024, 1, 1), flat_fen=40000)  # the default window
ENROLLED = [Enrolment(Scheme.RESIDENT_MEDICAL, dt.date(2020, 1, 1))]


@pytest.mark.parametrize("today, payable", [
    (dt.date(2026, 8, 31), None), (dt.date(2026, 9, 1), 2027), (dt.date(2026, 12, 31), 2027), (dt.date(2027, 1, 1), None),
])
def test_the_september_to_december_window_is_enforced(today, payable):
    dues = dues_for(ENROLLED, [SEPT_DEC], Category.STANDARD, today)
    assert [due.period_start.year for due in dues] == ([payable] if payable else [])
    if payable:
        assert dues[0].due_date == dt.date(2026, 12, 31)


def test_outside_the_window_it_says_when_it_opens():
    assert next_window(ENROLLED, [SEPT_DEC], dt.date(2026, 8, 31)) == (
        Scheme.RESIDENT_MEDICAL, 2027, dt.date(2026, 9, 1), dt.date(2026, 12, 31))
    assert next_window(ENROLLED, [SEPT_DEC], dt.date(2027, 1, 1)) == (
        Scheme.RESIDENT_MEDICAL, 2028, dt.date(2027, 9, 1), dt.date(2027, 12, 31))
    assert next_window(ENROLLED, [SEPT_DEC], dt.date(2026, 10, 1)) is None  # open now
    assert next_window([Enrolment(Scheme.FLEXIBLE_MEDICAL, dt.date(2020, 1, 1))], [SEPT_DEC], dt.date(2026, 8, 1)) is None


# late enrolment

@pytest.mark.parametrize("gap, months", [(0, 0), (1, 3), (2, 4), (5, 7)])
def test_the_waiting_period_is_3_months_plus_1_per_extra_year_of_gap(gap, months):
    assert waiting_period_months(gap) == months
    assert waiting_period_months(gap, SEPT_DEC) == months


def test_a_rule_sets_its_own_waiting_period():
    rule = PremiumRule(Scheme.RESIDENT_MEDICAL, dt.date(2024, 1, 1), waiting_months=2, waiting_months_per_gap_year=2)
    assert [waiting_period_months(gap, rule) for gap in (0, 1, 3)] == [0, 2, 6]


def test_a_late_enrolment_pays_outside_the_window_and_shows_its_waiting_period():
    late = [Enrolment(Scheme.RESIDENT_MEDICAL, dt.date(2026, 3, 1), gap_years=2)]
    (due,) = dues_for(late, [SEPT_DEC], Category.STANDARD, dt.date(2026, 4, 10))
    assert (due.period_start, due.due_date, due.waiting_months, due.total_fen(dt.date(2026, 4, 10))) == (
        dt.date(2026, 1, 1), dt.date(2026, 12, 31), 4, 40000)
    assert dues_for(late, [SEPT_DEC], Category.STANDARD, dt.date(2026, 2, 1)) == []  # not enrolled yet
    # the next year is an ordinary one: in its window, no waiting
    (next_year,) = dues_for(late, [SEPT_DEC], Category.STANDARD, dt.date(2026, 9, 1), paid={("resident_medical", dt.date(2026, 1, 1))})
    assert (next_year.period_start.year, next_year.waiting_months) == (2027, 0)
    on_time = [Enrolment(Scheme.RESIDENT_MEDICAL, dt.date(2026, 3, 1))]
    assert dues_for(on_time, [SEPT_DEC], Category.STANDARD, dt.date(2026, 4, 10)) == []


# subsidies

def test_orphans_and_extreme_poverty_pay_nothing_and_minimum_living_gets_at_least_60_percent_whatever_the_rule():
    stingy = PremiumRule(Scheme.RESIDENT_MEDICAL, dt.date(2024, 1, 1), flat_fen=40000)  # no subsidy_percent at all
    today = dt.date(2026, 10, 1)
    for category, pays in ((Category.ORPHAN, 0), (Category.EXTREME_POVERTY, 0), (Category.MINIMUM_LIVING, 16000),
                           (Category.STANDARD, 40000)):
        (due,) = dues_for(ENROLLED, [stingy], category, today)
        assert due.total_fen(today) == pays, category
