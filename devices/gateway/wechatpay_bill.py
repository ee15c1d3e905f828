"""WeChat Pay's trade bill (交易账单) read into rows with integer fen, for reconciliation with the ledger.

The file: a CSV, every field prefixed by a backtick, amounts in yuan with two decimals; a header row, one row per
payment (交易状态 SUCCESS) and per refund (REFUND), then a two-row summary (总交易单数 ...). Checked against the
SHA1 the bill request gave before anything is read.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io

from devices.gateway.bill import BillRow, fen_of
from kiosk.errors import GatewayError

__all__ = ["BillRow", "fen_of", "read_trade_bill"]


def read_trade_bill(content: bytes, sha1_hex: str) -> list[BillRow]:
    raw = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    if hashlib.sha1(raw).hexdigest() != sha1_hex.lower():  # noqa: S324 - the hash WeChat gives
        raise GatewayError("WeChat Pay trade bill: SHA1 does not match the bill request's")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    if not rows or rows[0][:1] != ["交易时间"]:
        raise GatewayError("WeChat Pay trade bill: no header row")
    out: list[BillRow] = []
    try:
        for row in rows[1:]:
            if row[:1] == ["总交易单数"]:
                break
            v = [field.lstrip("`") for field in row]
            if v[9] == "REFUND":
                out.append(BillRow(v[0], v[6], v[5], "REFUND", fen_of(v[16]), v[15]))
            else:
                out.append(BillRow(v[0], v[6], v[5], v[9], fen_of(v[12])))
    except (IndexError, ValueError) as exc:
        raise GatewayError(f"WeChat Pay trade bill: unreadable row: {exc}") from exc
    return out
