"""Many kiosks on one PostgreSQL: K kiosk processes paying bills of the same households (card balance, banknote,
QR), topping up cards, replacing cards and voiding, at a set rate for a set time, over a network with a real
delay (a TCP proxy the bench starts); then every invariant checked from the database alone.

Run: .venv/bin/python bench/fleet.py [--kiosks 4] [--seconds 30] [--rate 0] [--latency-ms 1] [--pg-url URL]
                                     [--curve] [--pgbouncer] [--failover]
Without --pg-url a throw-away PostgreSQL server is started (fsync and synchronous_commit on).

Each kiosk is a process of its own with its own engine and pool, its own chain (kiosk code K01...) and till,
paying any household's bills by banknote and QR, and using the cards of its share of the households (a card is on
one reader at a time: two kiosks writing one card at once is not a thing a kiosk can meet),
running the use cases the runtime's facade runs (kiosk.services, through tests/support/money_uses.py), its start's
objects collected and frozen once it is ready, as the app does (screens/quiet_gc.py). The
devices are represented by what they hand the services (a stacked note, the gateway's notification, a card that
took its write): the database is what is measured here, and the devices' wire paths have benches of their own.
`--latency-ms` is the round trip the network adds (the proxy delays each request by it; its answers go straight
back). The baseline is a one-row INSERT committed alone, timed in every kiosk process between its payments,
through the same proxy, in the same run. Round trips per payment are counted on each kiosk's engine
(kiosk.persistence.round_trips) and cross-checked against what crossed the proxy.

Last line: fleet: K kiosks, X payments/s, commit p50 A ms p99 B ms (R x one-row insert), round trips per payment
T, anomalies N
"""
from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import queue
import random
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cpu_share import CpuWindow  # noqa: E402
from bench.cpu_share import line as cpu_line  # noqa: E402

AUDIT_KEY = bytes.fromhex("f1" * 32)  # a throw-away audit key for the bench's chains
# what a kiosk does, by weight: mostly bills, then top-ups, voids of its own receipts, a few replacements
MIX = (("pay_by_card", 25), ("pay_by_cash", 15), ("pay_by_qr", 15), ("top_up_by_cash", 15), ("void", 8),
       ("replace_card_by_cash", 4))
