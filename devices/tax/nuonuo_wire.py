"""Nuonuo request bodies from the port's values, and the port's values from Nuonuo answers (pure functions)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from devices.tax import nuonuo_protocol as wire
from kiosk.ports import (BuyerKind, InvoiceBuyer, InvoiceLine, InvoiceOrder, InvoiceResult, InvoiceStatus,
                         RedLetterRequest, TaxPolicy)

CHINA = ZoneInfo("Asia/Shanghai")  # the bureau's clock: order and form times are written in it
INVOICE_LINE_PLAIN = "pc"  # 数电普票 (电子发票(普通发票)); a 专票 ("bs") is not offered at the kiosk
# 数电 preferential-policy codes (优惠政策标识): 01 简易征收, 03 免税, 04 不征税; "0" none.
POLICY_CODES = {TaxPolicy.NONE: "0", TaxPolicy.SIMPLIFIED: "01", TaxPolicy.EXEMPT: "03",
                TaxPolicy.NOT_TAXABLE: "04"}
STATUSES = {wire.STATUS_ISSUED: InvoiceStatus.ISSUED, wire.STATUS_ISSUING: InvoiceStatus.ISSUING,
            wire.STATUS_SEALING: InvoiceStatus.ISSUING, wire.STATUS_FAILED: InvoiceStatus.FAILED,
            wire.STATUS_SEAL_FAILED: InvoiceStatus.SEAL_FAILED}


def china_time(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def push_mode(buyer: InvoiceBuyer) -> str:
    """-1 no push, 0 e-mail, 1 phone (SMS), 2 both."""
    if buyer.phone and buyer.email:
        return "2"
    if buyer.phone:
        return "1"
    return "0" if buyer.email else "-1"


def detail(line: InvoiceLine, sign: int = 1) -> dict[str, str]:
    """One invoiceDetail row; `sign` -1 writes a red-letter row (negative quantity and amounts)."""
    price = Fraction(line.tax_included_fen, 100 * line.quantity)
    return {
        "goodsName": line.goods_name,
        "goodsCode": line.tax_code,
        "withTaxFlag": "1",
        "num": str(sign * line.quantity),
        "price": wire.decimal_text(price),
        "taxRate": wire.rate_text(line.rate_permille),
        "taxExcludedAmount": wire.yuan(sign * line.tax_excluded_fen),
        "tax": wire.yuan(sign * line.tax_fen),
        "taxIncludedAmount": wire.yuan(sign * line.tax_included_fen),
        "invoiceLineProperty": "0",
        "favouredPolicyFlag": POLICY_CODES[line.policy],
        "zeroRateFlag": "",
    }


def billing_body(order: InvoiceOrder, *, seller_tax_id: str, clerk: str) -> dict[str, Any]:
    """requestBillingNew's body for a blue invoice."""
    buyer = order.buyer
    return {"order": {
        "orderNo": order.order_no,
        "invoiceDate": china_time(order.ordered_at),
        "invoiceType": "1",
        "invoiceLine": INVOICE_LINE_PLAIN,
        "salerTaxNum": seller_tax_id,
        "clerk": clerk,
        "buyerName": buyer.name,
        "buyerTaxNum": buyer.tax_id,
        "naturalPersonFlag": "1" if buyer.kind is BuyerKind.PERSONAL else "0",
        "buyerPhone": buyer.phone,
        "email": buyer.email,
        "pushMode": push_mode(buyer),
        "remark": order.remark,
        "invoiceDetail": [detail(line) for line in order.lines],
    }}


def delivery_body(invoice_no: str, *, seller_tax_id: str, phone: str, email: str) -> dict[str, Any]:
    """deliveryInvoice's body (诺税通saas发票重新交付接口): a 数电 invoice has no invoice code."""
    return {"taxnum": seller_tax_id, "invoiceCode": "", "invoiceNum": invoice_no, "phone": phone, "mail": email}


def query_body(order_no: str, with_detail: bool = False) -> dict[str, Any]:
    return {"orderNos": [order_no], "isOfferInvoiceDetail": "1" if with_detail else "0"}


