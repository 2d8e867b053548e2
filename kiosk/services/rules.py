"""Premium rules from ``config/rules/*.json`` into the database, as versions that never change.

Loading a file makes the region's active rules exactly the file's: a rule already stored
identically stays as it is (so loading the same file twice changes nothing); a stored rule the
file no longer has is retired (``active`` false), never changed or deleted, because bills
refer to the row that priced them; a rule new to the file is added with the file's version.
All files are checked first and stored in one transaction: one invalid file and nothing changes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.premiums import PremiumRule, Scheme
from ..domain.rulefile import Problem, RuleFile, RuleFileError, check_together, parse_rule_file
from ..models import PremiumRuleRow, Region
from .uow import UnitOfWork

RULES_DIR = Path(__file__).resolve().parent.parent.parent / "config" / "rules"
# the rule's fields as the row stores them (rule_id is the row's id)
STORED_FIELDS = tuple(f.name for f in dataclasses.fields(PremiumRule) if f.name not in ("scheme", "rule_id"))


@dataclass(frozen=True)
class FileReport:
    file: str
    region: str
    version: str
    added: int
    retired: int
    kept: int
    region_created: bool

    @property
    def changed(self) -> bool:
        return bool(self.added or self.retired or self.region_created)

    def summary(self) -> str:
        if not self.changed:
            return f"{self.file}: region {self.region}, {self.kept} rules, unchanged"
        created = ", region created" if self.region_created else ""
        return (f"{self.file}: region {self.region}, version {self.version}: {self.added} rules added, "
                f"{self.retired} retired, {self.kept} unchanged{created}")


def rule_of_row(row: PremiumRuleRow) -> PremiumRule:
    return PremiumRule(scheme=Scheme(row.scheme), rule_id=row.id,
                       **{name: getattr(row, name) for name in STORED_FIELDS if name != "subsidy_percent"},
                       subsidy_percent=dict(row.subsidy_percent or {}))


def _same(row: PremiumRuleRow, rule: PremiumRule) -> bool:
    return dataclasses.replace(rule_of_row(row), rule_id=None) == rule


def default_paths() -> list[Path]:
    return sorted(RULES_DIR.glob("*.json"))


def read_rule_files(paths: list[Path]) -> list[RuleFile]:
    """Every file parsed and checked, or RuleFileError listing the problems of all of them."""
    problems: list[Problem] = []
    files = []
    if not paths:
        raise RuleFileError([Problem(str(RULES_DIR), "(folder)", "holds no *.json rule file")])
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), "(file)", f"cannot be read: {getattr(exc, 'strerror', None) or exc}"))
            continue
        try:
            files.append(parse_rule_file(Path(path).name, text))
        except RuleFileError as exc:
            problems.extend(exc.problems)
    if not problems:
        try:
            check_together(files)
        except RuleFileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise RuleFileError(problems)
    return files


def store_rule_file(session: Session, rule_file: RuleFile) -> FileReport:
    """Make the region's active rules the file's (see the module's docstring), in ``session``."""
    info = rule_file.region
    # locked: two loads of one region at once would both add the rules the other is adding
    region = session.scalar(select(Region).where(Region.code == info.code).with_for_update())
    created = region is None
    if created:
        region = Region(code=info.code, name=info.name, agency_name=info.agency_name)
        session.add(region)
        session.flush()
    else:
        if region.name != info.name:
            region.name = info.name
        if region.agency_name != info.agency_name:
            region.agency_name = info.agency_name
    active = list(session.scalars(select(PremiumRuleRow).where(PremiumRuleRow.region_id == region.id,
                                                                 PremiumRuleRow.active.is_(True))
                                  .order_by(PremiumRuleRow.id)))
    wanted = list(rule_file.rules)
    kept = retired = 0
    for row in active:
        match = next((rule for rule in wanted if _same(row, rule)), None)
        if match is not None:
            wanted.remove(match)
            kept += 1
        else:
            row.active = False  # its values stay as they were: bills priced by it still say so
            retired += 1
    for rule in wanted:
        session.add(PremiumRuleRow(region_id=region.id, scheme=rule.scheme.value, version=rule_file.version,
                                   source=rule_file.name, active=True,
                                   **{name: getattr(rule, name) for name in STORED_FIELDS}))
    session.flush()
    return FileReport(rule_file.name, info.code, rule_file.version, len(wanted), retired, kept, created)


def load_rule_files(uow: UnitOfWork, paths: list[Path] | None = None) -> list[FileReport]:
    """Check every file, then store them all in one commit. Raises RuleFileError (nothing changed)."""
    files = read_rule_files(list(paths) if paths else default_paths())

    def work(session):
        return [store_rule_file(session, rule_file) for rule_file in files]

    return uow.run(work)


def rules_in_force(session: Session) -> list[tuple[Region, list[PremiumRuleRow]]]:
    """Each region with its active rules, by scheme and start date (``flask rules show``)."""
    regions = session.scalars(select(Region).order_by(Region.code))
    result = []
    for region in regions:
        rows = list(session.scalars(select(PremiumRuleRow).where(PremiumRuleRow.region_id == region.id,
                                                                   PremiumRuleRow.active.is_(True))
                                    .order_by(PremiumRuleRow.scheme, PremiumRuleRow.valid_from)))
        result.append((region, rows))
    return result
