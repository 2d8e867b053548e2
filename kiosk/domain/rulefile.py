"""Premium rule files (``config/rules/*.json``, one per region): parsed and checked field by field.

Pure Python: ``services.rules`` stores what this returns. A file is either entirely valid or
refused with every problem, each naming the file, the field (``rules[2].base_cap_fen``) and
the reason.

The format::

    {
      "_comment": "keys starting with _ are comments, anywhere",
      "version": "2027-1",              # optional; default: the first 12 hex digits of the file's SHA-256
      "region": {"code": "110105", "name": "...", "agency_name": "..."},
      "rules": [
        {"scheme": "resident_medical", "valid_from": "2024-01-01", "valid_to": null, "flat_fen": 40000,
         "window_opens": "09-01", "window_opens_year": -1, "window_closes": "12-31", "window_closes_year": -1,
         "subsidy_percent": {"minimum_living": 70, "extreme_poverty": 100, "orphan": 100}},
        ...
      ]
    }

Every rule field is one of ``domain.premiums.PremiumRule``'s (amounts in fen, rates per 10,000,
all non-negative integers); a field left out takes the dataclass's default.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass

from .premiums import MINIMUM_SUBSIDY_PERCENT, Category, PremiumRule, Scheme

INTEGER_FIELDS = (
    "flat_fen", "rate_per_10000", "employer_rate_per_10000", "supplementary_rate_per_10000", "base_floor_fen",
    "base_cap_fen", "late_fee_per_10000_per_day", "max_arrears_months", "minimum_years", "waiting_months",
    "waiting_months_per_gap_year",
)
RATE_FIELDS = ("rate_per_10000", "employer_rate_per_10000", "supplementary_rate_per_10000", "late_fee_per_10000_per_day")
# every integer field is stored in an INTEGER column (32-bit on PostgreSQL): a larger value is
# refused here, with the field, not by the database in the middle of the load
MAX_INTEGER = 2**31 - 1
ROUNDINGS = ("fen", "yuan")
WINDOW_YEARS = (-1, 0)  # the year before the coverage year, or the coverage year itself
RULE_FIELDS = tuple(f.name for f in dataclasses.fields(PremiumRule) if f.name != "rule_id")
REGION_FIELDS = ("code", "name", "agency_name")
TOP_FIELDS = ("version", "region", "rules")
_MONTH_DAY = re.compile(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


class RuleFileError(ValueError):
    """One or more rule files are refused; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


@dataclass(frozen=True)
class RegionInfo:
    code: str
    name: str
    agency_name: str


@dataclass(frozen=True)
class RuleFile:
    name: str  # the file's name, as messages give it
    version: str
    region: RegionInfo
    rules: tuple[PremiumRule, ...]


class _Collector:
    """Called with (field, reason) for each problem found in one file."""

    def __init__(self, name: str):
        self.name = name
        self.problems: list[Problem] = []

    def __call__(self, where: str, reason: str) -> None:
        self.problems.append(Problem(self.name, where, reason))


