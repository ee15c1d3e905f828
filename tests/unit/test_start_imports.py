"""What the start imports before the window's first frame and on a SQLite kiosk's path to usable
(docs/benchmarks-app.md, "Start to usable"): every module there is CPU the resident waits for."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _loaded_after(code: str, kivy_home: Path) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    env = dict(os.environ, KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_HOME=str(kivy_home))
    env.pop("DISPLAY", None)
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_window_code_loads_without_sqlalchemy_or_psycopg(tmp_path):
    """The first frame needs the window's modules, not the database's (the runtime imports those behind it)."""
    loaded = _loaded_after("import kiosk.cli.app_cmds, kiosk.flows.starting, screens.app, screens.kiosk_app", tmp_path)
    assert "kivy" in loaded
    assert not loaded & {"sqlalchemy", "psycopg", "alembic"}


def test_a_sqlite_kiosk_runtime_loads_without_psycopg_or_alembic(tmp_path):
    loaded = _loaded_after("import kiosk.bootstrap, kiosk.app_runtime.wiring\n"
                           "from kiosk.app_runtime.wiring import prepare_without_database\nprepare_without_database()", tmp_path)
    assert "sqlalchemy" in loaded
    assert not loaded & {"psycopg", "alembic"}


def test_the_runtime_leaves_the_staff_only_modules_until_a_staff_call(tmp_path):
    """Settlement, voids without a gateway, card repair, card states and the bill import serve staff pages (and one
    rare resident call); the start's path to usable does not import them (docs/benchmarks-app.md)."""
    staff_only = ("kiosk.services.settlement", "kiosk.services.card_states", "kiosk.services.card_repair",
                  "kiosk.services.imports", "kiosk.cards.repair", "kiosk.flows.repair_records")
    probe = ("import sys\nimport kiosk.bootstrap, kiosk.app_runtime.wiring\n"
             "from kiosk.app_runtime.wiring import prepare_without_database\nprepare_without_database()\n"
             f"print(' '.join(m for m in {staff_only!r} if m in sys.modules))")
    env = dict(os.environ, KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_HOME=str(tmp_path))
    env.pop("DISPLAY", None)
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
    from kiosk.app_runtime.runtime import RuntimeKioskServices

    for name in ("settlement", "void_receipt", "flagged_cards", "check_card", "repair_card", "staff_household_cards",
                 "staff_change_card", "unblock_found_card", "import_bills", "import_files", "receipt_png"):
        assert callable(getattr(RuntimeKioskServices, name))
