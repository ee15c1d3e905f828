"""Kiosks paying while the estate's primary dies and its standby takes over (issue 17, section 2).

Run: .venv/bin/python bench/failover.py [--kiosks 4] [--seconds 20] [--promote-after 1] [--asynchronous]
                                        [--ports P1,P2]
(also `bench/fleet.py --failover`, which runs this).

Starts a primary and a streaming standby (tests/support/pg_cluster.py: initdb, pg_basebackup -R, pg_ctl;
synchronous unless --asynchronous), K kiosks on the libpq multi-host URL (target_session_attrs=read-write),
each a thread with its own engine and chain paying bills (card, banknote, QR) and topping up cards back to back
(tests/support/failover_load.py); at mid-run kills the primary (pg_ctl stop -m immediate), waits
--promote-after seconds (the technician, or a watchdog, deciding) and promotes the standby (pg_ctl promote).
A payment that meets the failover is asked again with its idempotency key until it has an answer.

Reported: the takeover time, from the kill until the first payment committed on the new primary (and the
promotion's own share); the payments in flight at the kill and how each ended; payments a kiosk was told had
succeeded that the new primary does not have (lost: only possible with --asynchronous); and every invariant
checked on the new primary (bench/fleet_estate.check: the keyed chains, entries balanced, no bill paid twice,
one effect per key, receipts gap-free per site, cards equal to the ledger).

Last line: failover: K kiosks, X payments/s, takeover T s (promotion P s after the kill), in flight N,
lost acknowledged L, anomalies A
"""
from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections import Counter as Tally
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

AUDIT_KEY = bytes.fromhex("f2" * 32)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def run(*, kiosks: int, seconds: float, promote_after: float, synchronous: bool, ports: list[int],
        households: int = 40) -> dict[str, Any]:
    from sqlalchemy import select

    from bench import fleet_estate
    from kiosk.domain.terms import PaymentStatus
    from kiosk.persistence import schema
    from kiosk.persistence.chain import ChainBinding
    from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
    from kiosk.persistence.models import Payment
    from tests.support.failover_load import KioskLoad
    from tests.support.pg_cluster import PgCluster

    with PgCluster(ports[0], ports[1], synchronous=synchronous) as cluster:
        mode = cluster.wait_streaming()
        url = cluster.url()
        engine = make_engine(url)
        schema.upgrade(engine)
        office = make_session_factory(engine, chain=ChainBinding(AUDIT_KEY, "OFFICE"))
        bills_each = max(20, int(seconds * 40 * kiosks / households) + 10)
        with unit_of_work(office) as s:
            estate = fleet_estate.build(s, kiosks=kiosks, households=households, bills_each=bills_each)
        stop = threading.Event()
        loads = [KioskLoad(url, AUDIT_KEY, code=fleet_estate.kiosk_code(i),
                           kiosk_id=estate.kiosk_ids[fleet_estate.kiosk_code(i)], site_id=estate.site_id,
                           site_names=fleet_estate.SITE_NAMES, households=estate.household_ids, seed=500 + i,
                           card_households=estate.household_ids[i::kiosks], stop=stop) for i in range(kiosks)]
        began = time.monotonic()
        for k in loads:
            k.start()
        time.sleep(seconds / 2)
        killed_at = cluster.kill_primary()
        time.sleep(promote_after)
        cluster.promote()
        promoted_at = time.monotonic()
        time.sleep(max(1.0, began + seconds - time.monotonic()))
        stop.set()
        for k in loads:
            k.join(60)
        ended = time.monotonic()
        ops = [op for k in loads for op in k.ops]
        with unit_of_work(office) as s:
            status = dict(s.execute(select(Payment.idempotency_key, Payment.status)).all())
            problems = fleet_estate.check(s, AUDIT_KEY)
        engine.dispose()
    ok = [op for op in ops if op.outcome == "ok"]
    first = min((op.ended for op in ok if op.ended > killed_at), default=float("nan"))
    lost = [op.key for op in ok if status.get(op.key) not in (PaymentStatus.SUCCEEDED, PaymentStatus.VOIDED)]
    in_flight = [op for op in ops if op.faults]
    unresolved = [op.key for op in ops if op.outcome == "unresolved"]
    silent = [k.code for k in loads if not any(op.outcome == "ok" and op.started > promoted_at for op in k.ops)]
    return dict(kiosks=kiosks, mode=mode, payments=len(ok), per_s=len(ok) / (ended - began),
                takeover_s=first - killed_at, promote_s=promoted_at - killed_at, in_flight=len(in_flight),
                in_flight_ends=dict(Tally(op.outcome for op in in_flight)),
                in_flight_met=dict(Tally(f for op in in_flight for f in op.faults)), lost=lost, unresolved=unresolved,
                not_reconnected=silent, problems=problems,
                anomalies=len(problems) + len(unresolved) + len(silent) + (len(lost) if synchronous else 0))


def line(r: dict[str, Any]) -> str:
    return (f"failover: {r['kiosks']} kiosks, {r['per_s']:.1f} payments/s, takeover {r['takeover_s']:.2f} s "
            f"(promotion {r['promote_s']:.2f} s after the kill), in flight {r['in_flight']}, lost acknowledged "
            f"{len(r['lost'])}, anomalies {r['anomalies']}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiosks", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20.0, help="the whole run; the kill is at its middle")
    ap.add_argument("--promote-after", type=float, default=1.0, help="seconds from the kill to the promotion")
    ap.add_argument("--asynchronous", action="store_true", help="an asynchronous standby (not the default)")
    ap.add_argument("--ports", help="P1,P2 for the primary and the standby (default: two free ports)")
    args, _rest = ap.parse_known_args(argv)
    ports = [int(p) for p in args.ports.split(",")] if args.ports else free_ports(2)
    r = run(kiosks=args.kiosks, seconds=args.seconds, promote_after=args.promote_after,
            synchronous=not args.asynchronous, ports=ports)
    print(f"  standby {r['mode']}; {r['payments']} payments; in flight at the kill ended as {r['in_flight_ends']} "
          f"after meeting {r['in_flight_met']}",
          file=sys.stderr)
    for what in ("lost", "unresolved", "not_reconnected", "problems"):
        for item in r[what][:10]:
            print(f"  {what.upper()} {item}", file=sys.stderr)
    print(line(r))


if __name__ == "__main__":
    main()