# business answers, not faults: a bill another kiosk paid first, a void of a top-up already spent, a card replaced
# meanwhile at another kiosk
EXPECTED = {"E3001", "E3003", "E3008", "E3011", "E4003", "E4004"}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# --- one kiosk ---------------------------------------------------------------------------------------------------
def kiosk_main(job: dict[str, Any], ready: Any, go: Any, start_at: Any) -> None:
    """One kiosk process: its own engine through the proxy, its own chain; writes its samples to job['out'].
    Says it is ready on `ready` (a queue) once its imports and engine are done, waits for `go` (an event), and
    starts paying at `start_at` (a shared double), which the bench sets once every kiosk is ready (twenty interpreters
    importing on two cores take longer than any fixed lead, and would otherwise still be starting inside the
    measured window)."""
    from sqlalchemy import select

    from kiosk.domain.terms import CardStatus
    from kiosk.errors import KioskError
    from kiosk.persistence.chain import ChainBinding, keep_head_in_memory
    from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
    from kiosk.persistence.models import Bill, Card, DeviceEvent
    from kiosk.persistence.round_trips import Counter
    from kiosk.services.receipts import Till
    from tests.support import money_uses

    engine = make_engine(job["url"], lock_timeout_s=job.get("lock_timeout_s"), transaction_pooler=job["pooled"])
    counter = Counter(engine).attach()
    factory = make_session_factory(engine, chain=ChainBinding(AUDIT_KEY, job["code"]))
    keep_head_in_memory(engine, job["code"])  # each kiosk its chain's one writer, as the app with its lease
    till = Till(job["site_id"], job["kiosk_id"], job["code"], job["site_names"])
    rng = random.Random(job["seed"])
    households: list[int] = job["households"]
    # a card is on one reader at a time: card payments, top-ups and replacements touch the cards of this kiosk's
    # share of the households; bills by banknote and QR go to any household, the same ones every kiosk pays
    my_cards = households[job["n"]::job["kiosks"]] or households
    names = [n for n, _w in MIX]
    weights = [w for _n, w in MIX]
    notes = iter(range(1, 10**9))
    uids = iter(range(1, 10**6))
    my_receipts: list[str] = []
    samples: list[tuple[str, float, int, str]] = []  # (use case, ms, round trips, outcome code or "ok")
    base: list[float] = []

    def card_of(hh: int) -> tuple[int, str] | None:
        with unit_of_work(factory) as s:
            row = s.execute(select(Card.id, Card.uid_hex).where(Card.household_id == hh,
                                                               Card.status == str(CardStatus.ACTIVE))).first()
            return (row.id, row.uid_hex) if row else None

    def open_bill(hh: int) -> int | None:
        with unit_of_work(factory) as s:
            ids = list(s.scalars(select(Bill.id).where(Bill.household_id == hh, Bill.status == "open")
                                 .order_by(Bill.due_date).limit(4)))
            return rng.choice(ids) if ids else None

    def one(name: str, n: int) -> Any:
        """Prepare (untimed: what the screens read first) and return the timed call, or None."""
        touches_card = name in ("pay_by_card", "top_up_by_cash", "replace_card_by_cash")
        hh = rng.choice(my_cards if touches_card else households)
        key = f"{job['code']}-{n}"
        if name.startswith("pay_by_"):
            bill = open_bill(hh)
            card = card_of(hh) if name == "pay_by_card" else None
            if bill is None or (name == "pay_by_card" and card is None):
                return None
            how = name.removeprefix("pay_by_")
            return lambda: money_uses.pay_bill(factory, till, key=key, household_id=hh, bill_id=bill, how=how,
                                               card_id=card[0] if card else None, counter=lambda: next(notes),
                                               on_reader=card[1] if card else None)
        if name == "top_up_by_cash":
            card = card_of(hh)
            return card and (lambda: money_uses.top_up(factory, till, key=key, card_uid=card[1], amount_fen=5_000,
                                                       counter=lambda: next(notes)))
        if name == "replace_card_by_cash":
            card = card_of(hh)
            uid = f"{0x10 + job['n']:02X}{next(uids):06X}"
            return card and (lambda: money_uses.replace_card(factory, till, key=key, household_id=hh,
                                                             old_card_id=card[0], new_uid=uid,
                                                             counter=lambda: next(notes)))
        if name == "void" and my_receipts:
            number = my_receipts.pop(0)
            return lambda: money_uses.void(factory, till, receipt_number=number)
        return None

    # as the app once its runtime is ready (screens/quiet_gc.py): the start's objects collected once and frozen, so
    # that the collector's full passes during the payments walk only what was made since
    gc.collect()
    gc.freeze()
    ready.put(job["n"])
    go.wait()
    while time.time() < start_at.value:
        time.sleep(0.005)
    cpu_at_start = time.process_time()  # this kiosk's CPU inside the window (bench.cpu_share)
    deadline = start_at.value + job["seconds"]
    interval = 1.0 / job["rate"] if job["rate"] else 0.0
    n = 0
    next_at = time.monotonic()
    while time.time() < deadline:
        n += 1
        name = rng.choices(names, weights)[0]
        call = one(name, n)
        if call is None:
            continue
        before = counter.total.copy()
        t0 = time.perf_counter()
        try:
            result = call()
            outcome = "ok"
        except KioskError as exc:  # a business answer by its code; a fault with what the database said
            outcome = exc.code if exc.code in EXPECTED else f"{exc.code}: {str(exc).splitlines()[0][:160]}"
        except Exception as exc:  # noqa: BLE001 - anything else is a fault the bench reports
            outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0][:100]}"
        ms = (time.perf_counter() - t0) * 1000
        samples.append((name, ms, (counter.total - before).round_trips, outcome))
        if outcome == "ok" and name.startswith("pay_by_") and name != "pay_by_qr":
            my_receipts.append(result.receipt_number)
        if n % 2 == 0:  # the baseline between payments, on the same engine and network
            t0 = time.perf_counter()
            with unit_of_work(factory) as s:
                s.add(DeviceEvent(kiosk_id=job["kiosk_id"], device="fleet", kind="tick"))
            base.append((time.perf_counter() - t0) * 1000)
        if interval:
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    cpu_s = time.process_time() - cpu_at_start
    engine.dispose()
    Path(job["out"]).write_text(json.dumps({"samples": samples, "base": base, "cpu_s": cpu_s}))


