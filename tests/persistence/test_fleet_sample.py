"""The fleet bench's small version in CI (bench/fleet.py): 4 kiosk processes paying bills of the same households,
topping up, replacing cards and voiding for 30 s on one PostgreSQL behind a 1 ms network, then every invariant
checked from the database alone. Any anomaly fails; no timing is asserted (the machine is shared).

KIOSK_FLEET_SECONDS shortens or lengthens it (default 30)."""
from __future__ import annotations

import os

import pytest

from tests.support.databases import pg_admin_url

pytestmark = pytest.mark.skipif(not pg_admin_url(), reason="KIOSK_TEST_PG_URL not set")


def test_four_kiosks_for_thirty_seconds_leave_no_anomaly():
    from bench import fleet

    result = fleet.run(pg_admin_url(), kiosks=4, seconds=float(os.environ.get("KIOSK_FLEET_SECONDS", "30")),
                       rate=0.0, latency_ms=1.0, households=30, quiet=True)
    report = fleet.detail(result) + "\n" + fleet.fleet_line(result)
    assert result["payments"] > 0, report
    assert result["anomalies"] == 0, report


def _pgbouncer_missing() -> bool:
    import shutil

    return shutil.which("pgbouncer") is None and not os.path.exists("/usr/sbin/pgbouncer")


@pytest.mark.skipif(_pgbouncer_missing() and os.environ.get("KIOSK_REQUIRE_PG") != "1",
                    reason="pgbouncer is not installed (scripts/setup installs it)")
def test_kiosks_through_pgbouncer_in_transaction_pooling_leave_no_anomaly():
    """Through PgBouncer in transaction pooling mode (psycopg's prepared statements off; the key claims are
    transaction-scoped advisory locks, which a transaction keeps on its server connection)."""
    from bench import fleet
    from bench.pgbouncer import transaction_pooler

    result = fleet.run(pg_admin_url(), kiosks=3, seconds=float(os.environ.get("KIOSK_FLEET_SECONDS", "30")) / 2,
                       rate=0.0, latency_ms=1.0, households=20, pooler=transaction_pooler, quiet=True)
    report = fleet.detail(result) + "\n" + fleet.fleet_line(result)
    assert result["payments"] > 0, report
    assert result["anomalies"] == 0, report
