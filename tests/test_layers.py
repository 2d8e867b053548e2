"""The direction of dependencies and the one place that commits (shared/DESIGN.md's target layout)."""
from __future__ import annotations

import ast
import pathlib

KIOSK = pathlib.Path(__file__).resolve().parents[1] / "kiosk"


def imports_of(path: pathlib.Path) -> list[str]:
    """Every module ``path`` imports, relative imports made absolute within the package."""
    package = ".".join(path.relative_to(KIOSK.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return found


def modules(folder: str) -> list[pathlib.Path]:
    return sorted((KIOSK / folder).rglob("*.py")) if folder else [KIOSK / "cli.py", KIOSK / "demo.py"]


def calls_named(path: pathlib.Path, name: str) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name]


def test_only_the_unit_of_work_commits():
    """Services, views, the CLI and the demo hand their changes to a unit of work, which commits once
    per use case; nothing else commits (22 scattered commits made a cash payment and its till entry
    impossible to keep in one transaction)."""
    offenders = [f"{path.relative_to(KIOSK)}:{line}" for folder in ("services", "web", "payments", "")
                 for path in modules(folder) if path.name != "uow.py" for line in calls_named(path, "commit")
                 if "uow.commit()" not in path.read_text().splitlines()[line - 1] and "work.commit()" not in path.read_text().splitlines()[line - 1]]
    assert offenders == []


def test_services_and_the_cli_do_not_depend_on_the_web_layer():
    offenders = [f"{path.relative_to(KIOSK)}: {module}" for folder in ("services", "payments", "domain", "")
                 for path in modules(folder) for module in imports_of(path)
                 if module.startswith("kiosk.web") or module.split(".")[0] in ("flask_wtf", "flask_htmx")]
    assert offenders == []


def test_the_domain_imports_nothing_outside_the_domain():
    offenders = [f"{path.relative_to(KIOSK)}: {module}" for path in modules("domain") for module in imports_of(path)
                 if module.startswith("kiosk.") and not module.startswith("kiosk.domain")]
    assert offenders == []
