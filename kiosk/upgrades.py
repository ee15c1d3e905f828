"""`kiosk upgrade RELEASE`: back up, migrate with the new version's code, start it and wait for its READY=1, and
put the previous version and the backup back when any step fails (docs/deploy.md, "Upgrades").

Versions on the box: every release is a directory of its own under `<root>/releases/` (its code and its own
virtualenv; `.venv/bin/kiosk` or `bin/kiosk` is its command), and `<root>/current` is a symlink to the one the kiosk service runs
(ExecStart names `<root>/current/...`). An upgrade points `current` at the new release (one rename of a new
symlink over the old one) and `<root>/previous` at the one it replaces; a rollback points `current` back.

Readiness: the new version is started with NOTIFY_SOCKET set to a datagram socket of this command's own, as
systemd would (Type=notify), and counts as ready when a datagram with the line READY=1 arrives within the limit
(`[backup] upgrade_ready_s`). A start that exits or stays silent until the limit is not ready. The trial process is
then stopped (SIGTERM, then SIGKILL after STOP_WAIT_S): the service manager starts `current` for real.

With `service` (`kiosk upgrade --service estate-kiosk`, on a box where systemd runs the kiosk in its cage session)
the unit is stopped first and the check is systemd's own: `systemctl start` of the Type=notify unit returns once
systemd has the app's READY=1; on a failure the unit is stopped, the previous release and the backup put back and
the unit started again on them. That path needs systemd as PID 1 and is not tested here (docs/deploy.md).
"""
from __future__ import annotations

import os
import select
import shlex
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import DatabaseInUse, ReleaseUnknown, UpgradeMigrationFailed, UpgradeNotReady
from kiosk.persistence import backups, restore

STOP_WAIT_S = 20.0  # as the unit's TimeoutStopSec
DEFAULT_START = "{kiosk} run"


@dataclass(frozen=True)
class Plan:
    release: Path  # the new release directory
    root: Path  # holds `current` (and `previous`)
    live: Path  # the SQLite database
    backup_dir: Path
    kiosk_args: tuple[str, ...]  # --data-dir/--config for the release's own commands
    ready_s: float
    service: str = ""  # a systemd unit: stopped first, and started for the check instead of the start command
    start: str = DEFAULT_START  # the start command, {kiosk} (the release's command), {release} and {data_dir} filled in


@dataclass(frozen=True)
class Upgraded:
    release: Path
    previous: Path | None
    backup: Path
    ready_after_s: float


def release_command(release: Path) -> Path:
    """The release's `kiosk` command: its virtualenv's (`.venv/bin/kiosk`, as scripts/setup makes it) or `bin/kiosk`."""
    for command in (release / ".venv" / "bin" / "kiosk", release / "bin" / "kiosk"):
        if command.is_file() and os.access(command, os.X_OK):
            return command
    raise ReleaseUnknown(str(release), release=str(release))


def current(root: Path) -> Path | None:
    link = root / "current"
    return link.resolve() if link.is_symlink() or link.exists() else None


def point(root: Path, name: str, target: Path) -> None:
    """Make `<root>/<name>` a symlink to `target` in one rename (never a moment without one)."""
    link = root / name
    tmp = root / f".{name}.{os.getpid()}.new"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)


