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

    ac = fleet.add_parser(
        "action", parents=[common], help="send a remote action to one kiosk: pause (暂停服务), resume, reload, restart",
        description="The kiosk picks the action up on its next poll ([fleet] action_poll_s) and applies it once, "
                    "even after a restart or an outage. A pause shows its message on the out-of-service page and "
                    "never interrupts a resident: it applies when the current session ends. reload-config checks "
                    "the settings files, then restarts the app with them; restart ends the app for the service "
                    "manager to start it again (both wait for an idle kiosk). Every action is audited with who "
                    "sent it.")
    ac.add_argument("kiosk", help="the kiosk code, e.g. K01")
    ac.add_argument("action", choices=["pause", "resume", "reload-notices", "reload-config", "restart"])
    ac.add_argument("--message", default="", help="for pause: what the kiosk's screen says (1 to 200 characters)")
    ac.add_argument("--by", default="", help="who sends it (default: the user running the command)")
    ac.set_defaults(handler=_action)

    acs = fleet.add_parser("actions", parents=[common], help="the remote actions sent, newest first, with outcomes")
    acs.add_argument("--kiosk", default="", help="only this kiosk's")
    acs.set_defaults(handler=_actions)

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
        tap = f" [reader {r.reader_tap}]" if r.reader_tap else ""
        print(f"{r.kiosk_code:<10} {r.colour:<6} {heard:<21} {r.version or '-':<8} {r.reason}{tap}")
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


def _action(args: argparse.Namespace) -> int:
    from kiosk.fleet import actions
    from kiosk.persistence.db import unit_of_work

    _settings, db = database_from(args)
    with unit_of_work(db.factory) as s:
        row = actions.send(s, args.kiosk, actions.Action(args.action), args.message, _who(args.by))
        print(f"action {row.id} {row.action} for {row.kiosk_code} sent by {row.sent_by}; "
              "the kiosk applies it at its next poll")
    return 0


def _actions(args: argparse.Namespace) -> int:
    from kiosk.domain.site_clock import wall_text
    from kiosk.fleet import actions
    from kiosk.persistence.db import unit_of_work

    _settings, db = database_from(args)
    with unit_of_work(db.factory) as s:
        rows = actions.listing(s, args.kiosk or None)
        if not rows:
            print("no actions")
        for r in rows:
            applied = f"applied {wall_text(r.applied_at, '%m-%d %H:%M:%S')}: {r.outcome}" if r.applied_at \
                else "pending"
            print(f"{r.id:>5} {r.kiosk_code:<8} {r.action:<15} sent {wall_text(r.sent_at, '%m-%d %H:%M:%S')} by "
                  f"{r.sent_by}  {applied}" + (f"  «{r.message}»" if r.message else ""))
    return 0
