"""Reading Alipay's bill archive: columns by name, GBK, comment lines skipped; anything else one clear error."""
from __future__ import annotations

import io
import zipfile

import pytest

from devices.gateway.alipay_bill import read_trade_bill
from kiosk.errors import GatewayError

HEADER = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
          "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
          "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")


def _zip(text: str, name: str = "2088_20261205_业务明细.csv", summary: bool = True) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, text.encode("gbk"))
        if summary:
            z.writestr("2088_20261205_业务明细(汇总).csv", "#汇总\n".encode("gbk"))
    return out.getvalue()


def test_alipays_full_column_layout_reads_payments_and_refunds_in_fen() -> None:
    text = "\n".join([
        "#支付宝业务明细查询", "#账号：[20880000000000000156]", HEADER,
        "2026120522001400001,K1-A,交易,物业费,2026-12-05 10:00:00,2026-12-05 10:00:09,,,,,kio***,100.05,100.05,"
        "0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,0.00,0.00,",
        "2026120522001400001,K1-A,退款,物业费,2026-12-05 10:00:00,2026-12-05 11:00:00,,,,,kio***,-0.05,-0.05,"
        "0.00,0.00,0.00,0.00,0.00,,0.00,0.00,R-7,0.00,0.00,",
        "#-----------------------------------------业务明细列表结束------------------------------------",
        "#交易合计：1笔，商家实收：100.05元"])
    rows = read_trade_bill(_zip(text))
    assert [(r.out_trade_no, r.state, r.amount_fen, r.out_refund_no) for r in rows] == [
        ("K1-A", "SUCCESS", 10005, ""), ("K1-A", "REFUND", 5, "R-7")]


def _two_details() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a_业务明细.csv", HEADER.encode("gbk"))
        z.writestr("b_业务明细.csv", HEADER.encode("gbk"))
    return out.getvalue()


@pytest.mark.parametrize("content", [
    b"not a zip",
    _zip("#only comments\n"),
    _zip("a,b\n1,2\n"),
    _zip(HEADER + "\nT1,K1,交易,s,t,t,,,,,x,12.3.4\n"),
    _two_details(),
], ids=["not-zip", "no-header", "header-missing-columns", "bad-amount", "two-detail-files"])
def test_anything_but_a_readable_bill_is_one_gateway_error(content: bytes) -> None:
    with pytest.raises(GatewayError):
        read_trade_bill(content)
