"""`kiosk devices probe cash`, `kiosk sim cash|gateway|gateway-pay`: banknotes and QR payment from the command line."""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from urllib.parse import quote

from kiosk.cli.sim_serving import EXIT_DEVICE, cannot_listen, serve_http, stop_on_sigterm

EXIT_PAYMENT = 8  # same as a PaymentError (kiosk.cli.main.EXIT_PAYMENT)
NOTIFY_MODES = ("once", "twice", "late", "never")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    devices = subgroup(sub, common, "devices", "check the attached hardware")
    probe = subgroup(devices, common, "probe", "ask one device for its state")
    p = probe.add_parser("cash", parents=[common],
                         help="identify the ccTalk bill validator: category, manufacturer, product, serial, bill types")
    p.add_argument("--port", help="device path or pyserial URL (default: devices.cash.url from the config)")
    p.add_argument("--address", type=int, help="ccTalk address (default: devices.cash.address, else 40)")
    p.add_argument("--checksum", default="simple", choices=("simple", "crc16"))
    p.add_argument("--timeout", type=float, default=0.5, help="seconds to wait for each reply")
    p.set_defaults(handler=_probe)

    sim = subgroup(sub, common, "sim", "wire-level device simulators")
    c = sim.add_parser("cash", parents=[common],
                       help="a ccTalk bill validator on a pseudo-terminal (first line: its path); "
                            "type commands such as 'insert 20', 'jam', 'reset', 'help'")
    c.add_argument("--address", type=int, default=40)
    c.add_argument("--echo", action="store_true", help="echo host bytes like a single-wire ccTalk bus")
    c.add_argument("--checksum", default="simple", choices=("simple", "crc16"))
    c.add_argument("--escrow-timeout", type=float, help="return a note held in escrow after this many seconds")
    c.add_argument("--control-port", type=int,
                   help="also accept commands on 127.0.0.1:PORT, one per line (0 picks a port; printed second)")
    c.set_defaults(handler=_sim_cash)

    g = sim.add_parser("gateway", parents=[common],
                       help="a sandbox QR payment gateway on 127.0.0.1 (first line: its http://127.0.0.1:PORT URL)")
    g.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    g.add_argument("--secret", help="shared HMAC secret (default: $KIOSK_GATEWAY_SECRET, else the data dir's secret)")
    g.add_argument("--notify-url", default="", help="where to POST notifications when an order names none")
    g.add_argument("--notify", default="once", choices=NOTIFY_MODES, help="how notifications arrive")
    g.add_argument("--delay", type=float, default=1.0, help="seconds a 'late' notification waits")
    g.set_defaults(handler=_sim_gateway)

    pay = sim.add_parser("gateway-pay", parents=[common], help="play the resident: pay a sandbox order")
    pay.add_argument("order", help="order id (the kiosk shows it as the reference)")
    pay.add_argument("--url", help="sandbox URL (default: devices.gateway.url from the config)")
    pay.add_argument("--notify", choices=NOTIFY_MODES, help="override how this payment's notification arrives")
    pay.add_argument("--delay", type=float, help="seconds a 'late' notification waits")
    pay.set_defaults(handler=_gateway_pay)


