"""What every subcommand needs from the common options: settings and an open database.

SQLAlchemy and Alembic are imported only when a command opens the database, so `kiosk --help` and the
start of `kiosk run` (which opens the window before the database) stay quick."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kiosk import settings as settings_mod
from kiosk.settings import Settings

if TYPE_CHECKING:
    from kiosk.bootstrap import Database


def settings_from(args: argparse.Namespace, with_secrets: bool = True) -> Settings:
    return settings_mod.load_for(args.data_dir, args.config, getattr(args, "db_url", None), with_secrets)


def database_from(args: argparse.Namespace, upgrade: bool = True) -> tuple[Settings, Database]:
    from kiosk import bootstrap

    settings = settings_from(args)
    return settings, own_chain(bootstrap.open_database(settings, upgrade=upgrade))


def own_chain(db: Database) -> Database:
    """A command's writes go to a chain of its own, `<kiosk code>.cli`, never to the kiosk's: the running app
    keeps its chain's head in memory (kiosk.persistence.chain) and a write behind its back would fail the
    resident's next transaction (docs/fleet.md, "The chain head kept in memory")."""
    from dataclasses import replace

    from kiosk.persistence.chain import binding_of_factory, writer_binding
    from kiosk.persistence.db import make_session_factory

    binding = binding_of_factory(db.factory)
    if binding is None:
        return db
    return replace(db, factory=make_session_factory(db.engine, chain=writer_binding(binding, "cli")))
