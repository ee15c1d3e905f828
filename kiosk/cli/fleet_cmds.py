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

    al = fleet.add_parser(
        "alerts", parents=[common], help="alert episodes, newest first; --clear a sticky one with a note",
        description="Self-clearing alerts (silent, paper_out, cover_open, device_down) end with their condition; "
                    "sticky ones (cash_box_removed, card_tampered, pin_lockouts, unknown_kiosk) are cleared by staff "
                    "with a note. One row per episode: first seen, last seen, cleared at / by, note.")
    al.add_argument("--open", action="store_true", help="only the alerts not cleared yet")
    al.add_argument("--json", action="store_true", help="one JSON array")
    al.add_argument("--clear", type=int, metavar="ID", help="clear this sticky alert (needs --note)")
    al.add_argument("--note", default="", help="what was done (1 to 300 characters)")
    al.add_argument("--by", default="", help="who clears it (default: the user running the command)")
    al.set_defaults(handler=_alerts)

    wa = fleet.add_parser(
        "watch", parents=[common], help="the office's evaluator: alerts and their delivery every heartbeat",
        description="Evaluates the fleet's alerts and delivers the outbox (log, webhook) every [fleet] "
                    "heartbeat_s, as every live kiosk also does: run it on the office server so that alerts "
                    "about silent kiosks are raised even when every kiosk is down.")
    wa.add_argument("--once", action="store_true", help="one round, then exit")
    wa.set_defaults(handler=_watch)


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


def _who(given: str) -> str:
    import getpass

    if given.strip():
        return given.strip()[:60]
    try:
        return f"office:{getpass.getuser()}"
    except (KeyError, OSError):
        return "office"


def _alerts(args: argparse.Namespace) -> int:
    from kiosk.domain.site_clock import wall_text
    from kiosk.fleet import alerts
    from kiosk.persistence.db import unit_of_work

    _settings, db = database_from(args)
    if args.clear is not None:
        with unit_of_work(db.factory) as s:
            episode = alerts.clear(s, args.clear, _who(args.by), args.note)
            print(f"alert {episode.id} cleared by {episode.cleared_by}: {episode.note}")
        return 0
    with unit_of_work(db.factory) as s:
        rows = alerts.listing(s, open_only=args.open)
        if args.json:
            print(json.dumps([alerts.body(r, "cleared" if r.cleared_at else "open") for r in rows],
                             ensure_ascii=False, sort_keys=True))
            return 0
        if not rows:
            print("no open alerts" if args.open else "no alerts")
        for r in rows:
            def t(value):  # type: ignore[no-untyped-def]
                return wall_text(value, "%m-%d %H:%M:%S") if value is not None else "-"
            state = f"cleared {t(r.cleared_at)} by {r.cleared_by}" + (f": {r.note}" if r.note else "") \
                if r.cleared_at else ("OPEN (sticky: clear with a note)" if r.sticky else "OPEN")
            print(f"{r.id:>5} {r.kiosk_code or 'estate':<8} {r.kind:<16} first {t(r.first_seen)} last {t(r.last_seen)}"
                  f"  {state}  {r.detail}")
    return 0


def _watch(args: argparse.Namespace) -> int:
    import logging
    import time

    from kiosk.errors import KioskError
    from kiosk.fleet import alerts, notifier
    from kiosk.persistence.db import unit_of_work

    settings, db = database_from(args)
    send = notifier.from_settings(settings)
    while True:
        try:
            with unit_of_work(db.factory) as s:
                changes = alerts.evaluate(s, settings.fleet)
            delivered, failed = notifier.deliver_due(db.factory, send)
        except KioskError as exc:  # the database away: the next round tries again
            if args.once:
                raise
            logging.getLogger(__name__).warning("fleet watch: %s", exc)
            time.sleep(settings.fleet.heartbeat_s)
            continue
        if args.once:
            print(f"raised {len(changes.raised)}, cleared {len(changes.cleared)}, delivered {delivered}, "
                  f"failed {failed}")
            return 0
        time.sleep(settings.fleet.heartbeat_s)
