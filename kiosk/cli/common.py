"""What every subcommand needs from the common options: settings and an open database."""
from __future__ import annotations

import argparse

from kiosk import bootstrap
from kiosk.settings import Settings


def settings_from(args: argparse.Namespace, with_secrets: bool = True) -> Settings:
    return bootstrap.load_settings(args.data_dir, args.config, getattr(args, "db_url", None), with_secrets)


def database_from(args: argparse.Namespace, upgrade: bool = True) -> tuple[Settings, bootstrap.Database]:
    settings = settings_from(args)
    return settings, bootstrap.open_database(settings, upgrade=upgrade)
