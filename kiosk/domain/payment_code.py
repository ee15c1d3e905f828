"""Which network a resident's payment code (付款码) belongs to, from the rules both providers publish.

- WeChat Pay 付款码: 18 digits starting 10, 11, 12, 13, 14 or 15
  (https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=5_1, "用户付款码条形码规则");
- Alipay 付款码: 16 to 24 digits starting 25 to 30, "实际字符串长度以开发者获取的付款码长度为准"
  (https://opendocs.alipay.com/open/194/106039/ and the auth_code field of alipay.trade.pay).

Pure and Kivy-free. A code is valid about a minute and once: it is never logged in full (`masked`).
"""
from __future__ import annotations

from enum import StrEnum

from kiosk.i18n import N_

WECHAT_PREFIXES = ("10", "11", "12", "13", "14", "15")
WECHAT_LENGTH = 18
ALIPAY_PREFIXES = ("25", "26", "27", "28", "29", "30")
ALIPAY_LENGTHS = range(16, 25)


# The gateway networks by their settings name (devices.gateway.networks), as receipts and the settlement name them
GATEWAY_NETWORK_LABELS = {"wechatpay": N_("WeChat Pay"), "alipay": N_("Alipay")}
METHOD_WITH_NETWORK = N_("{method} ({network})")  # 扫码支付（微信支付）


def network_of_payment(details: str) -> str:
    """The network that took a QR payment, from the payment's details JSON ("" when not recorded)."""
    import json

    try:
        found = json.loads(details or "{}")
    except ValueError:
        return ""
    network = found.get("network", "") if isinstance(found, dict) else ""
    return network if isinstance(network, str) else ""


class Network(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"


def _digits(code: str) -> bool:
    # str.isdigit() accepts "²" and other Unicode digits; a scanner sends ASCII.
    return bool(code) and all("0" <= ch <= "9" for ch in code)


def network_of(code: str) -> Network | None:
    """The network whose published rule `code` follows, or None (garbled, foreign, wrong length)."""
    if not _digits(code):
        return None
    if len(code) == WECHAT_LENGTH and code[:2] in WECHAT_PREFIXES:
        return Network.WECHAT
    if len(code) in ALIPAY_LENGTHS and code[:2] in ALIPAY_PREFIXES:
        return Network.ALIPAY
    return None


def problem(code: str) -> str:
    """Why `code` is not a payment code of either network (for the log, never the screen), or ""."""
    if not code:
        return "empty scan"
    if not _digits(code):
        return "not only digits"
    if network_of(code) is not None:
        return ""
    if code[:2] in WECHAT_PREFIXES:
        return f"a WeChat code has {WECHAT_LENGTH} digits, this has {len(code)}"
    if code[:2] in ALIPAY_PREFIXES:
        return f"an Alipay code has 16-24 digits, this has {len(code)}"
    return f"prefix {code[:2]} is neither WeChat (10-15) nor Alipay (25-30)"


def masked(code: str) -> str:
    """What the log may show of a code: its first 2 and last 2 characters and its length."""
    if len(code) <= 4:
        return "*" * len(code)
    return f"{code[:2]}{'*' * (len(code) - 4)}{code[-2:]}"
