"""The demo estate on the test's database, as `kiosk demo` seeds it, and the demo runtime started on it."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk import bootstrap, settings as settings_mod
from kiosk.demo import estate
from kiosk.domain.site_clock import site_now
from kiosk.persistence.db import unit_of_work
from kiosk.services.receipts import Till


def seeded_site(engine: Any, factory: Any, db_url: str, data_dir: Path,
                households: int) -> tuple[settings_mod.Settings, bootstrap.Database, Till, Any]:
    """Settings on `data_dir`, the database, its till and the seed report of `households` demo households."""
    settings = settings_mod.load(data_dir, db_url=db_url)
    db = bootstrap.Database(engine, factory, db_url)
    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(factory) as session:
        report = estate.seed(session, till, households=households)
    return settings, db, till, report


def start_demo(settings: settings_mod.Settings, db: bootstrap.Database) -> tuple[Any, Any]:
    """`kiosk demo`'s runtime on the wire-level simulators, once its card reader is up."""
    from kiosk.app_runtime.demo import start_demo_runtime

    rt, sims = start_demo_runtime(settings, db)
    assert rt.supervisors["reader"].wait_available(10)
    return rt, sims


def site_noon() -> datetime:
    """Today at noon on the site's clock: a flow clock inside the demo site's hours whatever the time the suite
    runs at (kiosk.domain.site_clock)."""
    return site_now().replace(hour=12, minute=0, second=0, microsecond=0)
