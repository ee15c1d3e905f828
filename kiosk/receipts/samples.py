"""Sample receipt documents of every kind in zh_Hans, zh_Hant and en, for `kiosk printer test`, previews and benchmarks."""
from __future__ import annotations

from datetime import datetime

from kiosk.domain.receipt import ReceiptDocument, ReceiptItem, ReceiptKind

_TEXT: dict[str, dict[str, str]] = {
    "zh_Hans": {
        "site": "翠湖花园物业客服中心", "number": "单号", "time": "时间", "kiosk": "终端", "household": "房号",
        "total": "合计", "payment_method": "付款方式", "card": "储值卡", "cash": "现金", "qr": "扫码支付",
        "mgmt": "物业管理费", "water": "水费", "power": "电费", "parking": "车位费",
        "before": "卡内余额(前)", "after": "卡内余额(后)", "ticket": "预约号", "slot": "预约时段",
        "ref": "登记号", "phone": "回电号码", "closing": "谢谢惠顾，欢迎再次光临！",
        "credit": "不设找零：12.00 元已存入您的账户", "test": "打印机测试页 中文：您好，欢迎使用自助终端",
    },
    "zh_Hant": {
        "site": "翠湖花園物業客服中心", "number": "單號", "time": "時間", "kiosk": "終端", "household": "房號",
        "total": "合計", "payment_method": "付款方式", "card": "儲值卡", "cash": "現金", "qr": "掃碼支付",
        "mgmt": "物業管理費", "water": "水費", "power": "電費", "parking": "車位費",
        "before": "卡內餘額(前)", "after": "卡內餘額(後)", "ticket": "預約號", "slot": "預約時段",
        "ref": "登記號", "phone": "回電號碼", "closing": "謝謝惠顧，歡迎再次光臨！",
        "credit": "不設找零：12.00 元已存入您的賬戶", "test": "打印機測試頁 中文：您好，歡迎使用自助終端",
    },
    "en": {
        "site": "Jade Lake Gardens Service Centre", "number": "Receipt No.", "time": "Time", "kiosk": "Kiosk",
        "household": "Household", "total": "Total", "payment_method": "Payment", "card": "Stored-value card",
        "cash": "Cash", "qr": "QR payment", "mgmt": "Property management fee", "water": "Water",
        "power": "Electricity", "parking": "Parking rent", "before": "Card balance before",
        "after": "Card balance after", "ticket": "Ticket", "slot": "Slot", "ref": "Reference",
        "phone": "Call back on", "closing": "Thank you. Goodbye!",
        "credit": "No change given: 12.00 credited to your account", "test": "Printer test page: 中文 您好",
    },
}

_TITLES: dict[ReceiptKind, tuple[str, str, str]] = {
    ReceiptKind.BILL_PAYMENT: ("缴费收据", "繳費收據", "Payment receipt"),
    ReceiptKind.TOP_UP: ("充值收据", "充值收據", "Top-up receipt"),
    ReceiptKind.CARD_LOSS: ("挂失凭条", "掛失憑條", "Card reported lost"),
    ReceiptKind.CARD_UNFREEZE: ("解挂凭条", "解掛憑條", "Card unfrozen"),
    ReceiptKind.CARD_REPLACEMENT: ("补卡收据", "補卡收據", "Card replacement"),
    ReceiptKind.BOOKING: ("预约凭条", "預約憑條", "Booking ticket"),
    ReceiptKind.PARKING: ("车位缴费收据", "車位繳費收據", "Parking receipt"),
    ReceiptKind.DIRECT_DEBIT: ("银行托收签约", "銀行托收簽約", "Direct debit sign-up"),
    ReceiptKind.CALLBACK: ("回电登记", "回電登記", "Callback request"),
    ReceiptKind.VOID: ("作废凭条", "作廢憑條", "Void"),
    ReceiptKind.SHIFT_HANDOVER: ("交接班单", "交接班單", "Shift handover"),
    ReceiptKind.SETTLEMENT: ("日结单", "日結單", "Daily settlement"),
    ReceiptKind.TEST: ("打印测试", "打印測試", "Printer test"),
}

