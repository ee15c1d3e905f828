"""The whole QR journey through the assembled kiosk: payment confirmed -> receipt printed (issue 18).

Run: .venv/bin/python bench/gateway_journey.py [--network wechatpay|alipay|both] [--latency-ms 150] [--payments 20]
     (or bench/gateway.py --journey ...)
The kiosk as `kiosk demo` assembles it (SQLite in a temporary directory, the WeChat Pay and Alipay simulators, the
escpos printer simulator, the real drivers, notification listeners, QR collectors and the print spooler). Each
payment: a bill paid by QR on the network (rt.services.pay_bills, as the pay page calls it); once the code is on
show the resident's phone pays at the simulator (t0, the moment the network knows the payment). Measured per
payment: t0 -> the kiosk learns it is paid (the first of: the verified notification reaching the collector, a
query answering paid: which one won is counted), t0 -> pay_bills returns (ledger and receipt number committed),
t0 -> the receipt's last byte reached the printer (its record in the simulator's folder). Target: payment confirmed
-> receipt printing p95 <= one poll interval (the collector's first query comes 1 s after the code is shown) plus
one round trip of added latency. Prints a Markdown table; exits 1 when the target is missed.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

POLL_INTERVAL_S = 1.0  # kiosk.payments.qr_session.Backoff(): the first query 1 s after the order


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def p50(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


class Watch:
    """Who told the kiosk first that the current order is paid: the notification (verified by the collector) or a
    query answering paid. Instrumented in place; payments run one after another, so the first event is the one."""

    def __init__(self, rt: Any, network: str) -> None:
        self.first: tuple[float, str] | None = None
        self._lock = threading.Lock()
        collector = rt.qr_collectors[network]
        notified, queried = collector.handle_notification, collector.gateway.query

        def handle_notification(body: bytes, headers: Any) -> None:
            notified(body, headers)  # raises for a bad signature: then it told nothing
            self._saw(time.perf_counter(), "notify")

        def query(order_id: str) -> Any:
            answer = queried(order_id)
            if str(getattr(answer, "state", "")) == "paid":
                self._saw(time.perf_counter(), "poll")
            return answer
        collector.handle_notification = handle_notification
        collector.gateway.query = query

    def _saw(self, when: float, how: str) -> None:
        with self._lock:
            if self.first is None:
                self.first = (when, how)

    def take(self) -> tuple[float, str] | None:
        with self._lock:
            first, self.first = self.first, None
            return first


def run_network(network: str, latency_ms: int, payments: int) -> dict[str, Any]:
    from sqlalchemy import select

    from kiosk import bootstrap, settings as settings_mod
    from kiosk.app_runtime.demo import start_demo_runtime
    from kiosk.demo import estate
    from kiosk.flows import records as r
    from kiosk.payments.control import PaymentControl, Stage
    from kiosk.persistence.db import unit_of_work
    from kiosk.persistence.models import Household

    figures: dict[str, list[float]] = {"confirmed": [], "settled": [], "printed": []}
    winners = {"notify": 0, "poll": 0, "unknown": 0}
    with tempfile.TemporaryDirectory(prefix="bench-gateway-journey-") as tmp:
        settings = settings_mod.load(Path(tmp) / "data")
        db = bootstrap.open_database(settings)
        till = bootstrap.ensure_till(db, settings)
        with unit_of_work(db.factory) as s:
            estate.seed(s, till, households=payments + 2)
            households = [str(h) for h in s.scalars(select(Household.id).order_by(Household.id))]
        rt, sims = start_demo_runtime(settings, db)
        try:
            assert rt.supervisors["printer"].wait_available(10)
            sims.wechatpay.latency_s = latency_ms / 1000
            sims.alipay.latency_ms = latency_ms
            watch = Watch(rt, network)
            printed_dir = settings.data_dir / "printer-sim"
            for i, hh in enumerate(households[:payments]):
                watch.take()
                bill = rt.services.household_summary(hh).bills[0]
                paid_at: list[float] = []

                def on_progress(p: Any) -> None:
                    if p.stage is Stage.SCAN_QR and p.code_url and not paid_at:
                        def pay() -> None:
                            orders = _open_order(sims, network)
                            paid_at.append(time.perf_counter())
                            if network == "wechatpay":
                                sims.wechatpay.pay(orders, notify="once", delay_s=0)
                            else:
                                sims.alipay.control({"action": "pay", "out_trade_no": orders})
                        threading.Thread(target=pay, daemon=True).start()
                control = PaymentControl(on_progress)
                control.network = network
                result = rt.services.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.QR, f"bench-{network}-{i}",
                                               "zh_Hans", control=control)
                settled = time.perf_counter()
                printed = _wait_printed(printed_dir, result.receipt_number)
                t0 = paid_at[0]
                when, how = watch.take() or (settled, "unknown")
                winners[how] += 1
                figures["confirmed"].append(when - t0)
                figures["settled"].append(settled - t0)
                figures["printed"].append(printed - t0)
        finally:
            rt.stop()
            db.engine.dispose()
    return {"figures": figures, "winners": winners}


def _open_order(sims: Any, network: str) -> str:
    from kiosk.app_runtime.demo_gateways import open_qr_orders

    want = "wechat" if network == "wechatpay" else "alipay"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        orders = [no for _created, net, no in open_qr_orders(sims) if net == want]
        if orders:
            return orders[-1]
        time.sleep(0.005)
    raise RuntimeError("no open order at the simulator")


def _wait_printed(folder: Path, number: str, timeout_s: float = 20) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in folder.glob("*.json"):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # being written
            if any(number in line for line in record.get("lines", ())):
                return time.perf_counter()
        time.sleep(0.005)
    raise RuntimeError(f"receipt {number} was not printed within {timeout_s} s")


def report(network: str, outcome: dict[str, Any], latency_ms: int) -> bool:
    f, winners = outcome["figures"], outcome["winners"]
    target = (POLL_INTERVAL_S + latency_ms / 1000) * 1000
    ms = {k: [v * 1000 for v in values] for k, values in f.items()}
    ok = p95(ms["printed"]) <= target
    print(f"\n### {network}, {len(ms['printed'])} payments, {latency_ms} ms added per gateway answer\n")
    print("| step (from the phone paying at the network) | p50 ms | p95 ms | target |")
    print("|---|---|---|---|")
    print(f"| the kiosk knows it is paid | {p50(ms['confirmed']):.0f} | {p95(ms['confirmed']):.0f} | |")
    print(f"| ledger and receipt committed (pay_bills returns) | {p50(ms['settled']):.0f} | {p95(ms['settled']):.0f} | |")
    print(f"| receipt printed | {p50(ms['printed']):.0f} | {p95(ms['printed']):.0f} | <= {target:.0f} "
          f"{'met' if ok else 'MISSED'} |")
    print(f"\nFirst to confirm: notification {winners['notify']}, query {winners['poll']}.")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=("wechatpay", "alipay", "both"), default="both")
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--payments", type=int, default=20)
    args = parser.parse_args(argv)
    networks = ("wechatpay", "alipay") if args.network == "both" else (args.network,)
    ok = True
    for network in networks:
        ok = report(network, run_network(network, args.latency_ms, args.payments), args.latency_ms) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
