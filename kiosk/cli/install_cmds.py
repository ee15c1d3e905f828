"""`kiosk install [--office] [--root DIR] [--check]`: lay a Debian 12 box down as a locked kiosk (or, with --office,
as the estate office server), or check that it is one."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.errors import ConfigError

EXIT_PROBLEMS = 1


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("install", parents=[common],
                       help="as root: the kiosk user, service, kiosk session, udev names, log limits, backup timer "
                            "(docs/deploy.md)")
    p.add_argument("--root", default="/", metavar="DIR",
                   help="write under DIR instead of / (images, packagers, tests); makes the user only when DIR has "
                        "its own etc/passwd and this runs as root")
    p.add_argument("--check", action="store_true", help="change nothing; say what differs, each with its code")
    p.add_argument("--python", metavar="PATH",
                   help="the Python the units run the kiosk with (default: this one); with versioned releases, the "
                        "one under /opt/estate-kiosk/current, so that switching `current` switches the version")
    p.add_argument("--office", action="store_true",
                   help="the estate office server instead: estate-office.service (kiosk office) and "
                        "estate-fleet-watch.service, no kiosk session (docs/office.md)")
    p.add_argument("--listen", metavar="HOST:PORT",
                   help="with --office: where kiosk office listens, behind the TLS proxy (default 127.0.0.1:8750)")
    p.set_defaults(handler=_install)


def _install(args: argparse.Namespace) -> int:
    from kiosk.install import plan as plan_
    from kiosk.install.check import check
    from kiosk.install.lay_down import lay_down, under
    from kiosk.settings import load

    root = Path(args.root).resolve()
    installed_site = under(root, plan_.SITE_FILE)
    site_file = args.config or (str(installed_site) if installed_site.exists() else None)
    site_text = None
    if args.config:
        try:
            site_text = Path(args.config).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(key=f"{args.config}: {exc}") from None
    settings = load(under(root, plan_.DATA_DIR), site_file, with_secrets=False)
    if args.listen is not None and not args.office:
        raise ConfigError(key="--listen is for kiosk install --office")
    if args.office:
        plan = plan_.build_office(settings, python=args.python, listen=args.listen or plan_.OFFICE_LISTEN)
    else:
        plan = plan_.build(settings, python=args.python,
                           usb_source=site_file or str(plan_.TEMPLATES.parents[2] / "config/default.toml"))
    if not args.check:
        for line in lay_down(plan, root, site_text):
            print(f"installed: {line}", flush=True)
    problems = check(plan, root, site_text)
    for problem in problems:
        print(f"kiosk install: {problem}", file=sys.stderr)
    where = "" if root == Path("/") else f" under {root}"
    if problems:
        print(f"kiosk install: {len(problems)} problem(s){where}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"kiosk install: everything in place{where}")
    return 0
