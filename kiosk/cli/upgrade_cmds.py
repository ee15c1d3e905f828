"""`kiosk upgrade RELEASE`: backup, migrations, start and READY, or the previous version and the backup put back
(kiosk.upgrades; docs/deploy.md, "Upgrades")."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("upgrade", help="back up, migrate, start the new release and wait for READY=1; roll back to "
                                       "the previous release and the backup when it does not come", parents=[common])
    p.add_argument("release", metavar="RELEASE", help="the new release's directory (<root>/releases/<version>)")
    p.add_argument("--root", metavar="DIR", help="where the `current` symlink is (default: RELEASE/../..)")
    p.add_argument("--ready-s", type=float, metavar="S", help="the limit for READY=1 (default: [backup] "
                                                              "upgrade_ready_s)")
    p.add_argument("--start-command", metavar="CMD", help="how the release is started for the check, {kiosk} (its "
                                                          "command), {release} and {data_dir} filled in (default: "
                                                          "'{kiosk} run')")
    p.add_argument("--service", metavar="UNIT", help="a systemd unit (estate-kiosk): stop it first, then start it "
                                                     "and let systemd wait for READY=1 (instead of --start-command)")
    p.set_defaults(handler=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    from kiosk import upgrades
    from kiosk.bootstrap import database_url, sqlite_file
    from kiosk.cli.common import settings_from
    from kiosk.cli.db_cmds import _refused, backup_dir
    from kiosk.errors import BackupOnServer, KioskError

    settings = settings_from(args)
    live = sqlite_file(database_url(settings))
    if live is None:  # an estate database: back it up on the server first (docs/deploy.md, "Upgrades")
        return _refused(BackupOnServer(database_url(settings).split("@")[-1]), settings.ui.language)
    release = Path(args.release).expanduser().resolve()
    kiosk_args = ["--data-dir", str(settings.data_dir)] + (["--config", args.config] if args.config else [])
    plan = upgrades.Plan(release=release, root=Path(args.root).resolve() if args.root else release.parent.parent,
                         live=live, backup_dir=backup_dir(settings), kiosk_args=tuple(kiosk_args),
                         ready_s=args.ready_s or float(settings.backup.upgrade_ready_s),
                         start=args.start_command or upgrades.DEFAULT_START, service=args.service or "")
    try:
        done = upgrades.upgrade(plan)
    except KioskError as exc:
        return _refused(exc, settings.ui.language)
    print(f"upgraded to {done.release.name}" + (f"; {args.service} runs it" if args.service else
                                                 "; start the service now (systemctl start estate-kiosk)"))
    return 0
