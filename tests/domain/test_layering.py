"""The domain stays plain Python: no web framework, no database session."""
import ast
import pathlib

DOMAIN = pathlib.Path(__file__).resolve().parents[2] / "kiosk" / "domain"


def test_domain_modules_import_neither_flask_nor_sqlalchemy():
    offenders = []
    for path in DOMAIN.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("flask", "flask_sqlalchemy", "sqlalchemy", "werkzeug")]
    assert offenders == []
