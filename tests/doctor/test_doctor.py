"""`kiosk doctor` against the wire-level simulators, with devices gone, a database down, a running app's state."""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk import bootstrap
from kiosk.app_runtime.demo import DemoSimulators
from kiosk.app_runtime.health_file import HealthFile
from kiosk.cli.main import main
from kiosk.persistence import backups
from kiosk.runtime.events import DeviceHealth, DeviceHealthChanged, DeviceReopenScheduled, EventBus
from kiosk.settings import load


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A kiosk's data directory with its database at the newest schema."""
    path = tmp_path / "data"
    db = bootstrap.open_database(load(path))
    db.engine.dispose()
    return path


@pytest.fixture
def sims(data_dir: Path) -> Iterator[DemoSimulators]:
    started = DemoSimulators(data_dir, "x" * 32).start()
    yield started
    started.stop()


def doctor(data_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["doctor", "--data-dir", str(data_dir), "--device-wait", "4", *extra])
    out, err = capsys.readouterr()
    return code, out + err


def site_file(tmp_path: Path, urls: dict[str, str]) -> Path:
    site = tmp_path / "site.toml"
    site.write_text(f'[site]\nkiosk_code = "K07"\n[devices.reader]\nurl = "{urls["reader"]}"\n'
                    f'[devices.printer]\nurl = "{urls["printer"]}"\n[devices.cash]\nurl = "{urls["cash"]}"\n')
    return site


def line(out: str, label: str) -> str:
    return next(text for text in out.splitlines() if text.startswith(label + " "))


def test_on_simulators_every_device_answers_and_the_database_is_at_head(
        data_dir: Path, sims: DemoSimulators, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = site_file(tmp_path, sims.urls)
    (data_dir / "technician.toml").write_text("[devices.printer]\ncolumns = 48\n")
    code, out = doctor(data_dir, capsys, "--config", str(site))
    assert code == 0, out
    assert "Python 3." in line(out, "versions") and "Kivy " in line(out, "versions")
    head, at = line(out, "schema").split()[2].rstrip(","), line(out, "schema").split()[-1]
    assert head == at, out
    assert "reachable" in line(out, "database") and " ms" in line(out, "database")
    assert f"{site}: devices.cash.url, devices.printer.url, devices.reader.url, site.kiosk_code" in out
    assert f"{data_dir / 'technician.toml'}: devices.printer.columns" in out
    assert line(out, "reader").split(None, 1)[1].startswith("answers: firmware ")
    assert line(out, "printer").split(None, 1)[1].startswith("answers: ")
    assert line(out, "cash").split(None, 1)[1].startswith("answers: ")
    assert "not configured" in line(out, "scanner")
    assert "free of" in line(out, "disk") and line(out, "clock") and line(out, "last crash")
    assert out.rstrip().endswith("no problems found")


def test_devices_gone_and_a_database_down_are_each_a_problem_with_a_code(
        data_dir: Path, sims: DemoSimulators, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = site_file(tmp_path, sims.urls)
    sims.stop()  # the cables pulled: nothing answers on the reader's pty or the printer's port any more
    code, out = doctor(data_dir, capsys, "--config", str(site), "--db-url", "postgresql+psycopg://kiosk@127.0.0.1:9/x")
    assert code == 3, out  # the database first: a storage error's exit status
    assert "NOT reachable" in line(out, "database")
    assert "does NOT answer" in line(out, "reader") and "does NOT answer" in line(out, "printer")
    problems = [text for text in out.splitlines() if text.startswith("problem: ")]
    assert problems[0].startswith("problem: [E8120] The database cannot be reached")
    assert any(p.startswith("problem: [E8122] The reader does not answer") for p in problems)
    assert any(p.startswith("problem: [E8122] The printer does not answer") for p in problems)
    assert "--db-url: database.url" in out


def test_while_the_app_runs_its_own_device_states_and_last_errors_are_shown(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bus = EventBus()
    health = HealthFile(data_dir, bus)  # what the running kiosk writes (this process plays it)
    bus.publish(DeviceHealthChanged("reader", DeviceHealth.AVAILABLE))
    bus.publish(DeviceHealthChanged("printer", DeviceHealth.UNAVAILABLE, "[E4002] no answer from tcp://10.0.0.9"))
    bus.publish(DeviceReopenScheduled("printer", 6, 1.0, "[E4002] no answer from tcp://10.0.0.9"))
    health.stop()
    code, out = doctor(data_dir, capsys)
    assert code == 4, out  # a device error's exit status
    assert f"as the running kiosk (pid {os.getpid()}) sees them" in line(out, "devices")
    assert line(out, "reader").split(None, 1)[1].startswith("available since ")
    assert "unavailable since" in line(out, "printer") and "last error" in line(out, "printer")
    assert "; reopen attempt 6 in 1.0 s;" in line(out, "printer")  # the worker's back-off, as it goes
    assert "problem: [E8122] The printer does not answer: [E4002] no answer from tcp://10.0.0.9" in out


def test_the_last_backup_is_shown_and_one_older_than_two_days_is_a_problem(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_file = data_dir / "kiosk.sqlite3"
    assert sqlite3.connect(db_file).execute("SELECT 1").fetchone() == (1,)
    taken = backups.take(db_file, data_dir / "backups", now=datetime.now(timezone.utc) - timedelta(days=3))
    code, out = doctor(data_dir, capsys)
    assert f"last {taken.path.name}" in line(out, "backup")
    assert "[E8125] The last backup is from" in out and code != 0
    backups.take(db_file, data_dir / "backups")
    code, out = doctor(data_dir, capsys)
    assert code == 0 and "E8125" not in out, out


def test_a_reachable_database_of_either_kind_is_at_head_with_its_latency(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "kiosk"
    bootstrap.open_database(load(data_dir, db_url=db_url)).engine.dispose()
    code, out = doctor(data_dir, capsys, "--db-url", db_url)
    assert code == 0, out
    assert "reachable, " in line(out, "database") and "NOT" not in line(out, "database")
    head, at = line(out, "schema").split()[2].rstrip(","), line(out, "schema").split()[-1]
    assert head == at, out
