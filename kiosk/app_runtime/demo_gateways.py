"""The demo's two payment networks: `kiosk sim wechatpay` and `kiosk sim alipay` run in the demo's process, their
credentials kept under <data dir>/gateway-sim/ (made at first start, reused after) and named in the data
directory's secrets.toml exactly where a merchant names the real ones (docs/payments.md, "Demo")."""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from kiosk.settings import SECRETS_FILE, Settings

log = logging.getLogger(__name__)
SIM_DIR = "gateway-sim"


def start_network_simulators(data_dir: Path) -> tuple[Any, Any, dict[str, str], dict[str, str]]:
    """(WeChat Pay simulator, Alipay simulator, their URLs, the secrets naming their credentials), both started."""
    from devices.sim.alipay_sim import SimAlipay
    from devices.sim.wechatpay import SimWeChatPay, load_or_create

    keys = data_dir / SIM_DIR
    wechat_keys = keys / "wechatpay"
    wechatpay = SimWeChatPay(load_or_create(wechat_keys), port=0)
    alipay = SimAlipay(keys / "alipay", port=0)
    try:
        urls = {"wechatpay": wechatpay.start()}
        alipay.start()
        urls["alipay"] = alipay.gateway_url
    except BaseException:
        for sim in (wechatpay, alipay):
            try:
                sim.stop()
            except Exception:  # never started
                pass
        raise
    alipay_creds = json.loads((keys / "alipay" / "credentials.json").read_text(encoding="utf-8"))
    named = {"wechatpay_credentials": str(wechat_keys / "credentials.json"),
             "alipay_app_id": alipay_creds["app_id"],
             "alipay_app_private_key_file": alipay_creds["app_private_key_path"],
             "alipay_public_key_file": alipay_creds["alipay_public_key_path"]}
    name_in_secrets_file(data_dir, named)
    return wechatpay, alipay, urls, named


def name_in_secrets_file(data_dir: Path, named: dict[str, str]) -> None:
    """Add the simulators' credentials to secrets.toml where a key is absent (a site's own values are kept there;
    the demo itself always uses the simulators')."""
    import tomllib

    path = data_dir / SECRETS_FILE
    if not path.exists():
        return
    with path.open("rb") as fh:
        present = tomllib.load(fh)
    missing = {k: v for k, v in named.items() if k not in present}
    for key in (k for k, v in named.items() if k in present and str(present[k]) != v):
        log.warning("secrets.toml names its own %s; the demo uses its simulator's", key)
    if not missing:
        return
    ends_clean = path.read_bytes().endswith(b"\n")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(("" if ends_clean else "\n") + "\n# The demo's WeChat Pay and Alipay simulators (kiosk demo).\n")
        fh.writelines(f"{k} = {json.dumps(v)}\n" for k, v in missing.items())


def gateway_settings_for(settings: Settings, urls: dict[str, str], named: dict[str, str]) -> Settings:
    """The settings with both payment networks (WeChat Pay first, as the pay page offers them) pointed at the
    simulators, and their credentials."""
    if settings.secrets is not None:
        settings = replace(settings, secrets=replace(settings.secrets, **named))
    g = settings.devices.gateway
    gateway = replace(g, networks=("wechatpay", "alipay"), wechatpay=replace(g.wechatpay, url=urls["wechatpay"]),
                      alipay=replace(g.alipay, url=urls["alipay"]))
    return replace(settings, devices=replace(settings.devices, gateway=gateway))


# --- the resident's phone, for the demo bar (kiosk.app_runtime.demo_controls) -------------------------------------
NETWORKS = ("wechat", "alipay")


def open_qr_orders(sims: Any) -> list[tuple[float, str, str]]:
    """(created, network, out_trade_no) of every order showing its code and not paid yet, oldest first."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    found: list[tuple[float, str, str]] = []
    if sims.wechatpay is not None:
        with sims.wechatpay.ledger.lock:
            found += [(o.created_at, "wechat", o.out_trade_no) for o in sims.wechatpay.ledger.orders.values()
                      if o.trade_type == "NATIVE" and o.trade_state == "NOTPAY"]
    if sims.alipay is not None:
        china = ZoneInfo("Asia/Shanghai")
        with sims.alipay.book.lock:
            found += [(datetime.strptime(t.gmt_create, "%Y-%m-%d %H:%M:%S").replace(tzinfo=china).timestamp(),
                       "alipay", t.out_trade_no) for t in sims.alipay.book.trades.values()
                      if t.kind == "precreate" and t.status == "WAIT_BUYER_PAY"]
    return sorted(found)


def pay_newest_qr(sims: Any) -> str:
    """The phone scans the newest open code and pays it: its network ("" when no code is open)."""
    orders = open_qr_orders(sims)
    if not orders:
        return ""
    _created, network, out_trade_no = orders[-1]
    if network == "wechat":
        sims.wechatpay.pay(out_trade_no, notify="once", delay_s=0)
    else:
        sims.alipay.control({"action": "pay", "out_trade_no": out_trade_no})
    return network


def show_payment_code(sims: Any, network: str, pin: bool = False) -> str:
    """The resident holds a fresh payment code of `network` to the scanner; with `pin` the phone then waits for the
    PIN (USERPAYING / WAIT_BUYER_PAY) until confirm_pin(). Returns the code masked."""
    from kiosk.domain.payment_code import masked

    if network not in NETWORKS:
        raise ValueError(network)
    if network == "wechat":
        sims.wechatpay.control({"action": "codepay", "buyer": "pin" if pin else "pay", "pin_ms": None})
    else:
        sims.alipay.control({"bar_code": "pin" if pin else "pay", "pin_ms": None})
    said = sims.scanner.execute(network)
    return masked(said.split()[-1])


def confirm_pin(sims: Any) -> bool:
    """The resident enters the PIN on the phone: every payment-code order waiting for it is paid."""
    import time

    done = False
    if sims.wechatpay is not None:
        with sims.wechatpay.ledger.lock:
            for order in sims.wechatpay.ledger.orders.values():
                if order.trade_state == "USERPAYING":
                    order.pays_at = time.time()  # the next query finds it paid, as after a real PIN
                    done = True
    if sims.alipay is not None:
        with sims.alipay.book.lock:
            waiting = [t.out_trade_no for t in sims.alipay.book.trades.values()
                       if t.kind == "bar_code" and t.status == "WAIT_BUYER_PAY"]
        for out_trade_no in waiting:
            sims.alipay.pay_later(out_trade_no, 0)
            done = True
    return done
