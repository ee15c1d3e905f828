"""The access token in the estate's database: every kiosk uses one, and only one kiosk fetches the next."""
from __future__ import annotations

import threading
import time

from kiosk.ports import AccessToken, AccessTokenStore, InvoiceStatus
from kiosk.services.provider_tokens import DbTokenStore
from tests.invoicing.conftest import Sim, order_no


def test_a_token_saved_by_one_kiosk_is_loaded_by_another(factory):
    first, second = DbTokenStore(factory, "nuonuo"), DbTokenStore(factory, "nuonuo")
    assert isinstance(first, AccessTokenStore) and first.load() is None
    first.save(AccessToken("abc", 1_900_000_000.0, (1.0, 2.5)))
    assert second.load() == AccessToken("abc", 1_900_000_000.0, (1.0, 2.5))
    assert DbTokenStore(factory, "baiwang").load() is None  # one row per provider account


def test_while_one_kiosk_holds_the_lease_the_other_waits(factory):
    holder, waiter = DbTokenStore(factory, "nuonuo"), DbTokenStore(factory, "nuonuo", poll_s=0.05)
    order: list[str] = []

    def wait_for_lease() -> None:
        with waiter.refreshing():
            order.append("waiter")

    with holder.refreshing():
        thread = threading.Thread(target=wait_for_lease)
        thread.start()
        time.sleep(0.4)
        order.append("holder done")
    thread.join(timeout=10)
    assert order == ["holder done", "waiter"]


def test_an_abandoned_lease_expires(factory):
    crashed = DbTokenStore(factory, "nuonuo", lease_s=0.3)
    lease = crashed.refreshing()
    lease.__enter__()  # a kiosk that died while fetching: it never releases
    started = time.monotonic()
    with DbTokenStore(factory, "nuonuo", lease_s=0.3, poll_s=0.05).refreshing():
        assert 0.2 < time.monotonic() - started < 5


def test_kiosks_sharing_the_database_fetch_one_token_between_them(sim: Sim, make_provider, factory):
    before = sim.state()["tokens"]
    kiosks = [make_provider(token_store=DbTokenStore(factory, "nuonuo", poll_s=0.05)) for _ in range(4)]
    answers: list[InvoiceStatus] = []
    threads = [threading.Thread(target=lambda k=k: answers.append(k.query(order_no()).status)) for k in kiosks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert answers == [InvoiceStatus.NOT_FOUND] * 4
    assert sim.state()["tokens"] == before + 1
