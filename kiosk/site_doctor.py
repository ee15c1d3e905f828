"""`kiosk doctor`: what a technician on site needs, on one screen, with a code for each problem found.

Each check returns a Line (label, text) and, when something is wrong, the KioskError that says so. Nothing here
changes anything: the database is probed with a fresh connection (an SQLite file that is not there is not made),
devices are asked only when the kiosk app is not running (it holds their ports; otherwise the state it
publishes in <data dir>/device-health.json is shown), and the journal is only read.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from kiosk.errors import (
    DoctorBackupOld,
    DoctorClockUnsynchronised,
    DoctorDatabaseDown,
    DoctorDeviceDown,
    DoctorDiskLow,
    DoctorSchemaBehind,
    KioskError,
)
from kiosk.settings import DEFAULT_FILE, Settings, value_sources

DEVICE_WAIT_S = 8.0
DISK_LOW_BYTES = 1 << 30  # 1 GiB
DISK_LOW_SHARE = 0.05
BACKUP_OLD_DAYS = 2
SERVICE = "estate-kiosk.service"
JOURNAL_DIRS = ("/var/log/journal", "/run/log/journal")
CRASH_PATTERN = "unexpected error|Traceback|Watchdog timeout|Main process exited, code=(killed|dumped)"


@dataclass
class Report:
    lines: list[tuple[str, str]] = field(default_factory=list)
    problems: list[KioskError] = field(default_factory=list)

    def add(self, label: str, text: str, problem: KioskError | None = None) -> None:
        self.lines.append((label, text))
        if problem is not None:
            self.problems.append(problem)

    def render(self) -> str:
        width = max(len(label) for label, _ in self.lines) + 2
        out = [f"{label.ljust(width)}{text}" for label, text in self.lines]
        if self.problems:
            out.append("")
            out += [f"problem: {p}" for p in self.problems]
        else:
            out.append("\nno problems found")
        return "\n".join(out)


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def database_url(settings: Settings) -> str:
    from kiosk.persistence.db import sqlite_url

    return settings.database.url or sqlite_url(settings.data_dir)


def check_database(settings: Settings, report: Report) -> None:
    from kiosk.bootstrap import sqlite_file
    from kiosk.persistence import schema
    from kiosk.persistence.db_health import probe, probe_engine

    url = database_url(settings)
    shown = url.split("@")[-1] if "@" in url else url
    engine = probe_engine(url)
    try:
        head = schema.head_revision(engine)
        file = sqlite_file(url)
        if file is not None and not file.exists():
            report.add("schema", f"head {head}; database: none yet")
            report.add("database", f"{shown}: no database file", DoctorDatabaseDown(reason=f"{file} does not exist"))
            return
        result = probe(engine)
        if not result.up:
            report.add("schema", f"head {head}; database: not reachable")
            report.add("database", f"{shown}: NOT reachable after {result.seconds * 1000:.0f} ms ({result.reason})",
                       DoctorDatabaseDown(reason=result.reason))
            return
        try:
            current = schema.current_revision(engine)
        except Exception as exc:  # noqa: BLE001 - reachable, but the schema cannot be read: say so
            current = f"unreadable ({type(exc).__name__})"
        behind = None if current == head else DoctorSchemaBehind(current=current or "empty", head=head)
        report.add("schema", f"head {head}, database at {current or 'empty'}", behind)
        report.add("database", f"{shown}: reachable, {result.seconds * 1000:.0f} ms")
    finally:
        engine.dispose()


def check_config(settings: Settings, db_url: str | None, report: Report) -> None:
    sources = value_sources(settings, db_url)
    default = str(DEFAULT_FILE)
    by_file: dict[str, list[str]] = {}
    for key, where in sorted(sources.items()):
        by_file.setdefault(where, []).append(key)
    report.add("config", f"{len(by_file.get(default, []))} values from the packaged defaults ({default})")
    for where, keys in by_file.items():
        if where != default:
            report.add("", f"{where}: {', '.join(keys)}")


def _app_running(states: dict[str, dict[str, Any]]) -> int | None:
    for entry in states.values():
        pid = int(entry.get("pid") or 0)
        if pid > 0:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return None
            except PermissionError:
                return pid
            return pid
    return None


def _ask(call: Callable[[], str], wait_s: float) -> tuple[str | None, str]:
    """(answer, error) of a device call on its own thread, waited for at most `wait_s`."""
    outcome: list[tuple[str | None, str]] = []

    def run() -> None:
        try:
            outcome.append((call(), ""))
        except KioskError as exc:
            outcome.append((None, str(exc)))
        except Exception as exc:  # noqa: BLE001 - any failure of a device is "does not answer", with its words
            outcome.append((None, f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=run, name="doctor-device", daemon=True)
    thread.start()
    thread.join(wait_s)
    return outcome[0] if outcome else (None, f"no answer within {wait_s:.0f} s")


def _probe_calls(settings: Settings) -> dict[str, Callable[[], str] | None]:
    """Device -> a call that opens it, asks for its identity or state, closes it (None: not configured)."""
    from kiosk.app_runtime.devices import build_devices

    attached = build_devices(settings)

    def opened(device: Any, ask: Callable[[Any], Any]) -> Callable[[], str]:
        def call() -> str:
            device.open()
            try:
                return str(ask(device))
            finally:
                device.close()
        return call

    return {
        "reader": opened(attached.reader, lambda d: f"firmware {d.firmware_version()}") if attached.reader else None,
        "printer": opened(attached.printer, lambda d: _printer_state(d.status())) if attached.printer else None,
        "cash": opened(attached.cash, lambda d: ", ".join(f"{k} {v}" for k, v in d.identify().items()))
        if attached.cash else None,
        "scanner": opened(attached.scanner, lambda _d: "port open") if attached.scanner else None,
    }


def _printer_state(status: Any) -> str:
    fields_ = {k: v for k, v in vars(status).items() if not k.startswith("_")} if hasattr(status, "__dict__") else {}
    if not fields_ and hasattr(status, "__dataclass_fields__"):
        fields_ = {k: getattr(status, k) for k in status.__dataclass_fields__}
    return ", ".join(f"{k} {v}" for k, v in fields_.items()) or str(status)


def check_devices(settings: Settings, report: Report, wait_s: float = DEVICE_WAIT_S) -> None:
    from kiosk.app_runtime.health_file import read

    states = read(settings.data_dir)
    pid = _app_running(states)
    if pid is not None:
        report.add("devices", f"as the running kiosk (pid {pid}) sees them")
        for name, entry in sorted(states.items()):
            last = f"; last error {entry['last_error_at']}: {entry['last_error']}" if entry.get("last_error") else ""
            problem = DoctorDeviceDown(device=name, reason=entry.get("reason") or entry.get("health")) \
                if entry.get("health") == "unavailable" else None
            retry = f"; reopen attempt {entry['reopen_attempt']} in {entry.get('next_retry_s')} s" \
                if entry.get("health") == "unavailable" and entry.get("reopen_attempt") else ""
            report.add(name, f"{entry.get('health')} since {entry.get('since')}{retry}{last}", problem)
        return
    report.add("devices", "asked directly (the kiosk app is not running)")
    try:
        calls = _probe_calls(settings)
    except KioskError as exc:
        report.add("", f"cannot build the devices: {exc}", exc)
        return
    for name, call in calls.items():
        if call is None:
            report.add(name, "not configured")
            continue
        answer, error = _ask(call, wait_s)
        previous = states.get(name, {})
        last = f"; last error the app saw {previous['last_error_at']}: {previous['last_error']}" \
            if previous.get("last_error") else ""
        if answer is not None:
            report.add(name, f"answers: {answer}{last}")
        else:
            report.add(name, f"does NOT answer: {error}{last}", DoctorDeviceDown(device=name, reason=error))


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} TB"


def check_disk(settings: Settings, report: Report) -> None:
    where = settings.data_dir if settings.data_dir.exists() else settings.data_dir.parent
    usage = shutil.disk_usage(where)
    low = usage.free < DISK_LOW_BYTES or usage.free < usage.total * DISK_LOW_SHARE
    report.add("disk", f"{where}: {_size(usage.free)} free of {_size(usage.total)}",
               DoctorDiskLow(free=_size(usage.free), path=str(where)) if low else None)


def check_backup(settings: Settings, report: Report, now: datetime) -> None:
    from kiosk.persistence import backups

    backup_dir = Path(settings.backup.dir) if settings.backup.dir else settings.data_dir / "backups"
    if settings.database.url and not settings.database.url.startswith("sqlite"):
        report.add("backup", "the estate database is backed up on its server (docs/deploy.md)")
        return
    found = backups.listed(backup_dir) if backup_dir.is_dir() else []
    if not found:
        report.add("backup", f"none yet in {backup_dir}")
        return
    last = max(found, key=lambda b: b.taken_at)
    old = now - last.taken_at > timedelta(days=BACKUP_OLD_DAYS)
    when = last.taken_at.strftime("%Y-%m-%d %H:%M UTC")
    report.add("backup", f"last {last.path.name}, {when}" + ("" if last.checksum_file.exists() else ", NO checksum"),
               DoctorBackupOld(when=when, days=BACKUP_OLD_DAYS) if old else None)


def check_crash(report: Report) -> None:
    """The last crash of the kiosk service in the journal (a traceback, a watchdog kill, a core dump)."""
    if shutil.which("journalctl") is None or not any(Path(d).is_dir() for d in JOURNAL_DIRS):
        report.add("last crash", "unknown: no journal on this machine")
        return
    try:
        done = subprocess.run(["journalctl", "-u", SERVICE, "-n", "1", "-o", "short-iso", "--no-pager", "-q",
                               "--grep", CRASH_PATTERN], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        report.add("last crash", f"unknown: {exc}")
        return
    lines = done.stdout.strip().splitlines()
    if lines:
        report.add("last crash", lines[-1][:200])
    elif done.returncode in (0, 1) and not done.stderr.strip():
        report.add("last crash", f"none in the journal of {SERVICE}")
    else:
        words = (done.stderr or "no answer").strip().splitlines()
        report.add("last crash", f"unknown: journalctl: {words[0][:160] if words else done.returncode}")


def check_clock(report: Report) -> None:
    from kiosk.runtime import clock_sync

    found = clock_sync.check_clock()
    text = f"{found.state}" + (f" ({found.source}: {found.detail})" if found.source else f" ({found.detail})")
    problem = DoctorClockUnsynchronised(detail=found.detail) if found.state == clock_sync.NOT_SYNCHRONISED else None
    report.add("clock", text, problem)


def diagnose(settings: Settings, db_url: str | None = None, *, device_wait_s: float = DEVICE_WAIT_S) -> Report:
    report = Report()
    now = datetime.now(timezone.utc)
    report.add("kiosk doctor", f"{now:%Y-%m-%d %H:%M:%S} UTC, site {settings.site.code} kiosk "
                               f"{settings.site.kiosk_code}, data {settings.data_dir}")
    report.add("versions", f"estate-kiosk {_version('estate-kiosk')}, Python {platform.python_version()}, "
                           f"Kivy {_version('Kivy')}")
    check_database(settings, report)
    check_config(settings, db_url, report)
    check_devices(settings, report, device_wait_s)
    check_disk(settings, report)
    check_backup(settings, report, now)
    check_crash(report)
    check_clock(report)
    return report
