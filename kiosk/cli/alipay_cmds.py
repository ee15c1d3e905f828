"""`kiosk sim alipay`: the Alipay openapi gateway simulator on 127.0.0.1 (first line: its base URL)."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from kiosk.cli.sim_serving import EXIT_DEVICE, serve_http


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    sim = subgroup(sub, common, "sim", "wire-level device simulators")
    a = sim.add_parser("alipay", parents=[common],
                       help="the Alipay openapi gateway on 127.0.0.1 (first line: its http://127.0.0.1:PORT base "
                            "URL; the gateway is BASE/gateway.do)")
    a.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    a.add_argument("--keys", help="directory for credentials.json and the RSA key files (made at first start; "
                                  "default: a new temporary directory)")
    a.add_argument("--latency-ms", type=int, default=0, help="added to every gateway answer (default 0)")
    a.set_defaults(handler=_sim_alipay)


def _sim_alipay(args: argparse.Namespace) -> int:
    from devices.sim.alipay_sim import SimAlipay

    keys = Path(args.keys) if args.keys else Path(tempfile.mkdtemp(prefix="alipay-sim-"))
    try:
        sim = SimAlipay(keys, port=args.port, latency_ms=args.latency_ms)
    except OSError as exc:
        print(f"kiosk: cannot start the Alipay simulator on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    except ValueError as exc:  # a key file in --keys that is not a PEM RSA key
        print(f"kiosk: the key files in {keys} are not usable ({exc}); give an empty --keys directory",
              file=sys.stderr)
        return EXIT_DEVICE
    return serve_http(sim, lambda: [f"alipay simulator: gateway {sim.gateway_url}; credentials "
                                    f"{keys / 'credentials.json'}; control with POST {sim.url}/sim/control; "
                                    "Ctrl-C stops"])