def upgrade(plan: Plan, say: Callable[[str], None] = print) -> Upgraded:
    """The whole upgrade, or UpgradeMigrationFailed / UpgradeNotReady after the previous version and the backup
    were put back."""
    release = plan.release.resolve()
    command = release_command(release)
    if plan.service:
        _systemctl("stop", plan.service)
    in_use = restore.holder(plan.live)
    if in_use is not None:
        raise DatabaseInUse(f"lease held by pid {in_use[0]}", pid=in_use[0], host=in_use[1])
    previous = current(plan.root)
    copy = backups.take(plan.live, plan.backup_dir, tag="before-upgrade").path
    say(f"backup {copy}")
    point(plan.root, "current", release)
    if previous is not None:
        point(plan.root, "previous", previous)
    say(f"current -> {release}" + (f" (was {previous})" if previous else ""))

    def roll_back(why: str) -> None:
        if plan.service:
            _systemctl("stop", plan.service)
        if previous is not None:
            point(plan.root, "current", previous)
        aside = restore.put_back(copy, plan.live)
        say(f"rolled back ({why}): current -> {previous}; database from {copy}"
            + (f"; the new version's database kept as {aside}" if aside else ""))
        if plan.service:
            back = service_ready(plan.service, plan.ready_s)
            say(f"{plan.service} on {previous}: " + (f"ready after {back:.1f} s" if back is not None else
                                                      "NOT ready: see journalctl -u " + plan.service))

    version = str(previous.name if previous else "-")
    migrated = subprocess.run([str(command), "db", "upgrade", *plan.kiosk_args], capture_output=True, text=True)
    if migrated.returncode != 0:
        last = (migrated.stderr.strip().splitlines() or ["?"])[-1]
        roll_back(f"migration failed: {last}")
        raise UpgradeMigrationFailed(last[:300], version=version)
    say(migrated.stdout.strip())
    if plan.service:
        waited = service_ready(plan.service, plan.ready_s)
    else:
        argv = shlex.split(plan.start.format(kiosk=command, release=release, data_dir=_data_dir(plan.kiosk_args)))
        waited = wait_ready(argv, plan.ready_s)
    if waited is None:
        roll_back(f"no READY=1 within {plan.ready_s:g} s")
        raise UpgradeNotReady(f"{release} not ready", seconds=f"{plan.ready_s:g}", version=version)
    say(f"{release.name} reported READY=1 after {waited:.1f} s")
    return Upgraded(release, previous, copy, waited)


def service_ready(unit: str, limit_s: float) -> float | None:
    """Start a Type=notify unit: `systemctl start` returns 0 once systemd has the app's READY=1 (it fails when the
    app exits or the unit's own start timeout passes). Seconds it took, or None (the unit then stopped) when it
    failed or `limit_s` passed first."""
    started = time.monotonic()
    try:
        result = subprocess.run(["systemctl", "start", unit], capture_output=True, text=True, timeout=limit_s)
    except subprocess.TimeoutExpired:
        result = None
    if result is not None and result.returncode == 0:
        return time.monotonic() - started
    _systemctl("stop", unit)
    return None


def _systemctl(verb: str, unit: str) -> None:
    subprocess.run(["systemctl", verb, unit], capture_output=True, text=True, timeout=STOP_WAIT_S + 10)


def _data_dir(args: Sequence[str]) -> str:
    return args[list(args).index("--data-dir") + 1] if "--data-dir" in args else ""


def wait_ready(argv: Sequence[str], limit_s: float, env: dict[str, str] | None = None) -> float | None:
    """Start `argv` with NOTIFY_SOCKET on a listener of this process; the seconds until it sent READY=1, or None
    when it exited or stayed silent for `limit_s`. The process is stopped either way."""
    with tempfile.TemporaryDirectory(prefix="kiosk-notify-") as folder:
        path = os.path.join(folder, "notify")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            listener.bind(path)
            started = time.monotonic()
            proc = subprocess.Popen(list(argv), env={**(env or os.environ), "NOTIFY_SOCKET": path},
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                return _listen(listener, proc, started, limit_s)
            finally:
                stop(proc)
        finally:
            listener.close()


def _listen(listener: socket.socket, proc: subprocess.Popen[bytes], started: float, limit_s: float) -> float | None:
    deadline = started + limit_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        readable, _, _ = select.select([listener], [], [], min(left, 0.2))
        if readable:
            message = listener.recv(4096).decode("utf-8", "replace")
            if "READY=1" in message.splitlines():
                return time.monotonic() - started
        elif proc.poll() is not None:
            return None  # exited before it was ready


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group, SIGKILL after STOP_WAIT_S."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_WAIT_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
