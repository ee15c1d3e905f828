"""`python -m tests.e2e.real_app`: the kiosk exactly as `kiosk demo` assembles it — real drivers on the
wire-level simulators, the demo estate in a fresh database, the card station, the print spooler — with
the demo bar and the e2e test hook (KIOSK_UI_TEST_HOOK). The e2e tests start it in a subprocess."""
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
    from kiosk import bootstrap
    from kiosk.app_runtime.demo import DemoSimulators
    from kiosk.app_runtime.demo_cards import provision_demo_cards
    from kiosk.app_runtime.demo_controls import DemoControls
    from kiosk.app_runtime.wiring import build_runtime, start_runtime
    from kiosk.demo import estate
    from kiosk.persistence.db import unit_of_work
    from screens.app import run_app

    settings = bootstrap.load_settings(args.data_dir, None, args.db_url, True)
    db = bootstrap.open_database(settings)
    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(db.factory) as session:
        if not estate.already_seeded(session, till.site_id):
            estate.seed(session, till, households=args.households)
    assert settings.secrets is not None
    sims = DemoSimulators(settings.data_dir, settings.secrets.gateway_secret).start()
    settings = sims.settings_for(settings)
    rt = build_runtime(settings, db)
    rt.on_stop(sims.stop)
    provision_demo_cards(rt, sims)
    start_runtime(rt)
    print(f"REAL_APP_READY {settings.data_dir}", flush=True)
    try:
        return run_app(rt.services, settings, rt.bus, DemoControls(sims, rt))
    finally:
        rt.stop()


if __name__ == "__main__":
    sys.exit(main())