# --- the waits, seen from the server -----------------------------------------------------------------------------
class LockWatch:
    """Samples pg_stat_activity every 50 ms: how often a kiosk's statement was waiting on a lock, and on what."""

    def __init__(self, admin_url: str, database: str, kiosks: int = 1) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.database = database
        self.kiosks = kiosks
        self.snapshots = 0
        self.active = 0
        self.waiting = 0
        self.on: Tally[str] = Tally()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.engine.dispose()

    def _run(self) -> None:
        from sqlalchemy import text

        query = text("SELECT wait_event_type, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity "
                     "WHERE datname = :db AND state = 'active' AND pid <> pg_backend_pid()")
        with self.engine.connect() as conn:
            while not self._stop.wait(0.05):
                self.snapshots += 1
                for wait_type, statement in conn.execute(query, {"db": self.database}):
                    self.active += 1
                    if wait_type == "Lock":
                        self.waiting += 1
                        self.on[statement] += 1

    def kiosk_time_share(self, statement_start: str = "") -> float:
        """Percent of the kiosks' time (every kiosk, every 50 ms snapshot) spent waiting on a lock, in statements
        that start with `statement_start` (all, by default)."""
        waits = sum(c for s, c in self.on.items() if s.lstrip().startswith(statement_start))
        return 100 * waits / max(self.snapshots * self.kiosks, 1)

    def line(self) -> str:
        share = 100 * self.waiting / self.active if self.active else 0.0
        top = "; ".join(f"{100 * c / self.active:.0f}% {s}" for s, c in self.on.most_common(3))
        return (f"lock waits: {self.kiosk_time_share():.1f}% of the kiosks' time ({self.snapshots} snapshots x "
                f"{self.kiosks} kiosks), {share:.0f}% of {self.active} statements seen running"
                + (f" ({top})" if top else ""))


