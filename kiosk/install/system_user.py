"""The kiosk's system user on the target: read from its passwd/group files, made with useradd/usermod.

Both take the target's root, so that `kiosk install --root DIR` works on DIR's own /etc when DIR has one
(useradd --root): a packager's image or a test's copy of /etc. Under a --root without etc/passwd, the user is
not made and files keep the installing user as owner (docs/deploy.md, "--root").
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import InstallStepFailed


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    groups: tuple[str, ...]  # supplementary groups, sorted


def _rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def has_accounts(root: Path) -> bool:
    return (root / "etc" / "passwd").exists() and (root / "etc" / "group").exists()


def account(root: Path, name: str) -> Account | None:
    for row in _rows(root / "etc" / "passwd"):
        if len(row) >= 4 and row[0] == name:
            groups = sorted(g[0] for g in _rows(root / "etc" / "group") if len(g) >= 4 and name in g[3].split(","))
            return Account(name, int(row[2]), int(row[3]), tuple(groups))
    return None


def ids(root: Path, name: str) -> tuple[int, int] | None:
    """(uid, gid) of a user or, for a group-only name, (-1, gid)."""
    found = account(root, name)
    if found is not None:
        return found.uid, found.gid
    for row in _rows(root / "etc" / "group"):
        if len(row) >= 3 and row[0] == name:
            return -1, int(row[2])
    return None


def name_of_uid(root: Path, uid: int) -> str:
    return next((r[0] for r in _rows(root / "etc" / "passwd") if len(r) >= 3 and r[2] == str(uid)), str(uid))


def name_of_gid(root: Path, gid: int) -> str:
    return next((r[0] for r in _rows(root / "etc" / "group") if len(r) >= 3 and r[2] == str(gid)), str(gid))


def ensure(root: Path, name: str, home: Path, groups: tuple[str, ...]) -> bool:
    """Make the system user (own group, no login shell, no home of its own made) in exactly `groups`.
    True when something changed."""
    prefix = [] if root == Path("/") else ["--root", str(root)]
    existing = account(root, name)
    if existing is None:
        in_groups = ["--groups", ",".join(groups)] if groups else []  # the office server's user: none
        _run(["useradd", *prefix, "--system", "--user-group", *in_groups, "--home-dir", str(home),
              "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", "Estate kiosk", name])
        return True
    if existing.groups != tuple(sorted(groups)):
        _run(["usermod", *prefix, "--groups", ",".join(groups), name])  # -G without -a: exactly these
        return True
    return False


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallStepFailed(step=command[0], reason=str(exc)) from None
    if done.returncode != 0:
        raise InstallStepFailed(step=" ".join(command[:1]), reason=(done.stderr or done.stdout).strip()[:300])
