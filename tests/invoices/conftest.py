"""Fixtures for the kiosk's invoice side: a mini estate on both databases, the example tax table, paid receipts."""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.domain.terms import PaymentMethod
from kiosk.invoices import requests, titles
from kiosk.invoices.tax_table import TaxTable, check_table
from kiosk.invoices.worker import InvoiceWorker
from kiosk.persistence.db import unit_of_work
from kiosk.settings import load
from kiosk.services import payments
from tests.services.conftest import ledger_stays_sound, mini  # noqa: F401 (fixtures)
from tests.support.fakes.invoice_provider import FakeInvoiceProvider

ROOT = Path(__file__).resolve().parents[2]
COMPANY = ("上海阳光物业管理有限公司", "91350100M000100Y43")  # GB 32100's worked example: a valid check character


@pytest.fixture(scope="session")
def table(tmp_path_factory) -> TaxTable:
    settings = load(tmp_path_factory.mktemp("cfg"), str(ROOT / "config" / "demo-invoices.toml"), with_secrets=False)
    return check_table(settings.invoices.tax)


@pytest.fixture
def provider() -> FakeInvoiceProvider:
    return FakeInvoiceProvider()


class Paying:
    """Pays bills at the mini estate's kiosk and asks invoices for them."""

    def __init__(self, factory, mini, table) -> None:
        self.factory, self.mini, self.table = factory, mini, table
        self.n = 0

    def bills(self, household: int = 0, count: int = 2, method: PaymentMethod = PaymentMethod.CARD):
        hh = self.mini.household_ids[household]
        with unit_of_work(self.factory) as s:
            from sqlalchemy import select

            from kiosk.persistence.models import Bill

            open_ids = list(s.scalars(select(Bill.id).where(Bill.household_id == hh, Bill.status == "open")
                                      .order_by(Bill.id)))[:count]
        self.n += 1
        return payments.pay_bills(self.factory, self.mini.till, key=f"inv-{self.n}-{hh}", household_id=hh,
                                  bill_ids=open_ids, method=method, card_id=self.mini.card_ids[hh], language="en")

    def invoice(self, receipt_number, kind="company", name=COMPANY[0], tax_id=COMPANY[1], actor="kiosk:K01"):
        buyer = titles.make_buyer(kind, name, tax_id if kind == "company" else "")
        with unit_of_work(self.factory) as s:
            return requests.request_invoice(s, site_id=self.mini.till.site_id, receipt_number=receipt_number,
                                            buyer=buyer, table=self.table, actor=actor,
                                            kiosk_id=self.mini.till.kiosk_id)


@pytest.fixture
def paying(factory, mini, table) -> Paying:
    return Paying(factory, mini, table)


def drain(provider, factory, *, rounds: int = 50, **kw) -> InvoiceWorker:
    """Run a worker's rounds on this thread until nothing is due (the provider's delay is 0 in these tests)."""
    from kiosk.invoices.sender import Backoff

    worker = InvoiceWorker(provider, factory, backoff=kw.pop("backoff", Backoff(poll=(0,), retry_initial=0,
                                                                                 retry_cap=0)), **kw)
    for _ in range(rounds):
        if not worker.run_once():
            break
    return worker


def view(factory, request_id):
    with unit_of_work(factory) as s:
        return requests.request_view(s, requests.get(s, request_id))


# --- the real simulator process (`kiosk sim tax-provider`), shared with tests/invoicing ---------------------
from tests.invoicing.conftest import APP_KEY, APP_SECRET, SELLER, sim, sim_process  # noqa: E402,F401


@pytest.fixture
def nuonuo(sim, tmp_path):  # noqa: F811 (the fixture above)
    """Our Nuonuo adapter against the simulator process: what the kiosk runs in the demo."""
    from devices.tax.nuonuo import NuonuoProvider
    from devices.tax.token_store import FileTokenStore

    return NuonuoProvider(sim.url, APP_KEY, APP_SECRET, seller_tax_id=SELLER, clerk="自助终端", timeout_s=3.0,
                          token_store=FileTokenStore(tmp_path / "invoice-token.json"))


def wait_for(predicate, timeout_s: float = 15.0, step_s: float = 0.05):
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step_s)


@pytest.fixture
def seen(sim):  # noqa: F811
    """What the simulator (one process for the whole session) saw during this test only."""
    before = sim.state()

    def since() -> dict:
        now = sim.state()
        return {"orders": {o: s for o, s in now["orders"].items() if o not in before["orders"]},
                **{k: now[k] - before[k] for k in ("duplicates", "refused", "reinvoices")}}

    return since