# --- one run -----------------------------------------------------------------------------------------------------
def fresh_database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def run(admin_url: str, *, kiosks: int, seconds: float, rate: float, latency_ms: float, households: int,
        pooler: Any = None, quiet: bool = False) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    from bench import fleet_estate
    from kiosk.persistence import schema
    from kiosk.persistence.chain import ChainBinding
    from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
    from tests.support.netproxy import NetProxy

    name = f"kiosk_fleet_{kiosks}_{os.getpid()}"
    url = fresh_database(admin_url, name)
    engine = make_engine(url)
    schema.upgrade(engine)
    office = make_session_factory(engine, chain=ChainBinding(AUDIT_KEY, "OFFICE"))
    per_second = (rate or 8.0) * kiosks
    bills_each = max(8, int(per_second * seconds * 0.6 / households) + 8)
    with unit_of_work(office) as s:
        estate = fleet_estate.build(s, kiosks=kiosks, households=households, bills_each=bills_each)
    target = make_url(url)
    with ExitStack() as stack:
        if pooler is not None:
            target = make_url(stack.enter_context(pooler(url)))
        proxy = stack.enter_context(NetProxy(target.host or "127.0.0.1", target.port or 5432, up_ms=latency_ms))
        through = proxy.url_for(target.render_as_string(hide_password=False))
        rtt = proxy.measure_rtt()
        work = stack.enter_context(tempfile.TemporaryDirectory())
        ctx = multiprocessing.get_context("spawn")
        jobs = [dict(n=i, code=fleet_estate.kiosk_code(i), kiosk_id=estate.kiosk_ids[fleet_estate.kiosk_code(i)],
                     site_id=estate.site_id, site_names=fleet_estate.SITE_NAMES, households=estate.household_ids,
                     url=through, seconds=seconds, rate=rate, seed=1000 + i,
                     out=os.path.join(work, f"k{i}.json"), pooled=pooler is not None, kiosks=kiosks)
                for i in range(kiosks)]
        ready, go, shared_start = ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0)
        procs = [ctx.Process(target=kiosk_main, args=(job, ready, go, shared_start)) for job in jobs]
        for p in procs:
            p.start()
        waiting = len(procs)
        while waiting:  # a kiosk that died starting is counted at the end (crashed): the others go on
            try:
                ready.get(timeout=1.0)
                waiting -= 1
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in procs):
                    break
        start_at = shared_start.value = time.time() + 0.3
        go.set()
        wire_before = proxy.round_trips
        cpu = CpuWindow(make_url(admin_url).port)
        window = threading.Thread(target=_measure_window, args=(cpu, start_at, seconds), daemon=True)
        window.start()
        with LockWatch(admin_url, name, kiosks) as watch:
            for p in procs:
                p.join(seconds + 120)
        window.join(5)
        wire = proxy.round_trips - wire_before
        results = [json.loads(Path(j["out"]).read_text()) for j, p in zip(jobs, procs) if p.exitcode == 0
                   and Path(j["out"]).exists()]
    crashed = kiosks - len(results)
    with unit_of_work(office) as s:
        problems = fleet_estate.check(s, AUDIT_KEY)
    engine.dispose()
    drop_database(admin_url, name)
    samples = [tuple(x) for r in results for x in r["samples"]]
    base = [x for r in results for x in r["base"]]
    ok = [x for x in samples if x[3] == "ok"]
    faults = [x for x in samples if x[3] != "ok" and x[3] not in EXPECTED]
    answers = Tally(x[3] for x in samples if x[3] != "ok" and x[3] in EXPECTED)
    lat = [x[1] for x in ok]
    out = dict(kiosks=kiosks, seconds=seconds, latency_ms=latency_ms, rtt_ms=rtt, payments=len(ok),
               per_s=len(ok) / seconds, p50=pct(lat, 50), p99=pct(lat, 99), base_p50=pct(base, 50),
               base_p99=pct(base, 99), round_trips=sum(x[2] for x in ok) / max(len(ok), 1),
               wire_per_op=wire / max(len(samples) + len(base), 1), anomalies=len(problems) + len(faults) + crashed,
               problems=problems[:10], faults=Tally(x[3] for x in faults).most_common(5), answers=dict(answers),
               watch=watch.line(), lock_share=watch.kiosk_time_share(), by_kind={k: (sum(1 for x in ok if x[0] == k), pct([x[1] for x in ok if x[0] == k], 50),
                                               pct([x[1] for x in ok if x[0] == k], 99),
                                               max((x[2] for x in ok if x[0] == k), default=0)) for k, _w in MIX})
    out["ratio"] = out["p99"] / out["base_p99"] if base else float("nan")
    out["cpu"] = cpu.shares(sum(r.get("cpu_s", 0.0) for r in results))
    if not quiet:
        print(detail(out), file=sys.stderr)
    return out


def _measure_window(cpu: CpuWindow, start_at: float, seconds: float) -> None:
    """Where the CPU goes while the kiosks pay (from start_at, for seconds): bench.cpu_share."""
    time.sleep(max(0.0, start_at - time.time()))
    cpu.start()
    time.sleep(seconds)
    cpu.stop()


