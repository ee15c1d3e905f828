"""What the tax provider simulator checks before it accepts an order: the checks a real provider makes.

Every refusal names the field (in the provider's own words, Chinese) and carries a code from
devices.tax.nuonuo_protocol, so a kiosk mistake (a missing field, amounts that do not add up, tax
outside the bureau's +-0.06 yuan, a buyer tax ID whose check character is wrong) fails in tests.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from devices.tax import nuonuo_protocol as wire
from kiosk.domain import credit_code

TOLERANCE_FEN = 6  # |tax-excluded x rate - tax| <= 0.06 yuan per line
ORDER_NO_MAX = 20
NAME_MAX = 100  # buyer name / title, characters
GOODS_NAME_MAX = 100
KNOWN_RATES = (0, 10, 15, 30, 50, 60, 90, 130)  # permille: 0, 1 %, 1.5 %, 3 %, 5 %, 6 %, 9 %, 13 %
SIMPLIFIED_RATES = (10, 15, 30, 50)
POLICIES = ("", "0", "01", "03", "04")  # none, 简易征收, 免税, 不征税
PUSH_MODES = ("-1", "0", "1", "2")
_DATE = "%Y-%m-%d %H:%M:%S"
_FORBIDDEN_IN_NAMES = re.compile(r"[\x00-\x1f\x7f<>\"\\]")
MOBILE = re.compile(r"^1[3-9]\d{9}$")  # a mainland mobile number, 11 digits
MAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
MAIL_MAX = 100


class Refusal(Exception):
    """The provider refuses a request: `code` and `describe` go back in its answer."""

    def __init__(self, code: str, describe: str) -> None:
        super().__init__(f"{code} {describe}")
        self.code = code
        self.describe = describe


@dataclass(frozen=True)
class Line:
    """One invoice line as the simulator keeps it, amounts in fen (negative on a red invoice)."""

    goods_name: str
    goods_code: str
    rate_permille: int
    policy: str
    quantity: int
    included_fen: int
    excluded_fen: int
    tax_fen: int

    def as_item(self, index: int) -> dict[str, str]:
        """The row as queryInvoiceResult lists it (`invoiceItems`)."""
        return {"index": str(index), "itemName": self.goods_name, "itemCode": self.goods_code,
                "itemTaxRate": wire.rate_text(self.rate_permille), "itemNum": str(self.quantity),
                "itemAmount": wire.yuan(self.excluded_fen), "itemTaxAmount": wire.yuan(self.tax_fen),
                "isIncludeTax": "false", "favouredPolicyFlag": self.policy}


def name_problem(name: str) -> str:
    """Why a buyer name or company title cannot go on an invoice, or ""."""
    if not name.strip():
        return "购方名称不能为空"
    if len(name) > NAME_MAX:
        return f"购方名称不能超过{NAME_MAX}个字符"
    if _FORBIDDEN_IN_NAMES.search(name) or any(ord(ch) > 0xFFFF for ch in name):
        return "购方名称含有不允许的字符"
    return ""


def tax_id_problem(tax_id: str) -> str:
    """Why a buyer tax ID (unified social credit code) is refused, or ""."""
    problem = credit_code.problem(tax_id)
    return f"购方税号{tax_id}校验失败：{problem}" if problem else ""


def _text(data: dict[str, Any], key: str, *, required: bool = True, max_len: int = 0) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise Refusal(wire.INVALID_FIELD, f"{key}格式不正确")
    text = str(value)
    if required and not text.strip():
        raise Refusal(wire.INVALID_FIELD, f"{key}不能为空")
    if max_len and len(text) > max_len:
        raise Refusal(wire.INVALID_FIELD, f"{key}长度不能超过{max_len}")
    return text


def _amount(row: dict[str, Any], key: str, where: str) -> int:
    try:
        return wire.fen(row.get(key))
    except ValueError as exc:
        raise Refusal(wire.INVALID_FIELD, f"{where}{key}必须是最多两位小数的金额") from exc


def check_line(row: object, number: int, *, red: bool = False) -> Line:
    """One invoiceDetail row: fields, arithmetic, tolerance, policy; the line in fen."""
    where = f"第{number}行"
    if not isinstance(row, dict):
        raise Refusal(wire.INVALID_FIELD, f"{where}明细格式不正确")
    goods_name = _text(row, "goodsName", max_len=GOODS_NAME_MAX)
    goods_code = _text(row, "goodsCode")
    if len(goods_code) != 19 or not goods_code.isdigit():
        raise Refusal(wire.INVALID_FIELD, f"{where}商品编码(税收分类编码)必须是19位数字")
    try:
        rate = wire.rate_permille(row.get("taxRate", ""))
    except ValueError as exc:
        raise Refusal(wire.INVALID_FIELD, f"{where}税率格式不正确") from exc
    if rate not in KNOWN_RATES:
        raise Refusal(wire.INVALID_FIELD, f"{where}税率{row.get('taxRate')}不在税率表内")
    with_tax = str(row.get("withTaxFlag", ""))
    if with_tax not in ("0", "1"):
        raise Refusal(wire.INVALID_FIELD, f"{where}withTaxFlag只能是0或1")
    excluded = _amount(row, "taxExcludedAmount", where)
    tax = _amount(row, "tax", where)
    included = _amount(row, "taxIncludedAmount", where)
    if (included >= 0 if red else included <= 0) or (excluded > 0 if red else excluded < 0) \
            or (tax > 0 if red else tax < 0):
        raise Refusal(wire.INVALID_FIELD, f"{where}金额符号不正确（蓝票为正，红票为负）")
    if excluded + tax != included:
        raise Refusal(wire.BAD_TAX_ARITHMETIC,
                      f"{where}不含税金额{wire.yuan(excluded)}+税额{wire.yuan(tax)}≠含税金额{wire.yuan(included)}")
    expected_tax = Fraction(excluded * rate, 1000)
    if abs(expected_tax - tax) > TOLERANCE_FEN:
        raise Refusal(wire.BAD_TAX_ARITHMETIC,
                      f"{where}税额{wire.yuan(tax)}与不含税金额×税率的误差超过0.06元")
    quantity = 1
    if row.get("num") not in (None, ""):
        try:
            num = Fraction(str(row["num"]))
            price = Fraction(str(row.get("price", "")))
        except (ValueError, ZeroDivisionError) as exc:
            raise Refusal(wire.INVALID_FIELD, f"{where}数量或单价格式不正确") from exc
        basis = included if with_tax == "1" else excluded
        if num == 0 or abs(price * num * 100 - basis) > 1:
            raise Refusal(wire.BAD_TAX_ARITHMETIC, f"{where}单价×数量与金额不符")
        quantity = abs(int(num)) if num.denominator == 1 else 1
    policy = str(row.get("favouredPolicyFlag") or "")
    if policy not in POLICIES:
        raise Refusal(wire.INVALID_FIELD, f"{where}优惠政策标识{policy}不正确")
    if policy in ("03", "04") and rate != 0:
        raise Refusal(wire.INVALID_FIELD, f"{where}免税/不征税项目税率必须为0")
    if rate == 0 and policy not in ("03", "04"):
        raise Refusal(wire.INVALID_FIELD, f"{where}税率为0时须注明免税或不征税")
    if policy == "04" and not goods_code.startswith("6"):
        raise Refusal(wire.INVALID_FIELD, f"{where}不征税项目须使用6开头的不征税税收分类编码")
    if policy == "01" and rate not in SIMPLIFIED_RATES:
        raise Refusal(wire.INVALID_FIELD, f"{where}简易征收的征收率不正确")
    return Line(goods_name, goods_code, rate, policy, quantity, included, excluded, tax)


def check_billing(payload: object, *, seller_tax_id: str | None) -> tuple[dict[str, Any], tuple[Line, ...]]:
    """requestBillingNew's body: the order's fields and its lines, or a Refusal."""
    if not isinstance(payload, dict) or not isinstance(payload.get("order"), dict):
        raise Refusal(wire.INVALID_FIELD, "order不能为空")
    order: dict[str, Any] = payload["order"]
    order_no = _text(order, "orderNo", max_len=ORDER_NO_MAX)
    try:
        datetime.strptime(_text(order, "invoiceDate"), _DATE)
    except ValueError as exc:
        raise Refusal(wire.INVALID_FIELD, "invoiceDate格式应为yyyy-MM-dd HH:mm:ss") from exc
    saler = _text(order, "salerTaxNum")
    if seller_tax_id and saler != seller_tax_id:
        raise Refusal(wire.INVALID_FIELD, f"销方税号{saler}与授权企业不一致")
    if credit_code.problem(saler):
        raise Refusal(wire.INVALID_FIELD, f"销方税号{saler}校验失败")
    _text(order, "clerk", max_len=20)
    if str(order.get("invoiceType", "")) != "1":
        raise Refusal(wire.INVALID_FIELD, "invoiceType只能为1（蓝票）；红票请走红字确认单+快捷冲红")
    if str(order.get("invoiceLine", "")) not in ("pc", "bs"):
        raise Refusal(wire.INVALID_FIELD, "invoiceLine只支持pc（数电普票）或bs（数电专票）")
    buyer_name = _text(order, "buyerName", required=False)
    if problem := name_problem(buyer_name):
        raise Refusal(wire.INVALID_FIELD, problem)
    natural = str(order.get("naturalPersonFlag", "0")) == "1"
    buyer_tax = _text(order, "buyerTaxNum", required=False)
    if not natural or str(order.get("invoiceLine")) == "bs" or buyer_tax:
        if not buyer_tax:
            raise Refusal(wire.INVALID_FIELD, "企业购方税号不能为空")
        if natural:
            raise Refusal(wire.INVALID_FIELD, "自然人购方不填写税号")
        if problem := tax_id_problem(buyer_tax):
            raise Refusal(wire.BAD_BUYER_TAX_ID, problem)
    push = str(order.get("pushMode", "-1"))
    if push not in PUSH_MODES:
        raise Refusal(wire.INVALID_FIELD, "pushMode不正确")
    if push in ("1", "2") and not str(order.get("buyerPhone") or "").strip():
        raise Refusal(wire.INVALID_FIELD, "pushMode为1或2时buyerPhone不能为空")
    if push in ("0", "2") and not str(order.get("email") or "").strip():
        raise Refusal(wire.INVALID_FIELD, "pushMode为0或2时email不能为空")
    _text(order, "remark", required=False, max_len=200)
    rows = order.get("invoiceDetail")
    if not isinstance(rows, list) or not rows:
        raise Refusal(wire.INVALID_FIELD, "invoiceDetail不能为空")
    lines = tuple(check_line(row, number) for number, row in enumerate(rows, start=1))
    return {"orderNo": order_no, "buyerName": buyer_name, "buyerTaxNum": buyer_tax, "salerTaxNum": saler,
            "clerk": order["clerk"], "remark": order.get("remark") or "", "pushMode": push,
            "buyerPhone": str(order.get("buyerPhone") or ""), "email": str(order.get("email") or ""),
            "invoiceLine": str(order["invoiceLine"])}, lines


def check_delivery(payload: object, *, seller_tax_id: str | None) -> tuple[str, str, str]:
    """deliveryInvoice's body: the seller, a 20-digit 数电 number, a mobile number and/or an e-mail address.
    Returns (invoice number, phone, mail)."""
    if not isinstance(payload, dict):
        raise Refusal(wire.INVALID_FIELD, "请求报文必须是JSON对象")
    taxnum = _text(payload, "taxnum", max_len=20)
    if seller_tax_id and taxnum != seller_tax_id:
        raise Refusal(wire.INVALID_FIELD, f"taxnum{taxnum}与授权企业税号不一致")
    number = _text(payload, "invoiceNum", max_len=20)
    if not (len(number) == 20 and number.isdigit()):
        raise Refusal(wire.INVALID_FIELD, "invoiceNum数电发票号码须为20位数字")
    phone = _text(payload, "phone", required=False, max_len=20).strip()
    mail = _text(payload, "mail", required=False, max_len=200).strip()
    if not phone and not mail:
        raise Refusal(wire.INVALID_FIELD, "交付手机号和交付邮箱至少填写一个")
    if phone and not MOBILE.match(phone):
        raise Refusal(wire.BAD_DELIVERY_PHONE, f"交付手机号{phone}格式不正确")
    if mail and (len(mail) > MAIL_MAX or not MAIL.match(mail)):
        raise Refusal(wire.BAD_DELIVERY_MAIL, f"交付邮箱{mail}格式不正确")
    return number, phone, mail
