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
    return settings, bootstrap.open_database(settings, upgrade=upgrade)
