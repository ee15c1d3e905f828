"""`kiosk sim wechatpay`: the WeChat Pay API v3 simulator (first line printed: its base URL)."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from kiosk.cli.sim_serving import cannot_listen, serve_http


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    sim = subgroup(sub, common, "sim", "wire-level device simulators")
    w = sim.add_parser("wechatpay", parents=[common],
                       help="WeChat Pay API v3 (Native) on 127.0.0.1 that the wechatpayv3 SDK accepts "
                            "(first line: its http://127.0.0.1:PORT URL; second: the credentials file)")
    w.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    w.add_argument("--keys", help="directory for credentials.json and the key files (reused if it has them; "
                                  "default: a new temporary directory)")
    w.add_argument("--latency-ms", type=int, default=0, help="added to every /v3 answer")
    w.add_argument("--platform-mode", default="certificate", choices=("certificate", "public_key"),
                   help="sign answers as the platform certificate or the platform public key")
    w.set_defaults(handler=_sim_wechatpay)


def _sim_wechatpay(args: argparse.Namespace) -> int:
    from devices.sim.wechatpay import SimWeChatPay, load_or_create

    keys = Path(args.keys) if args.keys else Path(tempfile.mkdtemp(prefix="wechatpay-sim-"))
    credentials = load_or_create(keys)
    try:
        sim = SimWeChatPay(credentials, port=args.port, latency_ms=args.latency_ms,
                           platform_mode=args.platform_mode)
    except OSError as exc:
        return cannot_listen(args.port, exc)
    return serve_http(sim, lambda: [str(keys / "credentials.json"),
                                    f"WeChat Pay simulator (mchid {credentials.mchid}, {sim.platform_mode} mode); "
                                    f"play the resident with POST {sim.url}/sim/control; Ctrl-C stops"])