LANG_INDEX = {"zh_Hans": 0, "zh_Hant": 1, "en": 2}


def sample_receipt(kind: ReceiptKind = ReceiptKind.BILL_PAYMENT, language: str = "zh_Hans",
                   qr_url: str = "https://e.example.cn/r/K01-000123?s=9f3a") -> ReceiptDocument:
    """A realistic document of `kind`, as the services will build it (strings translated, amounts in fen)."""
    t = _TEXT[language]
    labels = {key: t[key] for key in ("number", "time", "kiosk", "household", "total", "payment_method")}
    items: tuple[ReceiptItem, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    total: int | None = None
    method = ""
    if kind in (ReceiptKind.BILL_PAYMENT, ReceiptKind.VOID):
        items = (ReceiptItem(f"{t['mgmt']} 2026-10", 32850, "2026-10-01 ~ 2026-10-31"),
                 ReceiptItem(f"{t['water']} 2026-10", 4620, "12 m3"),
                 ReceiptItem(f"{t['power']} 2026-10", 18730, "287 kWh"))
        total, method = sum(i.amount_fen for i in items), t["cash"]
        notes = (t["credit"],)
        if kind is ReceiptKind.VOID:
            items = tuple(ReceiptItem(i.label, -i.amount_fen, i.detail) for i in items)
            total, notes = -total, ("R20261128-000117",)
    elif kind in (ReceiptKind.TOP_UP, ReceiptKind.CARD_REPLACEMENT):
        items = (ReceiptItem(_TITLES[kind][LANG_INDEX[language]], 20000 if kind is ReceiptKind.TOP_UP else 2000),)
        total, method = items[0].amount_fen, t["qr"]
        fields = ((t["before"], "35.60"), (t["after"], "235.60" if kind is ReceiptKind.TOP_UP else "35.60"))
    elif kind in (ReceiptKind.CARD_LOSS, ReceiptKind.CARD_UNFREEZE):
        fields = (("IC", "****-****-7A3F"),)
    elif kind is ReceiptKind.BOOKING:
        items = (ReceiptItem("宽带开通 / Broadband", 10000),)
        total, method = 10000, t["card"]
        fields = ((t["ticket"], "B-0042"), (t["slot"], "2026-12-02 09:00-12:00"))
    elif kind is ReceiptKind.PARKING:
        items = (ReceiptItem(f"{t['parking']} B2-117 2026-12", 30000, "2026-12-01 ~ 2026-12-31"),)
        total, method = 30000, t["card"]
        fields = ((t["before"], "512.00"), (t["after"], "212.00"))
    elif kind is ReceiptKind.DIRECT_DEBIT:
        fields = (("Bank", "6222 **** **** 1234"),)
    elif kind is ReceiptKind.CALLBACK:
        fields = ((t["ref"], "CB-20261128-07"), (t["phone"], "138****5678"))
    elif kind in (ReceiptKind.SHIFT_HANDOVER, ReceiptKind.SETTLEMENT):
        fields = ((t["cash"], "4,350.00"), (t["card"], "12,806.50"), (t["qr"], "9,120.00"),
                  ("R20261128-000001 ~ 000131", "131"))
    elif kind is ReceiptKind.TEST:
        notes = (t["test"], "ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789")
    return ReceiptDocument(
        kind=kind, number="R20261128-000123", site_name=t["site"], kiosk_id="K01",
        issued_at=datetime(2026, 11, 28, 14, 5, 9), language=language,
        title=_TITLES[kind][LANG_INDEX[language]], household={"zh_Hans": "2栋-**03", "zh_Hant": "2棟-**03"}.get(language, "Bldg 2-**03"),
        items=items, total_fen=total, payment_method=method, fields=fields, notes=notes,
        qr_url=qr_url if kind not in (ReceiptKind.SHIFT_HANDOVER, ReceiptKind.SETTLEMENT) else "",
        closing=t["closing"], labels=labels,
    )
