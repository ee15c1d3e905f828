"""Make the target match the plan: the user, directories, files, boot links. Idempotent: a second run finds
everything in place and changes nothing (the returned list of changes is empty)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from kiosk.errors import InstallNeedsRoot
from kiosk.install import system_user
from kiosk.install.plan import DATA_DIR, SITE_FILE, Plan, render
from kiosk.settings import SECRETS_FILE, load_secrets


def under(root: Path, path: Path) -> Path:
    return root / path.relative_to("/")


def manages_accounts(root: Path) -> bool:
    """Users are made and files given to them on / (as root), and under a --root that has its own etc/passwd
    when run as root; otherwise files keep the installing user as owner."""
    return os.geteuid() == 0 and system_user.has_accounts(root)


def lay_down(plan: Plan, root: Path, site_text: str | None = None) -> list[str]:
    """Returns what changed, one line each."""
    if root == Path("/") and os.geteuid() != 0:
        raise InstallNeedsRoot()
    changes: list[str] = []
    accounts = manages_accounts(root)
    if accounts and system_user.ensure(root, plan.user, DATA_DIR, plan.groups):
        changes.append(f"user {plan.user} (groups {', '.join(plan.groups) or '-'})")
    for spec in plan.dirs:
        path = under(root, spec.path)
        if not path.is_dir():
            path.mkdir(parents=True)
            path.chmod(spec.mode)
            changes.append(f"{spec.path}/")
        changes += _own(root, path, spec.path, spec.mode, spec.owner, spec.group, accounts)
    for spec in plan.files:
        path = under(root, spec.path)
        content = spec.content
        if spec.path == SITE_FILE:
            content = site_text if site_text is not None else (None if path.exists() else render("site.toml", {}))
        if spec.path.name == SECRETS_FILE and not path.exists():
            load_secrets(under(root, DATA_DIR))  # random, mode 0600: kiosk.settings
            changes.append(str(spec.path))
        if content is not None and _write(path, content, spec.mode):
            changes.append(str(spec.path))
        changes += _own(root, path, spec.path, spec.mode, spec.owner, spec.group, accounts)
    for link in plan.links:
        path = under(root, link.path)
        if not (path.is_symlink() and Path(os.readlink(path)) == link.target):
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink() or path.exists():
                path.unlink()
            path.symlink_to(link.target)
            changes.append(f"{link.path} -> {link.target}")
    if changes and root == Path("/") and Path("/run/systemd/system").is_dir():  # systemd is running: tell it
        udev = [["udevadm", "control", "--reload"],
                ["udevadm", "trigger", "--subsystem-match=tty", "--subsystem-match=usbmisc"]] if plan.compositor else []
        for command in (["systemctl", "daemon-reload"], *udev):
            subprocess.run(command, capture_output=True, timeout=60, check=False)
    return changes


def _write(path: Path, content: str, mode: int) -> bool:
    try:
        if path.read_text(encoding="utf-8") == content:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.kiosk-install")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), mode)  # whatever the umask
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # whole or not at all, even through a power cut
    return True


def _own(root: Path, path: Path, shown: Path, mode: int, owner: str, group: str, accounts: bool) -> list[str]:
    changes = []
    st = path.stat()
    if st.st_mode & 0o7777 != mode:
        path.chmod(mode)
        changes.append(f"{shown} mode {mode:04o}")
    if accounts:
        uid = (system_user.ids(root, owner) or (0, 0))[0]
        gid = (system_user.ids(root, group) or (0, 0))[1]
        if (st.st_uid, st.st_gid) != (uid, gid):
            os.chown(path, uid, gid)
            changes.append(f"{shown} owner {owner}:{group}")
    return changes