def detail(r: dict[str, Any]) -> str:
    lines = [f"  {r['kiosks']} kiosks x {r['seconds']:.0f} s, --latency-ms {r['latency_ms']} (measured round trip "
             f"through the proxy {r['rtt_ms']:.2f} ms): {r['payments']} payments, one-row insert p50 "
             f"{r['base_p50']:.2f} ms p99 {r['base_p99']:.2f} ms",
             f"  {r['watch']}",
             f"  {cpu_line(r['cpu'])}",
             f"  answers that are not faults (a bill another kiosk paid first, a replaced card ...): {r['answers']}"]
    for kind, (count, p50, p99, trips) in r["by_kind"].items():
        lines.append(f"    {kind:22s} {count:6d}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  round trips {trips}")
    for p in r["problems"]:
        lines.append(f"  ANOMALY {p}")
    for f, c in r["faults"]:
        lines.append(f"  FAULT x{c}: {f}")
    return "\n".join(lines)


def fleet_line(r: dict[str, Any]) -> str:
    return (f"fleet: {r['kiosks']} kiosks, {r['per_s']:.1f} payments/s, commit p50 {r['p50']:.1f} ms p99 "
            f"{r['p99']:.1f} ms ({r['ratio']:.1f} x one-row insert), round trips per payment {r['round_trips']:.1f}, "
            f"anomalies {r['anomalies']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiosks", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=0.0, help="payments per second per kiosk (0: back to back)")
    ap.add_argument("--latency-ms", type=float, default=1.0, help="round trip the network adds")
    ap.add_argument("--households", type=int, default=60)
    ap.add_argument("--pg-url", help="admin URL of a PostgreSQL server (default: start a throw-away one)")
    ap.add_argument("--curve", action="store_true", help="1, 2, 4, 8, 16 and 20 kiosks, --seconds each")
    ap.add_argument("--pgbouncer", action="store_true", help="through PgBouncer in transaction pooling mode")
    ap.add_argument("--failover", action="store_true",
                    help="a primary and a streaming standby; kill + promote at mid-run (bench/failover.py)")
    args, rest = ap.parse_known_args()
    if args.failover:  # the cluster instead of one server; its own options pass through (bench/failover.py)
        from bench import failover

        failover.main(["--kiosks", str(args.kiosks), "--seconds", str(args.seconds), *rest])
        return
    if rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")

    from bench.pg_server import temporary_server

    pooler = None
    if args.pgbouncer:
        from bench.pgbouncer import transaction_pooler as pooler  # type: ignore[no-redef]
    server = nullcontext(args.pg_url) if args.pg_url else temporary_server()
    with server as admin:
        counts = [1, 2, 4, 8, 16, 20] if args.curve else [args.kiosks]
        results = []
        for k in counts:
            r = run(admin, kiosks=k, seconds=args.seconds, rate=args.rate, latency_ms=args.latency_ms,
                    households=args.households, pooler=pooler)
            results.append(r)
            print(fleet_line(r), file=sys.stderr if len(counts) > 1 else sys.stdout, flush=True)
    if len(counts) > 1:
        print("| kiosks | payments/s | p50 ms | p99 ms | one-row insert p99 ms | ratio | round trips | "
              "time waiting on locks | CPU: server / kiosks / proxy / other / idle | anomalies |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for r in results:
            c = r["cpu"]
            print(f"| {r['kiosks']} | {r['per_s']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['base_p99']:.1f} | "
                  f"{r['ratio']:.1f} | {r['round_trips']:.1f} | {r['lock_share']:.1f} % | {c['server']:.0f} / "
                  f"{c['kiosks']:.0f} / {c['bench']:.0f} / {c['other']:.0f} / {c['idle']:.0f} % | {r['anomalies']} |")
        total = dict(results[-1], anomalies=sum(r["anomalies"] for r in results))
        print(fleet_line(total))


if __name__ == "__main__":
    main()
