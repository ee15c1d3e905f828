"""`kiosk fleet status|alerts|action|watch`: the estate office on the shell (kiosk/fleet, docs/office.md)."""
from __future__ import annotations

import argparse
import json

from kiosk.cli.common import database_from


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    fleet = subgroup(sub, common, "fleet", "the estate office: every kiosk's status, alerts, remote actions")
    st = fleet.add_parser(
        "status", parents=[common], help="one row per kiosk with its colour and the reason in words",
        description="green: heard within [fleet] silent_after_s (2 min) and nothing wrong; yellow: warnings (paper "
                    "near end, cash box 80 %% full, maintenance, out of service); red: silent longer, never heard "
                    "from, or a device down. Times are the database's clock.")
    st.add_argument("--json", action="store_true", help="one JSON array with every kiosk's full heartbeat")
    st.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from kiosk.domain.site_clock import wall_text
    from kiosk.fleet import status
    from kiosk.persistence.db import unit_of_work

    settings, db = database_from(args)
    with unit_of_work(db.factory) as s:
        rows = status.fleet(s, settings.fleet)
    if args.json:
        print(json.dumps([r.to_json() for r in rows], ensure_ascii=False, sort_keys=True))
        return 0
    if not rows:
        print("no kiosks yet")
    for r in rows:
        heard = f"heard {wall_text(r.last_heard, '%m-%d %H:%M:%S')}" if r.last_heard else "never heard"
        print(f"{r.kiosk_code:<10} {r.colour:<6} {heard:<21} {r.version or '-':<8} {r.reason}")
    return 0
