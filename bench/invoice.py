"""E-invoice benchmark: payment -> invoice "issued" as the kiosk shows it, and the worker's throughput, against the
tax provider simulator (its own process, `kiosk sim tax-provider`) with its issuing delay at 1 s.

Run: .venv/bin/python bench/invoice.py [--payments 40] [--queue 200] [--workers 4] [--delay 1.0] [--pg-url URL]
Prints one table; each figure sits beside a baseline measured in the same run against the same simulator:
  - latency baseline: the bare adapter (no database, no queue): send the order, then ask every 50 ms until issued;
  - throughput baseline: the bare adapter on one thread: send every order, then ask about each until issued.
Targets: p95 payment -> issued <= 3 s at 1 s delay; the worker >= 20 invoices/s with zero duplicates (no order
sent twice: the simulator's duplicate count; one invoice number per order). Exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import json
import urllib.request
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.db import fresh_pg_database, make_till, pct  # noqa: E402
from devices.tax.nuonuo import NuonuoProvider  # noqa: E402
from devices.tax.token_store import FileTokenStore  # noqa: E402
from kiosk.demo import estate  # noqa: E402
from kiosk.domain.terms import AccountKind, BillStatus, CardKind, EntryKind, PaymentMethod  # noqa: E402
from kiosk.invoices import titles  # noqa: E402
from kiosk.invoices.service import Invoicing, check_settings  # noqa: E402
from kiosk.invoices.states import InvoiceState  # noqa: E402
from kiosk.persistence import schema  # noqa: E402
from kiosk.persistence.chain import ChainBinding  # noqa: E402
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from kiosk.persistence.models import Bill, Card, InvoiceRequest  # noqa: E402
from kiosk.ports import BuyerKind, InvoiceBuyer, InvoiceOrder, InvoiceStatus  # noqa: E402
from kiosk.services import ledger, payments  # noqa: E402
from kiosk.settings import load  # noqa: E402

APP_KEY, APP_SECRET = "BENCHKEY01", "bench-secret-0123456789abcdef"
SELLER = "91350100M000100Y43"
BUYER = ("深圳市腾讯计算机系统有限公司", "9144030071526726XG")


class Simulator:
    def __init__(self, delay_s: float) -> None:
        env = {**os.environ, "KIOSK_INVOICE_APP_KEY": APP_KEY, "KIOSK_INVOICE_APP_SECRET": APP_SECRET}
        self.process = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "tax-provider", "--delay", str(delay_s),
                                         "--seller-tax-id", SELLER], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def state(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/sim/state", timeout=10) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def adapter(sim: Simulator, token_dir: Path) -> NuonuoProvider:
    return NuonuoProvider(sim.url, APP_KEY, APP_SECRET, seller_tax_id=SELLER, clerk="自助终端", timeout_s=10.0,
                          token_store=FileTokenStore(token_dir / "token.json"))


def bare_order(table) -> InvoiceOrder:  # type: ignore[no-untyped-def]
    line = table.row("management").line(12_345)
    number = ("X" + uuid.uuid4().hex.upper())[:20]
    return InvoiceOrder(number, InvoiceBuyer(BuyerKind.COMPANY, *BUYER), (line,), datetime.now(timezone.utc))


def bare_latency(provider: NuonuoProvider, table, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        order = bare_order(table)
        t0 = time.perf_counter()
        provider.request_invoice(order)
        while provider.query(order.order_no).status is not InvoiceStatus.ISSUED:
            time.sleep(0.05)
        times.append(time.perf_counter() - t0)
    return times


def bare_throughput(provider: NuonuoProvider, table, n: int) -> float:  # type: ignore[no-untyped-def]
    orders = [bare_order(table) for _ in range(n)]
    t0 = time.perf_counter()
    for order in orders:
        provider.request_invoice(order)
    for order in orders:
        while provider.query(order.order_no).status is not InvoiceStatus.ISSUED:
            time.sleep(0.05)
    return n / (time.perf_counter() - t0)


def estate_db(url: str, households: int):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    schema.upgrade(engine)
    factory = make_session_factory(engine, chain=ChainBinding(bytes.fromhex("b3" * 32), "K01"))  # a throw-away audit key
    till = make_till(factory)
    with unit_of_work(factory) as s:
        estate.seed(s, till, households=households)
    with unit_of_work(factory) as s:
        cards = {c.household_id: c.id for c in s.scalars(select(Card).where(Card.kind == str(CardKind.RESIDENT)))}
        opening = ledger.account(s, AccountKind.OPENING)
        for card_id in cards.values():
            ledger.transfer(s, EntryKind.TOP_UP, opening, ledger.account(s, AccountKind.STORED_VALUE, card_id=card_id),
                            100_000_000)
        bills = s.execute(select(Bill.id, Bill.household_id).where(Bill.status == str(BillStatus.OPEN))
                          .order_by(Bill.id)).all()
    return engine, factory, till, cards, list(bills)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=40, help="payments timed to issued (latency)")
    parser.add_argument("--queue", type=int, default=200, help="invoices queued at once (throughput)")
    parser.add_argument("--workers", type=int, default=4, help="worker threads of the kiosk (throughput)")
    parser.add_argument("--delay", type=float, default=1.0, help="the simulator's issuing delay, seconds")
    parser.add_argument("--pg-url", help="PostgreSQL admin URL (default: SQLite in a temporary directory)")
    parser.add_argument("--sample", action="store_true",
                        help="a small run for CI: checks only that nothing is sent twice (timings on a loaded "
                             "machine say little)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-invoice-"))
    sim = Simulator(args.delay)
    try:
        url = (fresh_pg_database(args.pg_url, f"bench_invoice_{os.getpid()}") if args.pg_url
               else f"sqlite:///{tmp / 'kiosk.sqlite3'}")
        backend = "PostgreSQL" if args.pg_url else "SQLite"
        base = load(tmp / "cfg", str(ROOT / "config" / "demo-invoices.toml"), with_secrets=False).invoices
        settings = replace(base, url=sim.url, seller_tax_id=SELLER)
        table = check_settings(settings)
        provider = adapter(sim, tmp)
        provider.query("WARMUP")  # the access token, once
        households = max(8, (args.payments + args.queue) // 5 + 8)
        engine, factory, till, cards, bills = estate_db(url, households)
        if len(bills) < args.payments + args.queue:
            raise SystemExit(f"only {len(bills)} open bills for {args.payments + args.queue} payments")
        buyer = titles.make_buyer("company", *BUYER)

        def pay(i: int) -> str:
            bill_id, hh = bills[i]
            out = payments.pay_bills(factory, till, key=f"inv-bench-{i}", household_id=hh, bill_ids=[bill_id],
                                     method=PaymentMethod.CARD, card_id=cards[hh], language="zh_Hans")
            return out.receipt_number

        # --- latency: a kiosk (2 workers, as configured by default) and its residents ------------------------
        before = sim.state()
        kiosk = Invoicing(replace(settings, workers=2), factory, till, provider, table=table)
        kiosk.start()
        latencies: list[float] = []
        try:
            for i in range(args.payments):
                t0 = time.perf_counter()
                view = kiosk.request(pay(i), buyer=buyer, actor="kiosk:KB")
                while kiosk.get(view.request_id).state is not InvoiceState.ISSUED:  # what My records would show
                    time.sleep(0.02)
                latencies.append(time.perf_counter() - t0)
        finally:
            kiosk.stop()
        base_lat = bare_latency(provider, table, min(args.payments, 20))

        # --- throughput: a backlog (the provider was down for a while), then the workers at it ----------------
        ids: list[int] = []
        queued = Invoicing(replace(settings, workers=args.workers), factory, till, provider, table=table)
        for i in range(args.payments, args.payments + args.queue):
            ids.append(queued.request(pay(i), buyer=buyer, actor="kiosk:KB").request_id)
        t0 = time.perf_counter()
        queued.start()
        try:
            while True:
                with unit_of_work(factory) as s:
                    left = s.scalar(select(InvoiceRequest.id).where(InvoiceRequest.id.in_(ids),
                                                                    InvoiceRequest.state != "issued").limit(1))
                if left is None:
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
        finally:
            queued.stop()
        rate = args.queue / elapsed
        base_rate = bare_throughput(provider, table, min(args.queue, 100))
        after = sim.state()
        duplicates = after["duplicates"] - before["duplicates"]
        with unit_of_work(factory) as s:
            numbers = list(s.scalars(select(InvoiceRequest.invoice_no)))
        engine.dispose()
    finally:
        sim.stop()

    p95 = pct(latencies, 95)
    print(f"# Invoices: {backend}, simulator delay {args.delay:g} s, {args.payments} payments timed, "
          f"{args.queue} queued for {args.workers} workers\n")
    print("| measure | kiosk | baseline (bare adapter) | ratio | target |")
    print("|---|---:|---:|---:|---|")
    print(f"| payment -> issued p50 | {pct(latencies, 50):.2f} s | {pct(base_lat, 50):.2f} s | "
          f"{pct(latencies, 50) / pct(base_lat, 50):.2f} | |")
    print(f"| payment -> issued p95 | {p95:.2f} s | {pct(base_lat, 95):.2f} s | {p95 / pct(base_lat, 95):.2f} | <= 3 s |")
    print(f"| payment -> issued max | {max(latencies):.2f} s | {max(base_lat):.2f} s | | |")
    print(f"| worker throughput | {rate:.1f} /s | {base_rate:.1f} /s | {rate / base_rate:.2f} | >= 20 /s |")
    print(f"| orders sent twice (simulator's duplicates) | {duplicates} | | | 0 |")
    print(f"| invoices / orders | {len(set(numbers))} / {len(numbers)} | | | equal |")
    ok = duplicates == 0 and len(set(numbers)) == len(numbers) and (args.sample or (p95 <= 3.0 and rate >= 20))
    print("\nall targets met" if ok else "\nTARGET MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