def red_form_body(request: RedLetterRequest, *, seller_tax_id: str, buyer_name: str, buyer_tax_id: str,
                  blue_indexes: Sequence[int]) -> dict[str, Any]:
    """saveInvoiceRedConfirm's body; the form's billId is our red order number (so a resend is a duplicate).

    `blue_indexes` are the 1-based rows of the blue invoice the request's lines reverse (empty: all)."""
    body: dict[str, Any] = {
        "billId": request.order_no,
        "blueInvoiceLine": INVOICE_LINE_PLAIN,
        "applySource": "0",  # the seller applies
        "blueElecInvoiceNumber": request.original_invoice_no,
        "sellerTaxNo": seller_tax_id,
        "buyerName": buyer_name,
        "buyerTaxNo": buyer_tax_id,
        "redReason": str(request.reason),
    }
    if request.lines:
        body["detail"] = [{"blueDetailIndex": str(index), **detail(line, sign=-1)}
                          for index, line in zip(blue_indexes, request.lines, strict=True)]
    return body


def fast_red_body(request: RedLetterRequest, *, seller_tax_id: str, bill_no: str, bill_uuid: str,
                  when: datetime) -> dict[str, Any]:
    return {"orderNo": request.order_no, "orderTime": china_time(when), "taxNum": seller_tax_id,
            "elecInvoiceNumber": request.original_invoice_no, "invoiceLine": INVOICE_LINE_PLAIN,
            "billNo": bill_no, "billUuid": bill_uuid}


def result_from_item(item: Mapping[str, Any]) -> InvoiceResult:
    """One queryInvoiceResult row as the port's answer; ValueError when it is not one."""
    status_code = str(item.get("status") or "")
    status = STATUSES.get(status_code)
    if status is None:
        # 3/31: voided (paper invoices only); anything else is an answer we cannot act on.
        status = InvoiceStatus.FAILED
    red = str(item.get("invoiceType") or "1") == "2"
    issued_at = _instant(item["invoiceTime"]) if item.get("invoiceTime") else None
    reason = str(item.get("failCause") or "")
    if status in (InvoiceStatus.FAILED, InvoiceStatus.SEAL_FAILED) and not reason:
        reason = str(item.get("statusMsg") or f"status {status_code}")
    return InvoiceResult(
        order_no=str(item.get("orderNo") or ""),
        status=status,
        serial_no=str(item.get("serialNo") or ""),
        invoice_no=str(item.get("allElectronicInvoiceNumber") or item.get("invoiceNo") or "")
        if status is InvoiceStatus.ISSUED else "",
        qr_payload=str(item.get("qrCode") or "") if status is InvoiceStatus.ISSUED else "",
        pdf_url=str(item.get("pdfUrl") or "") if status is InvoiceStatus.ISSUED else "",
        issued_at=issued_at if status is InvoiceStatus.ISSUED else None,
        total_fen=wire.fen(item["orderAmount"]) if item.get("orderAmount") not in (None, "") else 0,
        reason=reason,
        red=red,
    )


def _instant(milliseconds: object) -> datetime:
    """Epoch milliseconds (the provider's times) as an aware UTC datetime; ValueError when out of range."""
    try:
        return datetime.fromtimestamp(int(milliseconds) / 1000, tz=timezone.utc)  # type: ignore[call-overload]
    except (OverflowError, OSError, TypeError, ValueError) as exc:
        raise ValueError(f"not a time: {milliseconds!r}") from exc


def blue_detail_indexes(blue_items: Sequence[Mapping[str, Any]], lines: Sequence[InvoiceLine]) -> list[int]:
    """The 1-based rows of the blue invoice (queryInvoiceResult's `invoiceItems`) that `lines` reverse,
    walking the invoice in its own order: each line takes the next row with its goods name, tax code and
    rate whose tax-included amount covers it. ValueError when a line has no such row."""
    indexes: list[int] = []
    position = 0
    for line in lines:
        while position < len(blue_items):
            row = blue_items[position]
            position += 1
            included = wire.fen(row.get("itemAmount", "0")) + wire.fen(row.get("itemTaxAmount", "0"))
            if (str(row.get("itemName")) == line.goods_name and str(row.get("itemCode")) == line.tax_code
                    and wire.rate_permille(row.get("itemTaxRate", "0")) == line.rate_permille
                    and included >= line.tax_included_fen):
                indexes.append(position)
                break
        else:
            raise ValueError(f"no line of the invoice matches {line.goods_name} {line.tax_included_fen} fen "
                             "(lines are reversed in the invoice's own order)")
    return indexes
