"""`kiosk db upgrade|check|backup|restore` and `kiosk audit verify|key-id`."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import database_from, settings_from

if TYPE_CHECKING:
    from kiosk.errors import KioskError
    from kiosk.settings import Settings


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    db = subgroup(sub, common, "db", "database schema: upgrade, check, backup")
    db.add_parser("upgrade", help="back up, then upgrade the schema to the newest migration",
                  parents=[common]).set_defaults(handler=_upgrade)
    db.add_parser("check", help="exit 0 if the schema is current, 3 if it needs an upgrade; warns about kiosk files "
                                "other users can read", parents=[common]).set_defaults(handler=_check)
    backup = db.add_parser("backup", help="an online backup of the SQLite database with its .sha256, then the "
                                          "retention of [backup]; prints the file", parents=[common])
    backup.add_argument("--to", metavar="DIR", help="the folder (default: [backup] dir, else <data dir>/backups)")
    backup.add_argument("--nightly", action="store_true",
                        help="as the nightly timer runs it: on a PostgreSQL database say that the office server "
                             "backs it up and succeed, instead of refusing (E8140)")
    backup.set_defaults(handler=_backup)
    restore = db.add_parser("restore", help="check a backup (checksum, integrity, schema, ledger, audit chain), "
                                            "then make it the database; the old one is kept aside",
                            parents=[common])
    restore.add_argument("file", metavar="FILE", help="a kiosk-*.sqlite3 backup with its .sha256 beside it")
    restore.set_defaults(handler=_restore)
    audit = subgroup(sub, common, "audit", "the keyed audit chain and the ledger invariants")
    verify = audit.add_parser("verify", help="check every chain and the ledger; exit 3 and name the first row that "
                                             "fails", parents=[common])
    verify.add_argument("--head", action="append", default=[], metavar="CHAIN:LINK:MAC",
                        help="a chain head as printed on a settlement slip (e.g. 'K01:1234:3f2a9c01 77de0a4b ...'); "
                             "the chain must still hold that link (repeatable)")
    verify.add_argument("--all", action="store_true", help="list every problem found, not only the first")
    verify.set_defaults(handler=_verify)
    audit.add_parser("key-id", help="the fingerprint of this data directory's audit key (the same on every kiosk "
                                    "of the estate)", parents=[common]).set_defaults(handler=_key_id)


def _upgrade(args: argparse.Namespace) -> int:
    from kiosk.persistence import schema

    settings = settings_from(args)
    from kiosk.bootstrap import database_url
    from kiosk.persistence.db import make_engine

    from kiosk.bootstrap import chain_binding

    engine = make_engine(database_url(settings))
    binding = chain_binding(settings)
    before = schema.current_revision(engine)
    copy = schema.upgrade_with_backup(engine, settings.data_dir / "backups", audit_key=binding.key if binding else None)
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
    """SQLite only (kiosk.persistence.backups); a PostgreSQL database is backed up on its server (E8140)."""
    from kiosk.bootstrap import database_url, sqlite_file
    from kiosk.errors import BackupOnServer
    from kiosk.persistence import backups

    settings = settings_from(args, with_secrets=False)
    source = sqlite_file(database_url(settings))
    if source is None:
        refusal = BackupOnServer(database_url(settings).split("@")[-1])
        if args.nightly:  # a kiosk of a shared database: nothing of its own to back up, and no failed timer
            print(f"[{refusal.code}] {refusal.user_message(settings.ui.language)}")
            return 0
        return _refused(refusal, settings.ui.language)
    if not source.exists() or source.stat().st_size == 0:
        print("nothing to back up (no database yet)")
        return 0
    folder = Path(args.to) if args.to else backup_dir(settings)
    taken = backups.take(source, folder)
    print(taken.path)
    keep = settings.backup
    for gone in backups.prune(folder, keep.nightly_keep, keep.weekly_keep):
        print(f"retention: deleted {gone}")
    return 0


def backup_dir(settings: Settings) -> Path:
    return Path(settings.backup.dir).expanduser() if settings.backup.dir else settings.data_dir / "backups"


def _restore(args: argparse.Namespace) -> int:
    """Every check before anything is replaced (kiosk.persistence.restore); a refusal is one translated line."""
    from kiosk.bootstrap import chain_binding, database_url, sqlite_file
    from kiosk.errors import BackupOnServer, ConfigError, KioskError
    from kiosk.persistence import restore

    settings = settings_from(args)
    language = settings.ui.language
    live = sqlite_file(database_url(settings))
    if live is None:
        return _refused(BackupOnServer(database_url(settings).split("@")[-1]), language)
    binding = chain_binding(settings)
    if binding is None:
        raise ConfigError(key="secrets.toml: audit_key is needed to verify a backup")
    try:
        done = restore.restore(Path(args.file).expanduser().resolve(), live, binding.key)
    except KioskError as exc:
        return _refused(exc, language)
    print(f"restored {args.file} (schema {done.revision}) as {live}")
    print(f"  {done.summary}")
    if done.aside is not None:
        print(f"  the database it replaced is kept as {done.aside}")
    return 0


def _refused(err: KioskError, language: str) -> int:
    import sys

    from kiosk.cli.main import exit_code_for

    print(f"kiosk: [{err.code}] {err.user_message(language)}", file=sys.stderr)
    return exit_code_for(err)


def _verify(args: argparse.Namespace) -> int:
    import sys

    from kiosk.bootstrap import chain_binding
    from kiosk.cli.main import exit_code_for
    from kiosk.errors import ConfigError
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import integrity

    settings, db = database_from(args, upgrade=False)
    binding = chain_binding(settings)
    if binding is None:
        raise ConfigError(key="secrets.toml: audit_key is needed to verify")
    try:
        printed = [integrity.PrintedHead.parse(text) for text in args.head]
    except ValueError:
        raise ConfigError(key=f"--head {args.head}: expected CHAIN:LINK:MAC as printed on the slip") from None
    with unit_of_work(db.factory) as session:
        report = integrity.verify(session, binding.key, printed=printed)
    if report.ok:
        print(report.summary())
        for chain, seq, mac in report.heads:
            print(f"  chain {chain}: link {seq} {mac}")
        return 0
    language = settings.ui.language
    shown = report.problems if args.all else report.problems[:1]
    for problem in shown:
        err = problem.error
        print(f"kiosk: [{err.code}] {err.user_message(language)} ({problem.what})", file=sys.stderr)
    if len(report.problems) > len(shown):
        more = f"{len(report.problems) - 1}{'+' if report.full else ''}"
        print(f"kiosk: {more} more problems; `kiosk audit verify --all` lists them", file=sys.stderr)
    return exit_code_for(report.problems[0].error)


def _key_id(args: argparse.Namespace) -> int:
    from kiosk.bootstrap import chain_binding

    binding = chain_binding(settings_from(args))
    print(binding.key_id if binding else "no audit key")
    return 0
