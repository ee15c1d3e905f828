"""The trade bill (交易账单) as WeChat Pay publishes it: a CSV with every field prefixed by a backtick, amounts
in yuan with two decimals, one row per successful payment and one per refund, then a summary block.

Which day a row belongs to is the day (China time) of the payment's success_time or the refund's success.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

from devices.sim.wechatpay.ledger import CHINA, Ledger

HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
          "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
          "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注").split(",")
SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额".split(",")
BILL_TYPES = ("ALL", "SUCCESS", "REFUND")


def yuan(fen: int) -> str:
    """Exact: 12345 -> '123.45' (never through float)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def trade_bill(ledger: Ledger, day: date, bill_type: str = "ALL") -> tuple[str, int]:
    """The bill's CSV text and how many rows it has."""
    rows: list[tuple[float, list[str]]] = []
    with ledger.lock:
        for order in ledger.orders.values():
            if bill_type in ("ALL", "SUCCESS") and order.success_time is not None and _day(order.success_time) == day:
                rows.append((order.success_time, _row(order.success_time, order, "SUCCESS", order.total)))
        for refund in ledger.refunds.values():
            if bill_type in ("ALL", "REFUND") and _day(refund.settles_at) == day:
                rows.append((refund.settles_at, _row(refund.settles_at, refund.order, "REFUND", refund.order.total,
                                                     refund.refund_id, refund.out_refund_no, refund.amount)))
    rows.sort(key=lambda r: r[0])
    paid = sum(int(r[1][12].strip("`").replace(".", "")) for r in rows if r[1][9] == "`SUCCESS")
    refunded = sum(int(r[1][16].strip("`").replace(".", "")) for r in rows if r[1][9] == "`REFUND")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(r[1] for r in rows)
    writer.writerow(SUMMARY)
    writer.writerow([f"`{len(rows)}", f"`{yuan(paid)}", f"`{yuan(refunded)}", "`0.00", "`0.00", f"`{yuan(paid)}",
                     f"`{yuan(refunded)}"])
    return out.getvalue(), len(rows)


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, tz=CHINA).date()


def _row(ts: float, order, state: str, total: int, refund_id: str = "", out_refund_no: str = "",  # type: ignore[no-untyped-def]
         refund: int = 0) -> list[str]:
    settle = total if state == "SUCCESS" else 0
    values = [datetime.fromtimestamp(ts, tz=CHINA).strftime("%Y-%m-%d %H:%M:%S"), order.appid, order.mchid, "0", "",
              order.transaction_id, order.out_trade_no, order.openid, order.trade_type, state, "OTHERS", "CNY", yuan(settle),
              "0.00", refund_id, out_refund_no, yuan(refund), "0.00", "ORIGINAL" if refund else "",
              "SUCCESS" if refund else "", order.description, order.attach, "0.00000", "0.60%", yuan(total),
              yuan(refund), ""]
    return [f"`{v}" for v in values]
