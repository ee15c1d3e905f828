"""`kiosk household pin UNIT` (set or change a household's PIN, 6-12 digits) and `kiosk household unlock UNIT`
(clear its lock-out after five wrong PINs). Both audited as the office."""
from __future__ import annotations

import argparse

from kiosk.cli.common import database_from

OFFICE = "cli:office"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    household = subgroup(sub, common, "household", "a household's PIN")
    p = household.add_parser("pin", help="set or change the household's PIN (6-12 digits), read without echo or "
                                         "from stdin; clears any lock-out", parents=[common])
    p.add_argument("unit", help="the unit number, e.g. 1-0302")
    p.set_defaults(handler=_pin)
    u = household.add_parser("unlock", help="clear the household's PIN lock-out (five wrong PINs in a row)",
                             parents=[common])
    u.add_argument("unit", help="the unit number, e.g. 1-0302")
    u.set_defaults(handler=_unlock)


def _pin(args: argparse.Namespace) -> int:
    from kiosk import bootstrap
    from kiosk.cli.admin_cmds import _read_pin
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import households

    pin = _read_pin()
    settings, db = database_from(args)
    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(db.factory) as session:
        household_id = households.household_id_of(session, till.site_id, args.unit)
        households.set_household_pin(session, household_id, pin, actor=OFFICE)
    print(f"household {args.unit.strip()}: PIN set")
    return 0


def _unlock(args: argparse.Namespace) -> int:
    from kiosk import bootstrap
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import households

    settings, db = database_from(args)
    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(db.factory) as session:
        before = households.clear_pin_lockout(session, till.site_id, args.unit, actor=OFFICE)
    print(f"household {before.unit_no}: lock-out cleared ({before.failed} wrong PINs)")
    return 0
