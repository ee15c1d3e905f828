"""`kiosk install --check`: compare the target with the plan; every difference is one InstallError with its code."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from kiosk.errors import (
    InstallCompositorMissing,
    InstallError,
    InstallFileChanged,
    InstallFileMissing,
    InstallFileMode,
    InstallKioskOnOffice,
    InstallNotEnabled,
    InstallUnitInvalid,
    InstallUserGroups,
    InstallUserMissing,
)
from kiosk.install import system_user
from kiosk.install.lay_down import manages_accounts, under
from kiosk.install.plan import SITE_FILE, Plan

COMPOSITOR = Path("/usr/bin/cage")


def check(plan: Plan, root: Path, site_text: str | None = None) -> list[InstallError]:
    problems: list[InstallError] = []
    accounts = manages_accounts(root) or (root == Path("/") and system_user.has_accounts(root))
    if accounts:
        found = system_user.account(root, plan.user)
        if found is None:
            problems.append(InstallUserMissing(user=plan.user))
        elif found.groups != tuple(sorted(plan.groups)):
            problems.append(InstallUserGroups(user=plan.user, groups=", ".join(found.groups) or "-",
                                              wanted=", ".join(plan.groups) or "-"))
    for spec in plan.dirs:
        problems += _mode(root, under(root, spec.path), spec.path, spec.mode, spec.owner, spec.group, accounts)
    for spec in plan.files:
        path = under(root, spec.path)
        if not path.exists():
            problems.append(InstallFileMissing(path=str(spec.path)))
            continue
        wanted = site_text if spec.path == SITE_FILE else spec.content
        if wanted is not None and path.read_bytes() != wanted.encode("utf-8"):
            problems.append(InstallFileChanged(path=str(spec.path)))
        problems += _mode(root, path, spec.path, spec.mode, spec.owner, spec.group, accounts)
    for link in plan.links:
        path = under(root, link.path)
        if not (path.is_symlink() and Path(os.readlink(path)) == link.target):
            problems.append(InstallNotEnabled(unit=link.target.name))
    for path in plan.absent:
        if under(root, path).exists() or under(root, path).is_symlink():
            problems.append(InstallKioskOnOffice(path=str(path)))
    if plan.compositor and not COMPOSITOR.exists():
        problems.append(InstallCompositorMissing())
    problems += verify_units([under(root, unit) for unit in plan.units if under(root, unit).exists()])
    return problems


def _mode(root: Path, path: Path, shown: Path, mode: int, owner: str, group: str,
          accounts: bool) -> list[InstallError]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return [InstallFileMissing(path=str(shown))]
    have = (system_user.name_of_uid(root, st.st_uid), system_user.name_of_gid(root, st.st_gid))
    wrong_mode = st.st_mode & 0o7777 != mode
    if wrong_mode or (accounts and have != (owner, group)):
        return [InstallFileMode(path=str(shown), mode=f"{st.st_mode & 0o7777:04o}", owner=":".join(have),
                                wanted=f"{mode:04o}", wanted_owner=f"{owner}:{group}")]
    return []


def verify_units(paths: list[Path]) -> list[InstallError]:
    """`systemd-analyze verify` on the unit files as written (their own directory first on the unit path, so that
    OnFailure= and the timer's service resolve to the files beside them)."""
    if not paths:
        return []
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return [InstallUnitInvalid(unit=", ".join(p.name for p in paths), reason="systemd-analyze is not installed")]
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{paths[0].parent}:", "SYSTEMD_LOG_COLOR": "0"}
    done = subprocess.run([tool, "verify", "--man=no", *map(str, paths)], capture_output=True, text=True,
                          env=env, timeout=120)
    problems: list[InstallError] = []
    for line in (done.stderr + done.stdout).splitlines():
        named = next((p.name for p in paths if p.name in line), None)
        if named is not None and line.strip():
            problems.append(InstallUnitInvalid(unit=named, reason=line.strip()))
    if done.returncode != 0 and not problems:
        problems.append(InstallUnitInvalid(unit=", ".join(p.name for p in paths),
                                           reason=(done.stderr or done.stdout).strip()[:300] or f"exit {done.returncode}"))
    return problems
