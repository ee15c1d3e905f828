"""The layering rules of ARCHITECTURE.md, checked by walking every module's imports."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = {
    # package: (forbidden top-level imports, files exempt from the rule)
    "kiosk": ({"kivy", "serial", "escpos"}, set()),
    "devices": ({"kivy", "sqlalchemy", "alembic", "screens"}, set()),
    "screens": ({"devices", "serial", "sqlalchemy", "alembic", "escpos"}, set()),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_respects_its_import_rules(package):
    forbidden, exempt = RULES[package]
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in exempt:
            continue
        bad = _imports(path) & forbidden
        if bad:
            offenders.append(f"{rel}: {sorted(bad)}")
    assert offenders == []


def test_core_imports_devices_and_screens_only_from_the_wiring_and_cli():
    allowed_prefixes = ("kiosk/bootstrap.py", "kiosk/cli/", "kiosk/app_runtime/")
    offenders = []
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(allowed_prefixes):
            continue
        bad = _imports(path) & {"devices", "screens"}
        if bad:
            offenders.append(f"{rel}: {sorted(bad)}")
    assert offenders == []
