"""`kiosk db upgrade|check|backup` and `kiosk audit verify`."""
from __future__ import annotations

import argparse

from kiosk.cli.common import database_from, settings_from
from kiosk.errors import AuditChainBroken


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    db = subgroup(sub, common, "db", "database schema: upgrade, check, backup")
    db.add_parser("upgrade", help="back up, then upgrade the schema to the newest migration",
                  parents=[common]).set_defaults(handler=_upgrade)
    db.add_parser("check", help="exit 0 if the schema is current, 3 if it needs an upgrade; warns about kiosk files "
                                "other users can read", parents=[common]).set_defaults(handler=_check)
    db.add_parser("backup", help="copy the database into <data dir>/backups",
                  parents=[common]).set_defaults(handler=_backup)
    audit = subgroup(sub, common, "audit", "the hash-chained audit log")
    audit.add_parser("verify", help="recompute the chain; exit 3 and name the row when it was altered",
                     parents=[common]).set_defaults(handler=_verify)


def _upgrade(args: argparse.Namespace) -> int:
    from kiosk.persistence import schema

    settings = settings_from(args)
    from kiosk.bootstrap import database_url
    from kiosk.persistence.db import make_engine

    engine = make_engine(database_url(settings))
    before = schema.current_revision(engine)
    copy = schema.upgrade_with_backup(engine, settings.data_dir / "backups")
    after = schema.current_revision(engine)
    print(f"schema {before or 'empty'} -> {after}" + (f"; backup {copy}" if copy else ""))
    return 0


def _check(args: argparse.Namespace) -> int:
    """The schema, then the private files: opening the database already set private what the kiosk's user owns (a
    warning each, in the log); what is still readable by others is printed with the command that fixes it."""
    import sys

    from kiosk import private_files
    from kiosk.bootstrap import sqlite_file
    from kiosk.persistence import schema

    settings, db = database_from(args, upgrade=False)
    print(f"schema current at {schema.current_revision(db.engine)}")
    left = private_files.check(settings.data_dir, sqlite_file(db.url), fix=False)
    for finding in left:
        warning = finding.warning()
        print(f"kiosk: warning [{warning.code}] {warning.user_message(settings.ui.language)}", file=sys.stderr)
    if not left:
        print(f"private files: no other user can read {settings.data_dir} or the database")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from kiosk.persistence import schema

    settings, db = database_from(args, upgrade=False)
    copy = schema.backup(db.engine, settings.data_dir / "backups")
    print(copy if copy else "nothing to back up (empty database)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import audit

    _, db = database_from(args, upgrade=False)
    with unit_of_work(db.factory) as session:
        report = audit.verify(session)
    if not report.ok:
        raise AuditChainBroken(report.reason, entry_id=report.broken_at)
    print(f"audit chain verified: {report.entries} entries")
    return 0
