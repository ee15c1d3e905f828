"""A kiosk's invoice worker in its own process, for the kill test: it sends what is queued through the real
adapter to the simulator and, once the provider has answered, prints SENT <order no> and hangs before storing
the answer, so the test can SIGKILL it there.

    python -m tests.invoices.worker_child DB_URL SIM_URL TOKEN_FILE
"""
from __future__ import annotations

import sys
import threading

from devices.tax.nuonuo import NuonuoProvider
from devices.tax.token_store import FileTokenStore
from kiosk.invoices.worker import InvoiceWorker
from kiosk.persistence.db import make_engine, make_session_factory
from tests.invoicing.conftest import APP_KEY, APP_SECRET, SELLER
from tests.support.chain_key import BINDING  # the parent test's audit key


def main() -> int:
    db_url, sim_url, token_file = sys.argv[1:4]
    provider = NuonuoProvider(sim_url, APP_KEY, APP_SECRET, seller_tax_id=SELLER, clerk="自助终端", timeout_s=3.0,
                              token_store=FileTokenStore(token_file))

    def hang(claim, call):  # type: ignore[no-untyped-def]
        sys.stdout.write(f"SENT {claim.order_no} {call}\n")
        sys.stdout.flush()
        threading.Event().wait()  # the provider holds the order; our database does not know yet

    InvoiceWorker(provider, make_session_factory(make_engine(db_url), chain=BINDING), label="child", lease_s=600,
                  after_call=hang).run_once()
    return 0


if __name__ == "__main__":
    sys.exit(main())
