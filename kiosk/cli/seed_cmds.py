"""`kiosk seed-demo`: load the demo estate into an empty database and print the demo PINs."""
from __future__ import annotations

import argparse

from kiosk.cli.common import database_from
from kiosk.errors import BusinessRuleError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("seed-demo", help="fill an empty database with the demo estate", parents=[common])
    p.set_defaults(handler=_seed)


def seed_if_empty(settings, db) -> object | None:  # type: ignore[no-untyped-def]
    """Seed on first run; returns the report, or None when the site already has households."""
    from kiosk import bootstrap
    from kiosk.demo import estate
    from kiosk.persistence.db import unit_of_work

    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(db.factory) as session:
        if estate.already_seeded(session, till.site_id):
            return None
        return estate.seed(session, till)


def print_report(report) -> None:  # type: ignore[no-untyped-def]
    print(f"demo estate: {report.households} households, {report.cards} cards, {report.bills} bills "
          f"({report.paid_bills} paid), {report.notices} notices")
    print("staff sign-in (name / role / PIN / staff card UID; tap the card, then the PIN):")
    for name, role, pin, card_uid in report.staff:
        print(f"  {name:8} {role:11} {pin}  {card_uid}")
    print(f"household PIN for unit sign-in: {report.household_pin}")
    print("sample cards (UID / kind / unit):")
    for uid, kind, unit in report.sample_cards:
        print(f"  {uid}  {kind:9} {unit}")


def _seed(args: argparse.Namespace) -> int:
    settings, db = database_from(args)
    report = seed_if_empty(settings, db)
    if report is None:
        raise BusinessRuleError("the site already has households; seed-demo only fills an empty database")
    print_report(report)
    return 0
