"""The database-gone tests: a real PostgreSQL database reached through a TCP proxy the test can cut."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import pg_admin_url, postgres_database
from tests.support.netproxy import NetProxy


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not pg_admin_url():
        pytest.skip("KIOSK_TEST_PG_URL not set (scripts/test starts a server)")
    with postgres_database() as url:
        yield url


@pytest.fixture
def cut(pg_url: str) -> Iterator[NetProxy]:
    """A proxy in front of the test's database; `cut.url_for(pg_url)` is the URL through it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(pg_url)
    with NetProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        yield proxy