def checksum_version(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def parse_rule_file(name: str, text: str) -> RuleFile:
    """The rules in ``text`` (the content of the file called ``name``), or RuleFileError."""
    problem = _Collector(name)
    problems = problem.problems

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleFileError([Problem(name, "(file)", f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")]) from None
    if not isinstance(data, dict):
        raise RuleFileError([Problem(name, "(file)", "must be a JSON object with region and rules")])
    _unknown(data, TOP_FIELDS, "", problem)

    version = data.get("version")
    if version is None:
        version = checksum_version(text)
    elif not isinstance(version, str) or not version.strip() or len(version) > 40:
        problem("version", "must be a non-empty string of at most 40 characters (or left out: the file's checksum)")
        version = ""

    region = _region(data.get("region"), problem)
    rules = []
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        problem("rules", "must be a non-empty list of rules")
        raw_rules = []
    for index, raw in enumerate(raw_rules):
        rule = _rule(raw, f"rules[{index}]", problem)
        if rule is not None:
            rules.append((index, rule))
    _overlaps(rules, problem)
    if problems:
        raise RuleFileError(problems)
    return RuleFile(name, version.strip(), region, tuple(rule for _, rule in rules))


def check_together(files: list[RuleFile]) -> None:
    """Several files loaded at once: each region in one file only."""
    seen: dict[str, str] = {}
    problems = []
    for rule_file in files:
        code = rule_file.region.code
        if code in seen:
            problems.append(Problem(rule_file.name, "region.code", f"{code} is also the region of {seen[code]}: one file per region"))
        seen.setdefault(code, rule_file.name)
    if problems:
        raise RuleFileError(problems)


def _unknown(data: dict, known: tuple[str, ...], prefix: str, problem) -> None:
    for key in data:
        if not isinstance(key, str) or key.startswith("_"):
            continue  # a comment
        if key not in known:
            problem(f"{prefix}{key}", f"is not a known field (known: {', '.join(known)}; comments start with _)")


def _region(raw, problem) -> RegionInfo | None:
    if not isinstance(raw, dict):
        problem("region", "must be an object with code, name and agency_name")
        return None
    _unknown(raw, REGION_FIELDS, "region.", problem)
    code = raw.get("code")
    if not isinstance(code, str) or not re.fullmatch(r"[0-9]{6}", code, re.ASCII):
        problem("region.code", f"is {code!r}: give the 6-digit administrative division code as a string, e.g. \"110105\"")
    for key in ("name", "agency_name"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            problem(f"region.{key}", "must be a non-empty string")
        elif len(value) > (100 if key == "name" else 200):
            problem(f"region.{key}", f"is longer than {100 if key == 'name' else 200} characters")
    if not isinstance(code, str):
        return None
    return RegionInfo(code, str(raw.get("name", "")).strip(), str(raw.get("agency_name", "")).strip())


def _date(value, where: str, problem) -> dt.date | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        problem(where, f"is {value!r}: give a date as \"YYYY-MM-DD\"")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        problem(where, f"is {value!r}, which is no date in the calendar")
        return None


def _rule(raw, where: str, problem) -> PremiumRule | None:
    if not isinstance(raw, dict):
        problem(where, "must be an object")
        return None
    before = len(problem.problems)
    _unknown(raw, RULE_FIELDS, f"{where}.", problem)
    values: dict = {}

    scheme = raw.get("scheme")
    try:
        values["scheme"] = Scheme(scheme)
    except ValueError:
        problem(f"{where}.scheme", f"is {scheme!r}: known schemes are {', '.join(s.value for s in Scheme)}")

    values["valid_from"] = _date(raw.get("valid_from"), f"{where}.valid_from", problem) if "valid_from" in raw else None
    if "valid_from" not in raw:
        problem(f"{where}.valid_from", "is missing: give the first day the rule applies to, \"YYYY-MM-DD\"")
    if raw.get("valid_to") is not None:
        values["valid_to"] = _date(raw["valid_to"], f"{where}.valid_to", problem)
        if values["valid_from"] and values["valid_to"] and values["valid_to"] < values["valid_from"]:
            problem(f"{where}.valid_to", f"is {raw['valid_to']}, before valid_from {raw['valid_from']}")

    for key in INTEGER_FIELDS:
        if key not in raw:
            continue
        value = raw[key]
        if not isinstance(value, int) or isinstance(value, bool):
            problem(f"{where}.{key}", f"is {value!r}: give a whole number (amounts in fen, rates per 10,000)")
        elif value < 0:
            problem(f"{where}.{key}", f"is {value}: it cannot be negative")
        elif value > MAX_INTEGER:
            problem(f"{where}.{key}", f"is {value}: the largest number a rule may hold is {MAX_INTEGER}")
        elif key in RATE_FIELDS and value > 10000:
            problem(f"{where}.{key}", f"is {value}: a rate per 10,000 is at most 10000 (100 %)")
        else:
            values[key] = value

    if "rounding" in raw:
        if raw["rounding"] not in ROUNDINGS:
            problem(f"{where}.rounding", f"is {raw['rounding']!r}: give \"fen\" or \"yuan\"")
        else:
            values["rounding"] = raw["rounding"]

    for end in ("opens", "closes"):
        key, year_key = f"window_{end}", f"window_{end}_year"
        if key in raw:
            value = raw[key]
            if not isinstance(value, str) or not _MONTH_DAY.fullmatch(value) or not _valid_month_day(value):
                problem(f"{where}.{key}", f"is {value!r}: give a day of the year as \"MM-DD\" (not 02-29), e.g. \"09-01\"")
            else:
                values[key] = value
        if year_key in raw:
            value = raw[year_key]
            if value not in WINDOW_YEARS or isinstance(value, bool):
                problem(f"{where}.{year_key}", f"is {value!r}: give -1 (the year before the coverage year) or 0 (the coverage year)")
            else:
                values[year_key] = value

    if "subsidy_percent" in raw:
        values["subsidy_percent"] = _subsidies(raw["subsidy_percent"], f"{where}.subsidy_percent", problem)

    if len(problem.problems) > before:
        return None
    rule = PremiumRule(**values)
    if rule.base_cap_fen and rule.base_floor_fen > rule.base_cap_fen:
        problem(f"{where}.base_cap_fen", f"is {rule.base_cap_fen}, below base_floor_fen {rule.base_floor_fen}")
    if rule.scheme.period.value != "year" and not rule.base_cap_fen:
        problem(f"{where}.base_cap_fen", "is missing or 0: a base-rated scheme needs a cap (and a floor at most the cap)")
    opens, closes = rule.window(2001)
    if opens > closes:
        problem(f"{where}.window_closes",
                f"the window closes ({rule.window_closes}, year {rule.window_closes_year:+d}) before it opens "
                f"({rule.window_opens}, year {rule.window_opens_year:+d})")
    if len(problem.problems) > before:
        return None
    return rule


def _valid_month_day(value: str) -> bool:
    try:
        dt.date(2001, int(value[:2]), int(value[3:]))
        return True
    except ValueError:
        return False


def _subsidies(raw, where: str, problem) -> dict[str, int]:
    if not isinstance(raw, dict):
        problem(where, "must be an object: category -> percentage, e.g. {\"minimum_living\": 70}")
        return {}
    known = [category.value for category in Category]
    subsidies = {}
    for key, value in raw.items():
        if isinstance(key, str) and key.startswith("_"):
            continue
        if key not in known:
            problem(f"{where}.{key}", f"is not a known category (known: {', '.join(known)})")
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            problem(f"{where}.{key}", f"is {value!r}: give a whole percentage from 0 to 100")
            continue
        category = Category(key)
        least = MINIMUM_SUBSIDY_PERCENT.get(category, 0)
        if category.pays_nothing and value != 100:
            problem(f"{where}.{key}", f"is {value}: {key} pays nothing by national policy, so it must be 100")
        elif value < least:
            problem(f"{where}.{key}", f"is {value}: {key} is subsidised at least {least} % by national policy")
        else:
            subsidies[key] = value
    return subsidies


def _overlaps(rules: list[tuple[int, PremiumRule]], problem) -> None:
    """Two rules of one scheme must not both cover a day: which would price it?"""
    by_scheme: dict[Scheme, list[tuple[int, PremiumRule]]] = {}
    for index, rule in rules:
        by_scheme.setdefault(rule.scheme, []).append((index, rule))
    for listed in by_scheme.values():
        listed.sort(key=lambda pair: pair[1].valid_from)
        for (first_index, first), (index, rule) in zip(listed, listed[1:]):
            if first.valid_to is None or first.valid_to >= rule.valid_from:
                until = "open-ended" if first.valid_to is None else f"to {first.valid_to}"
                problem(f"rules[{index}].valid_from",
                        f"{rule.valid_from} overlaps rules[{first_index}] ({rule.scheme.value} from {first.valid_from}, {until}): "
                        "end the earlier rule (valid_to) the day before")
