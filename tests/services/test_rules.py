"""Rule files into the database: all or nothing, versions that never change, bills that keep the
rule that priced them, and the terminal's region choosing the rules."""
import datetime as dt
import json

import pytest
from sqlalchemy import select

from kiosk.demo import RULES_FILE
from kiosk.domain.rulefile import RuleFileError
from kiosk.extensions import db
from kiosk.models import Bill, Person, PremiumRuleRow, Region, Terminal
from kiosk.services import visits
from kiosk.services.dues import due_lines
from kiosk.services.rules import load_rule_files
from kiosk.services.uow import UnitOfWork

DEMO = json.loads(RULES_FILE.read_text(encoding="utf-8"))
ZHANG_SAN = "张三"
ZHOU_QIANG = "周强"
IN_2027_WINDOW = dt.date(2026, 10, 1)  # the demo window for 2027: 2026-09-01 to 2027-08-31
IN_2026_WINDOW = dt.date(2026, 3, 1)


def uow():
    return UnitOfWork(db.session)


def write(tmp_path, name: str, data: dict):
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def demo_with(**resident) -> dict:
    """The demo file with its resident rule changed (or split, with ``extra`` rules)."""
    extra = resident.pop("extra", [])
    rules = [dict(rule, **resident) if rule["scheme"] == "resident_medical" else rule for rule in DEMO["rules"]]
    return dict(DEMO, rules=rules + extra)


def snapshot():
    db.session.expire_all()
    rows = db.session.scalars(select(PremiumRuleRow).order_by(PremiumRuleRow.id))
    return [(row.id, row.scheme, row.active, row.flat_fen, row.valid_from, row.valid_to, row.version) for row in rows]


def person(name: str) -> Person:
    return db.session.scalar(select(Person).where(Person.name == name))


def resident_line(name: str, today: dt.date, terminal_id=None):
    (line,) = [line for line in due_lines(db.session, person(name), today, terminal_id=terminal_id)
               if line.bill.scheme == "resident_medical"]
    db.session.commit()
    return line.bill


def test_loading_the_same_file_again_changes_nothing(demo):
    with demo.app_context():
        before = snapshot()
        (report,) = load_rule_files(uow(), [RULES_FILE])
        assert (report.added, report.retired, report.kept, report.changed) == (0, 0, 4, False)
        assert snapshot() == before and len(before) == 4


def test_an_invalid_file_is_refused_and_nothing_changes(demo, tmp_path):
    changed = write(tmp_path, "a.json", demo_with(flat_fen=42000))
    broken = write(tmp_path, "b.json", {"region": {**DEMO["region"], "code": "110106"},
                                        "rules": [{"scheme": "resident_medical", "valid_from": "2024-01-01", "flat_fen": -5}]})
    with demo.app_context():
        before = snapshot()
        with pytest.raises(RuleFileError) as refused:
            load_rule_files(uow(), [changed, broken])
        assert [str(p) for p in refused.value.problems] == ["b.json: rules[0].flat_fen: is -5: it cannot be negative"]
        assert snapshot() == before
        assert db.session.scalar(select(Region).where(Region.code == "110106")) is None


def test_a_number_too_large_to_store_is_refused_with_its_field_and_nothing_changes(demo, tmp_path):
    # PostgreSQL's INTEGER ends at 2**31 - 1: the load failed there with "integer out of range"
    # (a traceback, not the file's problems), while SQLite stored the absurd price
    path = write(tmp_path, "a.json", demo_with(flat_fen=2**31))
    with demo.app_context():
        before = snapshot()
        with pytest.raises(RuleFileError) as refused:
            load_rule_files(uow(), [path])
        assert [p.field for p in refused.value.problems] == ["rules[0].flat_fen"]
        assert snapshot() == before


def test_a_changed_file_retires_the_old_rule_and_never_reprices_a_frozen_bill(demo, tmp_path):
    with demo.app_context():
        old = resident_line(ZHANG_SAN, IN_2027_WINDOW)
        old_rule = db.session.get(PremiumRuleRow, old.rule_id)
        assert (old.principal_fen, old_rule.flat_fen, old_rule.active) == (40000, 40000, True)
        frozen = (old.id, old.principal_fen, old.subsidy_fen, old.rule_id)

        (report,) = load_rule_files(uow(), [write(tmp_path, "demo-region.json", demo_with(flat_fen=42000))])
        assert (report.added, report.retired, report.kept) == (1, 1, 3)
        db.session.expire_all()
        retired = db.session.get(PremiumRuleRow, frozen[3])
        assert (retired.active, retired.flat_fen) == (False, 40000)  # kept as it was, only no longer in force

        again = resident_line(ZHANG_SAN, IN_2027_WINDOW)
        assert (again.id, again.principal_fen, again.subsidy_fen, again.rule_id) == frozen
        new = resident_line(ZHOU_QIANG, IN_2027_WINDOW)
        assert new.principal_fen == 42000 and new.rule_id != frozen[3]
        assert db.session.get(PremiumRuleRow, new.rule_id).version == report.version


