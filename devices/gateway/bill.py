"""What both networks' bill readers (wechatpay_bill, alipay_bill) share: `BillRow` (defined beside the gateway
port in kiosk/ports.py, so the reconciliation in kiosk/services/gateway_reconcile.py needs no driver) and
`fen_of`, yuan text to integer fen."""
from __future__ import annotations

import re

from kiosk.ports import BillRow

__all__ = ["BillRow", "fen_of"]

_YUAN = re.compile(r"^(-?)(\d+)\.(\d{2})$")


def fen_of(text: str) -> int:
    """'123.45' -> 12345, exactly; anything else is an error (never float)."""
    match = _YUAN.match(text)
    if match is None:
        raise ValueError(f"not a yuan amount: {text!r}")
    sign, whole, cents = match.groups()
    value = int(whole) * 100 + int(cents)
    return -value if sign else value
