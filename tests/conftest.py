"""Shared fixtures: every persistence test runs on SQLite and on a real PostgreSQL server."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kiosk.persistence.db import make_engine
from tests.support.chain_key import bound_factory
from tests.support.databases import database, pg_admin_url

BACKENDS = ["sqlite", "postgres"]

# Property tests: HYPOTHESIS_PROFILE=ci (what scripts/test uses) runs 2,000 examples per property (10,000 took
# five minutes of the 40-minute CI budget); "release" 10,000 before a release, "long" 200,000 for a soak; "dev"
# (default) 300 for a quick local run.
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("dev", max_examples=300, deadline=None)
settings.register_profile("ci", max_examples=2_000, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("release", max_examples=10_000, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("long", max_examples=200_000, deadline=None, suppress_health_check=_SLOW_OK)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Locally a missing server skips the PostgreSQL half; the README's test command sets
    # KIOSK_REQUIRE_PG=1 so that in CI a missing server is a failure, never a silent skip.
    if pg_admin_url() or os.environ.get("KIOSK_REQUIRE_PG") == "1":
        return
    skip = pytest.mark.skip(reason="KIOSK_TEST_PG_URL not set (scripts/test starts a server)")
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgres":
            item.add_marker(skip)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to the test audit key and chain K01 (tests.support.chain_key)."""
    return bound_factory(engine)


@pytest.fixture(autouse=True)
def _site_zone_restored() -> Iterator[None]:
    """Loading settings sets the process's site zone (kiosk.domain.site_clock); each test starts from the default
    zone and the real clock."""
    from kiosk.domain import site_clock

    site_clock.use_zone(site_clock.DEFAULT_ZONE)
    yield
    site_clock.use_zone(site_clock.DEFAULT_ZONE)
    site_clock.use_source(None)
    site_clock.use_database_offset(0)

