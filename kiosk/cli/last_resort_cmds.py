"""`kiosk last-resort`: the out-of-service page of estate-kiosk-last-resort.service (docs/deploy.md)."""
from __future__ import annotations

import argparse
import logging
from datetime import datetime, timezone
from typing import Any

from kiosk.errors import KioskError

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("last-resort", parents=[common],
                       help="the out-of-service page with a reference for staff, shown after repeated failures")
    p.add_argument("--size", metavar="WxH", help="a window of this size instead of full screen (tests)")
    p.set_defaults(handler=_last_resort)


def _settings(args: argparse.Namespace) -> Any:
    """The site's settings when they load, else the packaged defaults alone: a broken site file may be why the
    kiosk keeps failing, and this page must show all the same."""
    from kiosk import settings as settings_mod

    data_dir = settings_mod.resolve_data_dir(args.data_dir)
    try:
        return settings_mod.load(data_dir, args.config, with_secrets=False)
    except KioskError as exc:
        print(f"kiosk last-resort: the settings do not load ({exc}); showing the page with the defaults", flush=True)
        return settings_mod.load(data_dir.parent / ".kiosk-last-resort-no-data", str(settings_mod.DEFAULT_FILE),
                                 with_secrets=False)


def _last_resort(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from screens.last_resort_page import run
    from screens.ui_settings import ui_settings_from

    settings = _settings(args)
    reference = f"{settings.site.kiosk_code}-{datetime.now(timezone.utc):%y%m%d-%H%M}"
    ui = settings.ui
    if args.size:
        width, height = (int(v) for v in args.size.lower().split("x"))
        ui = replace(ui, fullscreen=False, borderless=True, width=width, height=height)
    else:
        ui = replace(ui, fullscreen=True, borderless=True, show_cursor=False)
    message = f"kiosk last-resort: out of service after repeated failures, reference {reference}"
    log.error("%s", message)
    print(message, flush=True)
    return run(ui_settings_from(replace(settings, ui=ui)), reference,
               on_shown=lambda: print("LAST_RESORT_SHOWN", flush=True))