def test_each_period_is_priced_by_the_rule_whose_dates_cover_it(demo, tmp_path):
    split = demo_with(valid_to="2026-12-31",
                      extra=[{"scheme": "resident_medical", "valid_from": "2027-01-01", "flat_fen": 42000,
                              "window_closes": "08-31", "window_closes_year": 0, "subsidy_percent": {"minimum_living": 70}}])
    with demo.app_context():
        load_rule_files(uow(), [write(tmp_path, "demo-region.json", split)])
        assert resident_line(ZHANG_SAN, IN_2026_WINDOW).principal_fen == 40000
        assert resident_line(ZHOU_QIANG, IN_2027_WINDOW).principal_fen == 42000
        assert resident_line(ZHANG_SAN, IN_2027_WINDOW).principal_fen == 42000  # the next year, a new bill
        assert resident_line(ZHANG_SAN, IN_2026_WINDOW).principal_fen == 40000  # the frozen one


def test_the_terminals_region_prices_the_dues(demo, tmp_path):
    other = {"region": {"code": "110106", "name": "Other", "agency_name": "Other agency"},
             "rules": [{"scheme": "resident_medical", "valid_from": "2024-01-01", "flat_fen": 50000,
                        "window_closes": "08-31", "window_closes_year": 0}]}
    with demo.app_context():
        (report,) = load_rule_files(uow(), [write(tmp_path, "other.json", other)])
        assert report.region_created
        with uow() as work:
            there = visits.terminal_id(work.session, "OTHER-01", "110106")
            here = visits.terminal_id(work.session, "DEMO-07", "110105")
            work.commit()
        assert resident_line(ZHANG_SAN, IN_2027_WINDOW, terminal_id=there).principal_fen == 50000
        assert resident_line(ZHOU_QIANG, IN_2027_WINDOW, terminal_id=here).principal_fen == 40000


def test_a_terminal_takes_the_region_of_its_setting_once_that_region_is_loaded(demo):
    with demo.app_context():
        with uow() as work:
            terminal = visits.terminal_id(work.session, "NEW-01", "110199")  # not loaded: no region yet
            work.commit()
        assert db.session.get(Terminal, terminal).region_id is None
        with uow() as work:
            assert visits.terminal_id(work.session, "NEW-01", "110105") == terminal
            work.commit()
        db.session.expire_all()
        assert db.session.get(Terminal, terminal).region.code == "110105"


def test_bills_record_the_rule_version_and_the_waiting_period_of_a_late_enrolment(demo):
    with demo.app_context():
        zhang = person(ZHANG_SAN)
        zhang.enrolments[0].start_date, zhang.enrolments[0].gap_years = dt.date(2026, 3, 1), 3
        db.session.commit()
        # the demo's 2026 window shut on 2026-08-31; a late enrolment pays anyway, and waits 3 + 2 months
        late = [line.bill for line in due_lines(db.session, person(ZHANG_SAN), dt.date(2026, 9, 15))]
        assert [(b.period_start.year, b.waiting_months) for b in late] == [(2026, 5), (2027, 0)]
        assert all(db.session.get(PremiumRuleRow, b.rule_id).scheme == "resident_medical" for b in late)


def test_cli_rules_load_and_show(demo, runner, tmp_path):
    loaded = runner.invoke(args=["rules", "load"])
    assert loaded.exit_code == 0, loaded.output
    assert "demo-region.json: region 110105, 4 rules, unchanged" in loaded.output
    changed = runner.invoke(args=["rules", "load", str(write(tmp_path, "demo-region.json", demo_with(flat_fen=42000)))])
    assert changed.exit_code == 0 and "1 rules added, 1 retired, 3 unchanged" in changed.output
    shown = runner.invoke(args=["rules", "show"])
    assert shown.exit_code == 0 and "110105" in shown.output and "flat_fen=42000" in shown.output
    assert "flat_fen=40000" not in shown.output


def test_cli_rules_load_refuses_an_invalid_file_with_its_problems(demo, runner, tmp_path):
    bad = write(tmp_path, "bad.json", demo_with(flat_fen=42000, rounding="cents"))
    with demo.app_context():
        before = snapshot()
    result = runner.invoke(args=["rules", "load", str(bad)])
    assert result.exit_code != 0
    assert "bad.json: rules[0].rounding: is 'cents'" in result.output
    assert "no rule file was loaded, nothing changed" in result.output
    with demo.app_context():
        assert snapshot() == before
