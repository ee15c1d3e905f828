"""`kiosk doctor`: versions, config sources, devices, database, disk, backup, last crash, clock — on one screen."""
from __future__ import annotations

import argparse

from kiosk.cli.common import settings_from


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("doctor", parents=[common],
                       help="what a technician needs on site, on one screen; exits non-zero naming each problem")
    p.add_argument("--device-wait", type=float, default=8.0, metavar="S",
                   help="how long each device is waited for (default 8 s)")
    p.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from kiosk.cli.main import exit_code_for
    from kiosk.site_doctor import diagnose

    from kiosk.settings import SECRETS_FILE, resolve_data_dir

    # secrets only when there are some: the doctor makes nothing, not even a fresh secrets file
    settings = settings_from(args, with_secrets=(resolve_data_dir(args.data_dir) / SECRETS_FILE).exists())
    report = diagnose(settings, args.db_url, device_wait_s=args.device_wait)
    print(report.render(), flush=True)
    return exit_code_for(report.problems[0]) if report.problems else 0
