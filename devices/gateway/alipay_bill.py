"""Alipay's trade bill (业务明细) read into rows with integer fen, for reconciliation with the ledger.

The file behind `bill_download_url`: a zip holding GBK CSVs; the detail one (业务明细, not its 汇总 summary)
has `#` comment lines, a header row naming the columns (支付宝交易号, 商户订单号, 业务类型, 完成时间,
订单金额（元）, 退款批次号/请求号 ...), one row per payment (业务类型 交易) and per refund (退款, amount
negative), then `#` lines again. Columns are found by their names, not their places.
"""
from __future__ import annotations

import csv
import io
import zipfile

from devices.gateway.bill import BillRow, fen_of
from kiosk.errors import GatewayError

_KINDS = {"交易": "SUCCESS", "退款": "REFUND"}


def read_trade_bill(content: bytes) -> list[BillRow]:
    """The detail rows of an Alipay bill zip; GatewayError for anything that is not one."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        names = [n for n in archive.namelist() if n.endswith(".csv") and "汇总" not in n]
        if len(names) != 1:
            raise GatewayError(f"Alipay bill: expected one detail CSV, found {len(names)}")
        text = archive.read(names[0]).decode("gbk")
    except (zipfile.BadZipFile, UnicodeDecodeError, KeyError) as exc:
        raise GatewayError(f"Alipay bill: not a bill archive ({type(exc).__name__})") from exc
    rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
    if not rows or "支付宝交易号" not in [c.strip() for c in rows[0]]:
        raise GatewayError("Alipay bill: no header row")
    header = [c.strip() for c in rows[0]]
    col = {name: header.index(name) for name in ("支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额（元）")
           if name in header}
    refund_col = next((i for i, name in enumerate(header) if name.startswith("退款批次号")), None)
    if len(col) != 5:
        raise GatewayError(f"Alipay bill: columns missing from the header: {sorted(set(header) ^ set(col))[:3]}")
    out: list[BillRow] = []
    try:
        for row in rows[1:]:
            v = [c.strip() for c in row]
            kind = _KINDS.get(v[col["业务类型"]])
            if kind is None:
                continue  # other business types (e.g. 转账) are not the kiosk's
            fen = abs(fen_of(v[col["订单金额（元）"]]))
            refund_no = v[refund_col] if kind == "REFUND" and refund_col is not None else ""
            out.append(BillRow(v[col["完成时间"]], v[col["商户订单号"]], v[col["支付宝交易号"]], kind, fen, refund_no))
    except (IndexError, ValueError) as exc:
        raise GatewayError(f"Alipay bill: unreadable row: {exc}") from exc
    return out
