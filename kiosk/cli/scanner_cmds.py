"""`kiosk sim scanner` and `kiosk devices probe scanner`: the payment-code scanner from the command line."""
from __future__ import annotations

import argparse
import sys

from kiosk.cli.sim_serving import EXIT_DEVICE, stop_on_sigterm


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    devices = subgroup(sub, common, "devices", "check the attached hardware")
    probe = subgroup(devices, common, "probe", "ask one device for its state")
    p = probe.add_parser("scanner", parents=[common],
                         help="open the payment-code scanner and wait for one scan: its network, the code masked")
    p.add_argument("--kind", choices=("serial", "hid"), help="default: devices.scanner.kind from the config")
    p.add_argument("--port", help="device path (default: devices.scanner.port from the config)")
    p.add_argument("--baud", type=int, help="serial speed (default: devices.scanner.baud)")
    p.add_argument("--wait", type=float, default=15.0, help="seconds to wait for a scan")
    p.set_defaults(handler=_probe)

    sim = subgroup(sub, common, "sim", "wire-level device simulators")
    s = sim.add_parser("scanner", parents=[common],
                       help="a payment-code scanner (virtual COM port) on a pseudo-terminal (first line: its path); "
                            "type 'wechat', 'alipay', 'scan CODE', 'garbled', 'double', 'help'")
    s.add_argument("--terminator", default="crlf", choices=("cr", "lf", "crlf"))
    s.add_argument("--control-port", type=int,
                   help="also accept commands on 127.0.0.1:PORT, one per line (0 picks a port; printed second)")
    s.set_defaults(handler=_sim_scanner)


def _sim_scanner(args: argparse.Namespace) -> int:
    from devices.sim.cctalk_sim import run_interactive
    from devices.sim.scanner_sim import SimScanner
    from kiosk.cli.cash_cmds import _Flushing

    stop_on_sigterm()
    try:
        run_interactive(SimScanner(args.terminator), sys.stdin, _Flushing(sys.stdout), control_port=args.control_port)
    except KeyboardInterrupt:
        pass
    return 0


def _probe(args: argparse.Namespace) -> int:
    from devices.scanner.driver import Scan
    from devices.scanner.registry import build_scanner
    from kiosk.domain.payment_code import masked
    from kiosk.errors import ConfigError, DeviceError

    kind, port, baud = args.kind, args.port, args.baud
    if not kind or not port or baud is None:
        from kiosk.cli.common import settings_from

        cfg = settings_from(args, with_secrets=False).devices.scanner
        kind, port, baud = kind or cfg.kind, port or cfg.port, cfg.baud if baud is None else baud
    if not port:
        raise ConfigError("give --port or set devices.scanner.port", key="devices.scanner.port")
    scanner = build_scanner(kind, port, baud)
    where = f"{kind} scanner {port}"
    try:
        scanner.open()
    except DeviceError as exc:
        print(f"{where}: CANNOT OPEN: {exc}")
        return EXIT_DEVICE
    try:
        scanner.arm()
        print(f"{where}: open; scan a payment code within {args.wait:g} s", flush=True)
        result = scanner.poll(args.wait)
    except DeviceError as exc:
        print(f"{where}: FAILED while reading: {exc}")
        return EXIT_DEVICE
    finally:
        scanner.close()
    if result is None:
        print(f"{where}: nothing scanned")
        return EXIT_DEVICE
    if isinstance(result, Scan):
        print(f"{where}: {result.network} payment code {masked(result.code)}")
        return 0
    print(f"{where}: UNREADABLE: {result.reason}")
    return EXIT_DEVICE
