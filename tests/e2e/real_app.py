"""`python -m tests.e2e.real_app`: the kiosk exactly as `kiosk demo` assembles it — real drivers on the
wire-level simulators, the demo estate in a fresh database, the card station, the print spooler — with
the demo bar and the e2e window hook (KIOSK_TEST_HOOK). The e2e tests start it in a subprocess."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.real_app", description=__doc__)
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--db-url", default=None, help="default: SQLite in the data directory")
    parser.add_argument("--households", type=int, default=12)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from kiosk import settings as settings_mod
    from kiosk.cli.app_cmds import Started, run_in_window, stop_unused
    from tests.support.hook_install import install_from_env

    install_from_env()

    settings = settings_mod.load_for(str(args.data_dir), None, args.db_url, True)

    def start(bus: object) -> Started:
        from kiosk import bootstrap
        from kiosk.app_runtime.demo import start_demo_runtime
        from kiosk.demo import estate
        from kiosk.persistence.db import unit_of_work

        db = bootstrap.open_database(settings)
        till = bootstrap.ensure_till(db, settings)
        with unit_of_work(db.factory) as session:
            if not estate.already_seeded(session, till.site_id):
                estate.seed(session, till, households=args.households)
        rt, sims = start_demo_runtime(settings, db, bus, prepared.pop("sims", None))  # type: ignore[arg-type]
        from kiosk.app_runtime.usable import wait_usable

        wait_usable(rt)  # as `kiosk demo` does: ServicesReady and READY=1 mean usable
        print(f"REAL_APP_READY {settings.data_dir}", flush=True)
        freeze_when_asked()
        reader_gone_when_asked(sims)
        return Started(rt.settings, rt, sims)

    prepared: dict[str, object] = {}

    def prepare() -> None:  # while the database is gone, as `kiosk demo` does
        from kiosk.app_runtime.demo import start_demo_simulators
        from kiosk.app_runtime.wiring import prepare_without_database

        prepare_without_database()
        prepared["sims"] = start_demo_simulators(settings)

    # the window opens first and the runtime starts behind it, exactly as `kiosk demo` does
    try:
        return run_in_window(settings, start, prepare)
    finally:
        stop_unused(prepared)

def freeze_when_asked() -> None:
    """The test-only debug hook of the self-healing ladder (docs/deploy.md): with KIOSK_TEST_FREEZE_FILE=PATH set,
    the Kivy main loop looks for PATH every 0.2 s and, once it appears, deletes it and never returns from that
    frame: a hung UI, as the watchdog sees one. Only this test entry point reads the variable; `kiosk run` and
    the touchscreen have no way to it."""
    import os
    import time

    path = os.environ.get("KIOSK_TEST_FREEZE_FILE")
    if not path:
        return
    from kivy.clock import Clock

    def look(_dt: float) -> None:
        if os.path.exists(path):
            os.unlink(path)
            print("REAL_APP_FREEZING", flush=True)
            while True:  # the frame that never ends
                time.sleep(1)

    Clock.schedule_interval(look, 0.2)


def reader_gone_when_asked(sims: object) -> None:
    """Test-only: with KIOSK_TEST_READER_GONE_FILE=PATH set, the simulated card reader is unplugged (its pty
    closed, its path gone) while PATH exists and plugged in again once it is removed; checked every 0.2 s."""
    import os

    path = os.environ.get("KIOSK_TEST_READER_GONE_FILE")
    reader = getattr(sims, "reader", None)
    if not path or reader is None:
        return
    from kivy.clock import Clock

    def look(_dt: float) -> None:
        gone = os.path.exists(path)
        if gone and reader.plugged:
            reader.unplug()
        elif not gone and not reader.plugged:
            reader.replug()

    Clock.schedule_interval(look, 0.2)


if __name__ == "__main__":
    sys.exit(main())
