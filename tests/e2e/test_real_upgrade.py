"""`kiosk upgrade` waiting on the real kiosk's own READY=1 (the app under Xvfb, as the service starts it): a kiosk
at schema 0008 with real data is upgraded to the code under test, whose window and runtime come up on the
migrated database and say READY=1 on the upgrade's NOTIFY_SOCKET; the ledger and the chain verify afterwards."""
from __future__ import annotations

import shlex
import sys

import pytest

from kiosk import upgrades
from kiosk.cli.main import main
from kiosk.persistence import schema
from kiosk.persistence.db import make_engine
from tests.e2e.harness import HEIGHT, OPEN_ALL_DAY, WIDTH
from tests.persistence.test_chain_upgrade import _old_estate
from tests.persistence.test_upgrade_rollback import REPO, WRAPPER
from tests.support.chain_key import write_secrets
from tests.support.tamper import report

pytestmark = pytest.mark.xvfb


def test_upgrade_waits_for_the_real_kiosks_ready_on_the_migrated_database(display, tmp_path, monkeypatch, capsys):
    root = tmp_path / "opt"
    for name in ("old", "new"):  # the new release is this repository's code; the old one is only pointed at
        (root / "releases" / name / "bin").mkdir(parents=True)
    command = root / "releases" / "new" / "bin" / "kiosk"
    command.write_text(WRAPPER.replace('PYTHONPATH="$R"', f'PYTHONPATH={shlex.quote(str(REPO))}'))
    command.chmod(0o755)
    upgrades.point(root, "current", root / "releases" / "old")
    data = tmp_path / "data"
    write_secrets(data)
    engine = make_engine(f"sqlite:///{data / 'kiosk.sqlite3'}")
    schema.upgrade(engine, "0008")
    _old_estate(engine)
    engine.dispose()
    site = tmp_path / "open-all-day.toml"
    site.write_text(OPEN_ALL_DAY, encoding="utf-8")
    for key, value in {"DISPLAY": display, "KIOSK_CONFIG": str(site), "KIOSK_UI_WIDTH": str(WIDTH),
                       "KIOSK_UI_HEIGHT": str(HEIGHT), "KIOSK_UI_FULLSCREEN": "0", "PYTHONPATH": str(REPO)}.items():
        monkeypatch.setenv(key, value)
    start = f"{sys.executable} -P -m tests.e2e.real_app --data-dir {{data_dir}}"
    code = main(["upgrade", str(root / "releases" / "new"), "--data-dir", str(data), "--ready-s", "90",
                 "--start-command", start])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "new reported READY=1 after" in out
    assert (root / "current").resolve() == root / "releases" / "new"
    engine = make_engine(f"sqlite:///{data / 'kiosk.sqlite3'}")
    try:
        assert schema.current_revision(engine) == schema.head_revision(engine)
        rep = report(engine)
    finally:
        engine.dispose()
    assert rep.ok, [str(p) for p in rep.problems[:3]]
    assert rep.counts["journal_entries"] >= 2 and rep.counts["receipts"] >= 2
