"""Bill import benchmark: 100,000 bills from one CSV file, all or nothing, against the floor of the same rows.

Run: .venv/bin/python bench/imports.py [--bills 100000] [--households 5000] [--pg-url URL] [--per-row 2000]
Prints one Markdown table and exits 1 when the SQLite import takes 5 s or more.
  - import: `kiosk.services.imports.import_bills` in one unit of work, as `kiosk import bills` runs it (wall
    seconds, and the importing thread's CPU seconds, which a busy machine does not inflate): read
    and check every row, refuse known references, check the sums, then the bills, their BILL_ISSUED entries
    and lines in bulk statements, one audit row, one commit;
  - baseline (same run, same database kind): the floor of any import of these rows, the CSV parsed by the csv
    module and only the bill rows inserted with one executemany and committed;
  - a payment that arrives while the import runs: how long it waits before its own commit (SQLite
    serialises writers, so this is about the rest of the import; PostgreSQL does not make it wait);
  - --per-row N: the previous way (one flush and one ledger.post per bill) timed on N bills, for reference.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert, select  # noqa: E402

from kiosk.domain.terms import AccountKind, CardKind, EntryKind, PaymentMethod  # noqa: E402
from kiosk.persistence import schema  # noqa: E402
from kiosk.persistence.chain import ChainBinding  # noqa: E402
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from kiosk.persistence.models import Bill, Building, Card, Household, Kiosk, Site  # noqa: E402
from kiosk.services import imports, ledger, payments  # noqa: E402
from kiosk.services.receipts import Till  # noqa: E402

TARGET_S = 5.0
BENCH_CHAIN = ChainBinding(bytes.fromhex("b3" * 32), "K01")  # a throw-away audit key: imports link as at a kiosk
KINDS = ("management", "water", "electricity", "gas", "rent", "parking", "permit", "service")


def make_site(url: str, households: int) -> tuple[object, Till, list[str]]:
    """A migrated database with one site and `households` households; the last one has a card with value
    and an open bill, for the payment that arrives during the import."""
    engine = make_engine(url)
    schema.upgrade(engine)
    factory = make_session_factory(engine, chain=BENCH_CHAIN)
    with unit_of_work(factory) as s:
        site = Site(code="BENCH", name_zh_hans="基准", name_zh_hant="基準", name_en="Bench")
        s.add(site)
        s.flush()
        kiosk = Kiosk(site_id=site.id, code="KB", name="bench")
        building = Building(site_id=site.id, code="B", name="B")
        s.add_all([kiosk, building])
        s.flush()
        till = Till(site.id, kiosk.id, "KB", {"zh_Hans": "基准", "zh_Hant": "基準", "en": "Bench"})
        units = [f"B-{i:05d}" for i in range(households)]
        s.execute(insert(Household), [{"site_id": site.id, "building_id": building.id, "unit_no": u,
                                       "holder_name": "x", "phone": "", "pin_hash": "", "pin_failed": 0}
                                      for u in units])
        payer = s.scalars(select(Household.id).where(Household.unit_no == units[-1])).one()
        card = Card(uid_hex="0B0E0C01", card_no="CB000001", kind=str(CardKind.RESIDENT), household_id=payer)
        bill = Bill(household_id=payer, kind="water", period="2026-10", amount_fen=1_000, due_date=date(2026, 10, 28),
                    external_ref="PAYER-1")
        s.add_all([card, bill])
        s.flush()
        ledger.transfer(s, EntryKind.BILL_ISSUED, ledger.account(s, AccountKind.RECEIVABLE, household_id=payer),
                        ledger.account(s, AccountKind.REVENUE, fee_kind="water"), 1_000)
        ledger.transfer(s, EntryKind.TOP_UP, ledger.account(s, AccountKind.OPENING),
                        ledger.account(s, AccountKind.STORED_VALUE, card_id=card.id), 10_000)
        payment_args = {"household_id": payer, "bill_ids": [bill.id], "card_id": card.id}
    engine.dispose()
    return payment_args, till, units


def bill_file(units: list[str], bills: int) -> bytes:
    out = io.StringIO()
    out.write(",".join(imports.BILL_COLUMNS) + "\n")
    for n in range(bills):
        unit = units[n % (len(units) - 1)]  # the payer's household gets none
        month = n // (len(units) - 1) % 12 + 1
        out.write(f"{unit},{KINDS[n % 8]},2026-{month:02d},{100 + n % 5000}.{n % 100:02d},2026-{month:02d}-28,"
                  f"IMP-{n:07d}\n")
    return out.getvalue().encode("utf-8")


def time_import(url: str, till: Till, data: bytes, payment_args: dict) -> tuple[float, float, float | None, int]:
    """(import seconds, import CPU seconds, payment wait seconds or None, bills imported). The payment starts on
    its own engine (a second connection) the moment the import starts writing bills."""
    engine = make_engine(url)
    factory = make_session_factory(engine, chain=BENCH_CHAIN)
    other = make_engine(url)
    other_factory = make_session_factory(other, chain=ChainBinding(BENCH_CHAIN.key, "K02"))
    writing = threading.Event()

    @event.listens_for(engine, "before_cursor_execute")
    def _watch(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO bills") or "nextval(pg_get_serial_sequence('journal_entries'" in statement:
            writing.set()

    waited: list[float] = []

    def pay() -> None:
        if not writing.wait(60):
            return
        t0 = time.perf_counter()
        out = payments.pay_bills(other_factory, till, key="during-import", method=PaymentMethod.CARD,
                                 language="zh_Hans", **payment_args)
        waited.append(time.perf_counter() - t0)
        assert out.receipt_number, out

    payer = threading.Thread(target=pay)
    payer.start()
    t0, cpu0 = time.perf_counter(), time.thread_time()
    with unit_of_work(factory) as s:
        result = imports.import_bills(s, till.site_id, data, actor="bench")
    seconds, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
    payer.join(120)
    engine.dispose()
    other.dispose()
    return seconds, cpu, (waited[0] if waited else None), result.count


def time_floor(url: str, data: bytes) -> float:
    """Parse the same CSV and insert only the bill rows, one executemany, one commit: the floor."""
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = dict(conn.execute(select(Household.unit_no, Household.id)).all())
    t0 = time.perf_counter()
    reader = csv.reader(io.StringIO(data.decode("utf-8")))
    next(reader)
    rows = [{"household_id": ids[u], "kind": k, "period": p, "amount_fen": int(a.replace(".", "")),
             "due_date": date.fromisoformat(d), "external_ref": "F" + r, "status": "open"}
            for u, k, p, a, d, r in reader]
    with engine.begin() as conn:
        conn.execute(insert(Bill), rows)
    seconds = time.perf_counter() - t0
    engine.dispose()
    return seconds


def time_per_row(url: str, till: Till, data: bytes, n: int) -> float:
    """The way imports wrote before: a flush and a ledger.post per bill. Seconds per bill."""
    lines = data.decode("utf-8").splitlines()[1:n + 1]
    engine = make_engine(url)
    factory = make_session_factory(engine, chain=BENCH_CHAIN)
    t0 = time.perf_counter()
    with unit_of_work(factory) as s:
        ids = dict(s.execute(select(Household.unit_no, Household.id)).all())
        for text in lines:
            unit, kind, period, amount, due, ref = text.split(",")
            bill = Bill(household_id=ids[unit], kind=kind, period=period, amount_fen=int(amount.replace(".", "")),
                        due_date=date.fromisoformat(due), external_ref="P" + ref, status="open")
            s.add(bill)
            s.flush()
            ledger.transfer(s, EntryKind.BILL_ISSUED, ledger.account(s, AccountKind.RECEIVABLE, household_id=ids[unit]),
                            ledger.account(s, AccountKind.REVENUE, fee_kind=kind), bill.amount_fen,
                            memo=f"bill {ref}")
    seconds = time.perf_counter() - t0
    engine.dispose()
    return seconds / max(1, len(lines))


def run(backend: str, make_url, args: argparse.Namespace) -> tuple[list[str], float]:  # type: ignore[no-untyped-def]
    urls: dict[str, str] = {}

    def url_for(name: str) -> str:  # one fresh database per measure, made once
        if name not in urls:
            urls[name] = make_url(name)
        return urls[name]

    payment_args, till, units = make_site(url_for("import"), args.households)
    data = bill_file(units, args.bills)
    seconds, cpu, waited, count = time_import(url_for("import"), till, data, payment_args)
    make_site(url_for("floor"), args.households)
    floor = time_floor(url_for("floor"), data)
    rows = [f"| import {count:,} bills ({len(data) / 1e6:.1f} MB) | {backend} | {seconds:.2f} s (CPU {cpu:.2f} s) | "
            f"{floor:.2f} s | "
            f"{seconds / floor:.1f}x | {'< 5 s' if backend == 'SQLite' else ''} |"]
    if waited is not None:
        rows.append(f"| a payment arriving during the import: its wait and commit | {backend} | {waited:.2f} s | "
                    f"{seconds:.2f} s | {waited / seconds:.2f}x | <= the import |")
    if args.per_row:
        make_site(url_for("per_row"), args.households)
        per = time_per_row(url_for("per_row"), till, data, args.per_row)
        rows.append(f"| per-row writes as before ({args.per_row:,} bills timed, x{args.bills:,}) | {backend} | "
                    f"{per * args.bills:.1f} s | {floor:.2f} s | {per * args.bills / floor:.0f}x | |")
    return rows, seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bills", type=int, default=100_000)
    ap.add_argument("--households", type=int, default=5_000)
    ap.add_argument("--pg-url", help="admin URL of a PostgreSQL server: also measure PostgreSQL")
    ap.add_argument("--per-row", type=int, default=0, help="also time the previous per-row writes on N bills")
    args = ap.parse_args()
    lines = ["| measure | database | value | baseline | ratio | target |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        rows, sqlite_s = run("SQLite", lambda name: f"sqlite:///{Path(tmp) / name}.sqlite3", args)
        lines += rows
        if args.pg_url:
            from bench.db import fresh_pg_database

            rows, _ = run("PostgreSQL", lambda name: fresh_pg_database(args.pg_url, f"kiosk_bench_import_{name}"),
                          args)
            lines += rows
    print("\n".join(lines))
    print(f"SQLite import of {args.bills:,} bills: {sqlite_s:.2f} s (target < {TARGET_S:.0f} s); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
    return 0 if sqlite_s < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
