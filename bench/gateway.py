"""Payment rail timings through the `wechatpay` and `alipay` drivers against `kiosk sim wechatpay` / `kiosk sim
alipay`, each simulator in its own process with added latency and its keys in a temporary directory.

Run: .venv/bin/python bench/gateway.py [--network wechatpay|alipay|both] [--latency-ms 150] [--orders 30]
Measures, over --orders orders per network: create_order -> the code the kiosk draws (code_url / qr_code), a
query's round trip, and the resident paying -> the signed notification received by the kiosk and verified by the
driver (what confirms a payment). Targets (issue 18): create <= 1.5 round trips of added latency (whole time, so
the floor counts against it); the notification path <= one round trip. The simulators add their latency to
gateway answers only: a notification arrives without it, so that row is the kiosk side's cost (verify, and for
WeChat Pay decrypt), not the network's. Prints a Markdown table per network; exits 1 when a target is missed.
With --journey [--payments N]: payment confirmed -> receipt printed through the assembled kiosk
(bench/gateway_journey.py).
"""
from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.gateway.alipay import AlipayGateway  # noqa: E402
from devices.gateway.notify_listener import NotificationListener  # noqa: E402
from devices.gateway.wechatpay import WeChatPayGateway  # noqa: E402
from tests.support.alipay_rig import alipay_process  # noqa: E402
from tests.support.wechatpay_rig import NotifyListener, sim_process  # noqa: E402


@dataclass
class Rail:
    """One network as the bench drives it: its driver, how the resident pays an order at the simulator (kept out of
    the timing where the network needs a step before paying), and the next verified notification's order id."""

    title: str
    code: str  # what create_order hands the screen
    gateway: object
    before_paying: Callable[[str], None]
    pay: Callable[[str], None]
    next_paid: Callable[[], str]  # raises queue.Empty after 5 s


@contextmanager
def wechatpay(latency_ms: int) -> Iterator[Rail]:
    with tempfile.TemporaryDirectory() as keys, NotifyListener() as listener, \
            sim_process(Path(keys), "--latency-ms", str(latency_ms)) as sim:
        gateway = WeChatPayGateway(sim.url, Path(keys) / "credentials.json", notify_url=listener.url)

        def next_paid() -> str:
            headers, body = listener.next(timeout=5)
            return gateway.verify_notification(body.encode("utf-8"), headers).order_id

        yield Rail("WeChat Pay", "code_url", gateway, lambda _order: None,
                   lambda order: sim.control(action="pay", out_trade_no=order, delay_s=0), next_paid)


@contextmanager
def alipay(latency_ms: int) -> Iterator[Rail]:
    received: queue.Queue[str] = queue.Queue()
    holder: list[AlipayGateway] = []

    def handle(body: bytes, headers: object) -> None:
        received.put(holder[0].verify_notification(body, {}).order_id)

    with tempfile.TemporaryDirectory() as keys, alipay_process(Path(keys), "--latency-ms", str(latency_ms)) as sim, \
            NotificationListener(handle) as listener:
        c = sim.credentials
        holder.append(AlipayGateway(c["gateway_url"], c["app_id"], c["app_private_key_path"],
                                    c["alipay_public_key_path"], notify_url=listener.url))
        # a precreated trade exists at Alipay once the buyer scans it: the scan is the resident's, not timed
        yield Rail("Alipay", "qr_code", holder[0], lambda order: sim.control(action="scan", out_trade_no=order),
                   lambda order: sim.control(action="pay", out_trade_no=order), lambda: received.get(timeout=5))


RAILS = {"wechatpay": wechatpay, "alipay": alipay}


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def measure(rail: Rail, orders: int) -> dict[str, list[float]] | None:
    create: list[float] = []
    queries: list[float] = []
    confirm: list[float] = []
    for n in range(orders):
        order_id = f"BENCH{int(time.time())}{n:05d}"
        start = time.perf_counter()
        rail.gateway.create_order(order_id, 100 + n, "物业费", 300)  # type: ignore[attr-defined]
        create.append(time.perf_counter() - start)
        start = time.perf_counter()
        rail.gateway.query(order_id)  # type: ignore[attr-defined]
        queries.append(time.perf_counter() - start)
        rail.before_paying(order_id)
        start = time.perf_counter()
        rail.pay(order_id)
        try:
            while rail.next_paid() != order_id:
                pass
        except queue.Empty:
            print(f"{rail.title}: no notification for {order_id}", file=sys.stderr)
            return None
        confirm.append(time.perf_counter() - start)
    return {"create": create, "query": queries, "confirm": confirm}


def report(rail: Rail, figures: dict[str, list[float]], latency_ms: int, orders: int) -> bool:
    rtt = latency_ms / 1000
    rows = [(f"create_order -> {rail.code}", figures["create"], 1.5 * rtt), ("query round trip", figures["query"], None),
            ("resident pays -> notification verified", figures["confirm"], rtt)]
    print(f"| {rail.title}, simulator latency {latency_ms} ms, {orders} orders | p50 ms | p95 ms | target p95 ms |")
    print("|---|---|---|---|")
    ok = True
    for name, values, target in rows:
        line = f"| {name} | {statistics.median(values) * 1000:.0f} | {p95(values) * 1000:.0f} | "
        line += f"{target * 1000:.0f} |" if target is not None else "- |"
        print(line)
        ok = ok and (target is None or p95(values) <= target)
    print()
    return ok


def main() -> int:
    if "--journey" in sys.argv[1:]:  # the whole journey through the kiosk: bench/gateway_journey.py
        from bench.gateway_journey import main as journey

        return journey([a for a in sys.argv[1:] if a != "--journey"])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=("wechatpay", "alipay", "both"), default="both")
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--orders", type=int, default=30)
    args = parser.parse_args()
    ok = True
    for name in (("wechatpay", "alipay") if args.network == "both" else (args.network,)):
        with RAILS[name](args.latency_ms) as rail:
            figures = measure(rail, args.orders)
        if figures is None:
            return 1
        ok = report(rail, figures, args.latency_ms, args.orders) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
