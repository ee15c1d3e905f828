"""`kiosk office [--listen HOST:PORT]`: the estate office's web console (office/, docs/office.md "The console"),
and `kiosk staff web-password NAME`: a staff user's password for it."""
from __future__ import annotations

import argparse
import getpass
import sys

from kiosk.cli.common import database_from
from kiosk.errors import ConfigError, WebPasswordTooShort


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    office = sub.add_parser(
        "office", parents=[common], help="serve the estate office's web console (fleet, alerts, notices, bills...)",
        description="Serves the web console from the office server, on the database the kiosks share. Staff sign "
                    "in with their web password (kiosk staff web-password). Put it behind a TLS proxy and pass "
                    "--secure-cookies when it is reached over the network.")
    office.add_argument("--listen", default="127.0.0.1:8750", help="HOST:PORT (default 127.0.0.1:8750)")
    office.add_argument("--secure-cookies", action="store_true",
                        help="send the session cookie over HTTPS only (behind a TLS proxy)")
    office.add_argument("--idle-minutes", type=int, default=30, help="a session unused this long ends (default 30)")
    office.set_defaults(handler=_office)

    staff = subgroup(sub, common, "staff", "staff users")
    w = staff.add_parser("web-password", parents=[common],
                         help="set a staff user's password for the office web console (read without echo or stdin)")
    w.add_argument("name")
    w.set_defaults(handler=_web_password)


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:  # 0: any free port (printed)
        raise ConfigError(key=f"--listen {text!r}: expected HOST:PORT like 127.0.0.1:8750")
    return host.strip("[]"), int(port)


def _office(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from office.app import create_app

    host, port = _listen(args.listen)
    if not 1 <= args.idle_minutes <= 24 * 60:
        raise ConfigError(key="--idle-minutes must be 1 to 1440")
    settings, db = database_from(args)
    app = create_app(settings, db, secure_cookies=args.secure_cookies, idle_minutes=args.idle_minutes)
    server = make_server(host, port, app, threaded=True)
    print(f"estate office console on http://{host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _web_password(args: argparse.Namespace) -> int:
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import web_passwords

    if sys.stdin.isatty():
        password = getpass.getpass("web password (10-128 characters): ")
        if getpass.getpass("again: ") != password:
            raise WebPasswordTooShort("the two passwords differ", field="password")
    else:
        password = sys.stdin.readline().rstrip("\n")
    _settings, db = database_from(args)
    with unit_of_work(db.factory) as session:
        view = web_passwords.set_web_password(session, name=args.name, password=password, actor="office:cli")
    print(f"web password set for {view.name} ({view.role})")
    return 0