# --- probe ---------------------------------------------------------------------------------------
def _probe(args: argparse.Namespace) -> int:
    from devices.cash.cctalk_bill_validator import CctalkBillValidator
    from kiosk.errors import ConfigError, DeviceError

    port, address = args.port, args.address
    if not port or address is None:
        from kiosk.cli.common import settings_from

        cfg = settings_from(args, with_secrets=False).devices.cash
        port = port or cfg.url
        address = cfg.address if address is None else address
    if not port:
        raise ConfigError("give --port or set devices.cash.url", key="devices.cash.url")
    where = f"cash acceptor {port} address {address}"
    validator = CctalkBillValidator(port, address, checksum=args.checksum, timeout_s=args.timeout, retries=1)
    try:
        validator.open(configure=False)
    except DeviceError as exc:
        print(f"{where}: NO ANSWER: {exc}")
        return EXIT_DEVICE
    try:
        info = validator.identify()
        if not validator.is_bill_validator():
            print(f"{where}: NOT A BILL VALIDATOR (equipment category {info['category']!r})")
            return EXIT_DEVICE
        bill_ids = validator.bill_ids()
        values = validator.bill_values()
    except DeviceError as exc:
        print(f"{where}: FAILED while identifying: {exc}")
        return EXIT_DEVICE
    finally:
        validator.close()
    print(f"{where}: {info['category']}")
    print(f"  manufacturer: {info['manufacturer']}")
    print(f"  product code: {info['product_code']}")
    print(f"  serial number: {info['serial']}")
    if validator.echo_seen:
        print("  bus echo: yes (single-wire ccTalk)")
    if not bill_ids:
        print("  bill types: none programmed")
    for bill_type, bill in sorted(bill_ids.items()):
        fen = values[bill_type]
        print(f"  bill type {bill_type}: {bill.code} = {fen // 100}.{fen % 100:02d} {bill.country}")
    return 0


# --- simulators ----------------------------------------------------------------------------------
def _sim_cash(args: argparse.Namespace) -> int:
    from devices.sim.cctalk_sim import SimBillValidator, run_interactive

    sim = SimBillValidator(args.address, echo=args.echo, checksum=args.checksum, escrow_timeout_s=args.escrow_timeout)
    stop_on_sigterm()
    try:
        run_interactive(sim, sys.stdin, _Flushing(sys.stdout), control_port=args.control_port)
    except KeyboardInterrupt:
        pass
    return 0


def _gateway_secret(args: argparse.Namespace) -> str:
    if args.secret:
        return args.secret
    if os.environ.get("KIOSK_GATEWAY_SECRET"):
        return os.environ["KIOSK_GATEWAY_SECRET"]
    from kiosk.cli.common import settings_from

    secrets = settings_from(args, with_secrets=True).secrets
    if secrets is None or not secrets.gateway_secret:
        from kiosk.errors import ConfigError

        raise ConfigError("no gateway secret", key="secrets.gateway_secret")
    return secrets.gateway_secret


def _sim_gateway(args: argparse.Namespace) -> int:
    from devices.sim.gateway_sim import SimGateway

    try:
        sim = SimGateway(_gateway_secret(args), port=args.port, notify_url=args.notify_url,
                         notify_mode=args.notify, notify_delay_s=args.delay)
    except OSError as exc:
        return cannot_listen(args.port, exc)
    return serve_http(sim, lambda: [f"sandbox gateway: notifications {sim.notify_mode}; pay with "
                                    f"'kiosk sim gateway-pay ORDER --url {sim.url}'; Ctrl-C stops"])


def _gateway_pay(args: argparse.Namespace) -> int:
    url = args.url
    if not url:
        from kiosk.cli.common import settings_from

        url = settings_from(args, with_secrets=False).devices.gateway.url
    if not url:
        from kiosk.errors import ConfigError

        raise ConfigError("give --url or set devices.gateway.url", key="devices.gateway.url")
    payload = {k: v for k, v in (("notify", args.notify), ("delay_s", args.delay)) if v is not None}
    request = urllib.request.Request(f"{url.rstrip('/')}/pay/{quote(args.order, safe='')}",
                                     data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            order = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        error = json.loads(exc.read() or b"{}").get("error", exc.code)
        print(f"order {args.order}: NOT PAID ({error})")
        return EXIT_PAYMENT
    except (urllib.error.URLError, OSError) as exc:
        print(f"kiosk: gateway {url} not reachable: {exc}", file=sys.stderr)
        return EXIT_PAYMENT
    fen = order["amount_fen"]
    print(f"order {args.order}: paid {fen // 100}.{fen % 100:02d}, transaction {order['gateway_txn']}")
    return 0


class _Flushing:
    """stdout that flushes every write, so a parent reading the first line is not kept waiting."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self._stream = stream

    def write(self, text: str) -> int:
        count = self._stream.write(text)
        self._stream.flush()
        return count

    def flush(self) -> None:
        self._stream.flush()
