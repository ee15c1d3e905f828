"""The tax provider simulator's books: access tokens, invoices (blue and red), red-letter forms, title forms.

Pure state behind one lock, on the simulator's clock (`now` is passed in). An accepted order is
"issuing" (status 20) until its delay passes, then issued (2), failed (22) or seal-failed (24) as
decided when it was accepted; a seal failure is retried with reInvoice at most 20 times per order
per day. Red letters follow the 数电 path: a red-letter form (红字确认单) on the blue invoice, then a
fast red (快捷冲红) that issues the red invoice under a new order number.
"""
from __future__ import annotations

import secrets
import threading
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from devices.sim.tax_sim_checks import (Line, Refusal, check_billing, check_delivery, check_line, name_problem,
                                       tax_id_problem)
from devices.tax import nuonuo_protocol as wire

TOKEN_TTL_S = 24 * 3600
TOKEN_BUDGET = 50  # access tokens per app key per 30 days
TOKEN_WINDOW_S = 30 * 24 * 3600
REINVOICE_PER_DAY = 20
STATUS_MESSAGES = {wire.STATUS_ISSUED: "开票完成（最终状态）", wire.STATUS_ISSUING: "开票中",
                   wire.STATUS_FAILED: "开票失败", wire.STATUS_SEAL_FAILED: "开票成功签章失败"}
UNREGISTERED_BUYER = "购方纳税人识别号在税务系统中不存在或状态异常"
SEAL_FAILURE = "电子签章服务异常，签章失败"


@dataclass
class SimInvoice:
    order_no: str
    serial_no: str
    fields: dict[str, Any]
    lines: tuple[Line, ...]
    ready_at: float
    outcome: str  # the status it ends in: "2", "22" or "24"
    reason: str = ""
    red: bool = False
    blue_no: str = ""  # on a red invoice: the blue invoice it reverses
    invoice_no: str = ""
    issued_at: float | None = None
    reversed: list[list[int]] = field(default_factory=list)  # per blue line: [included, excluded, tax] reversed
    reinvoices: dict[str, int] = field(default_factory=dict)  # day -> reInvoice calls
    accepted_at: float = 0.0

    def status(self, now: float) -> str:
        return wire.STATUS_ISSUING if now < self.ready_at else self.outcome

    def totals(self) -> tuple[int, int, int]:
        return (sum(x.included_fen for x in self.lines), sum(x.excluded_fen for x in self.lines),
                sum(x.tax_fen for x in self.lines))


@dataclass
class TitleSession:
    expires_at: float
    kind: str = ""
    name: str = ""
    tax_id: str = ""

    def state(self, now: float) -> str:
        if self.name:
            return "submitted"
        return "expired" if now >= self.expires_at else "waiting"


class TaxBook:
    """Everything the simulated provider remembers. Methods raise Refusal with the provider's code."""

    def __init__(self, *, app_key: str, app_secret: str, seller_tax_id: str | None, base_url: str,
                 delay_s: float = 2.0) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.seller_tax_id = seller_tax_id
        self.base_url = base_url
        self.delay_s = delay_s
        self.token_ttl_s: float = TOKEN_TTL_S
        self.token_budget = TOKEN_BUDGET
        self.seal_failures = 0  # the next N accepted orders end in a seal failure
        self.fail_next: deque[str] = deque()  # the next accepted orders fail (22) with these reasons
        self.unregistered_tax_ids: set[str] = set()  # buyers the bureau does not know: 22
        self.red_form_status = wire.RED_FORM_NO_CONFIRM
        self.listing_lag_s = 0.0  # an accepted order is unknown to queryInvoiceResult (E9500) this long
        self.tokens: dict[str, float] = {}  # token -> expires at
        self.token_times: list[float] = []  # when tokens were handed out
        self.invoices: dict[str, SimInvoice] = {}  # by order number (blue and red share the namespace)
        self.red_forms: dict[str, dict[str, Any]] = {}  # by billId
        self.titles: dict[str, TitleSession] = {}
        self.deliveries: list[dict[str, Any]] = []  # every re-delivery made (deliveryInvoice), oldest first
        self.counts = {"duplicates": 0, "reinvoices": 0, "refused": 0, "tokens": 0}
        self.lock = threading.RLock()
        self._serial = 0
        self._number = 0

    # --- access tokens --------------------------------------------------------------------------
    def issue_token(self, client_id: str, client_secret: str, now: float) -> tuple[str, int]:
        with self.lock:
            if client_id != self.app_key or client_secret != self.app_secret:
                raise Refusal(wire.APPKEY_INVALID, "获取app密钥失败或appkey无效")
            self.token_times = [t for t in self.token_times if now - t < TOKEN_WINDOW_S]
            if len(self.token_times) >= self.token_budget:
                raise Refusal(wire.TOKEN_LIMIT, f"accessToken获取次数已达上限（30天内最多{self.token_budget}次）")
            token = secrets.token_hex(16)
            self.token_times.append(now)
            self.counts["tokens"] += 1
            self.tokens[token] = now + self.token_ttl_s
            return token, int(self.token_ttl_s)

    def check_token(self, token: str, now: float) -> None:
        with self.lock:
            expires = self.tokens.get(token)
            if expires is None or now >= expires:
                raise Refusal(wire.TOKEN_INVALID, "accessToken无效或已过期")

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {token: 0.0 for token in self.tokens}

    # --- blue invoices ----------------------------------------------------------------------------
    def request_billing(self, payload: object, now: float) -> str:
        with self.lock:
            try:
                fields, lines = check_billing(payload, seller_tax_id=self.seller_tax_id)
            except Refusal:
                self.counts["refused"] += 1
                raise
            order_no = fields["orderNo"]
            if order_no in self.invoices:
                self.counts["duplicates"] += 1
                raise Refusal(wire.DUPLICATE_ORDER, "订单编号或流水号不能重复")
            outcome, reason = self._outcome(fields)
            invoice = SimInvoice(order_no, self._next_serial(now), fields, lines, now + self.delay_s, outcome, reason,
                                 accepted_at=now, reversed=[[0, 0, 0] for _ in lines])
            self.invoices[order_no] = invoice
            return invoice.serial_no

    def _outcome(self, fields: dict[str, Any]) -> tuple[str, str]:
        if fields.get("buyerTaxNum") in self.unregistered_tax_ids:
            return wire.STATUS_FAILED, UNREGISTERED_BUYER
        if self.fail_next:
            return wire.STATUS_FAILED, self.fail_next.popleft()
        if self.seal_failures > 0:
            self.seal_failures -= 1
            return wire.STATUS_SEAL_FAILED, SEAL_FAILURE
        return wire.STATUS_ISSUED, ""

    def query(self, payload: object, now: float) -> list[dict[str, Any]]:
        if not isinstance(payload, dict):
            raise Refusal(wire.INVALID_FIELD, "请求格式不正确")
        order_nos = payload.get("orderNos") or []
        serial_nos = payload.get("serialNos") or []
        if not isinstance(order_nos, list) or not isinstance(serial_nos, list) or not (order_nos or serial_nos):
            raise Refusal(wire.INVALID_FIELD, "orderNos和serialNos不能同时为空")
        if len(order_nos) + len(serial_nos) > 50:
            raise Refusal(wire.INVALID_FIELD, "一次最多查询50条")
        with_detail = str(payload.get("isOfferInvoiceDetail", "0")) == "1"
        with self.lock:
            found = [self.invoices[o] for o in map(str, order_nos) if o in self.invoices]
            found += [i for i in self.invoices.values() if i.serial_no in set(map(str, serial_nos))]
            found = [i for i in found if now >= i.accepted_at + self.listing_lag_s]
            if not found:
                raise Refusal(wire.NOT_FOUND, "发票不存在")
            return [self._item(invoice, now, with_detail) for invoice in found]

    def reinvoice(self, payload: object, now: float) -> None:
        """Send a failed or seal-failed order to the bureau again: same order number and serial."""
        if not isinstance(payload, dict):
            raise Refusal(wire.INVALID_FIELD, "请求格式不正确")
        with self.lock:
            serial = str(payload.get("fpqqlsh") or "")
            order_no = str(payload.get("orderno") or "")
            invoice = next((i for i in self.invoices.values() if i.serial_no == serial), None) if serial \
                else self.invoices.get(order_no)
            if invoice is None:
                raise Refusal(wire.NOT_FOUND, "发票不存在")
            status = invoice.status(now)
            if status == wire.STATUS_ISSUED:
                raise Refusal(wire.ALREADY_ISSUED, "发票已生成，无需再重试开票")
            if status == wire.STATUS_ISSUING:
                raise Refusal(wire.STILL_ISSUING, "开票中（重试中），请耐心等待开票结果")
            day = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%d")
            if invoice.reinvoices.get(day, 0) >= REINVOICE_PER_DAY:
                raise Refusal(wire.REINVOICE_LIMIT, f"同一流水号(订单号)单日最多重试{REINVOICE_PER_DAY}次")
            invoice.reinvoices[day] = invoice.reinvoices.get(day, 0) + 1
            self.counts["reinvoices"] += 1
            invoice.outcome, invoice.reason = self._outcome(invoice.fields)
            invoice.ready_at = now + self.delay_s

    # --- red letters ------------------------------------------------------------------------------
    def save_red_form(self, payload: object, now: float) -> str:
        if not isinstance(payload, dict):
            raise Refusal(wire.INVALID_FIELD, "请求格式不正确")
        with self.lock:
            bill_id = str(payload.get("billId") or "") or secrets.token_hex(8)
            if bill_id in self.red_forms:
                self.counts["duplicates"] += 1
                raise Refusal(wire.DUPLICATE_ORDER, "红字确认单申请号重复")
            if str(payload.get("applySource", "")) != "0":
                raise Refusal(wire.INVALID_FIELD, "applySource只支持0（销方）")
            if self.seller_tax_id and str(payload.get("sellerTaxNo")) != self.seller_tax_id:
                raise Refusal(wire.INVALID_FIELD, "销方税号与授权企业不一致")
            reason = str(payload.get("redReason") or "")
            if reason not in ("1", "2", "3", "4"):
                raise Refusal(wire.INVALID_FIELD, "redReason只能是1、2、3、4")
            blue_no = str(payload.get("blueElecInvoiceNumber") or "")
            for invoice in self.invoices.values():
                self._settle(invoice, now)
            blue = next((i for i in self.invoices.values() if i.invoice_no == blue_no and not i.red), None)
            if blue is None or blue.status(now) != wire.STATUS_ISSUED:
                raise Refusal(wire.RED_NOT_ALLOWED, f"蓝字发票{blue_no}不存在或未开具成功")
            lines = self._reversal(blue, payload.get("detail"))
            form = {"billId": bill_id, "billNo": self._next_number(now), "billUuid": secrets.token_hex(16),
                    "billStatus": self.red_form_status, "blueElecInvoiceNumber": blue_no, "redReason": reason,
                    "buyerName": blue.fields.get("buyerName", ""), "buyerTaxNo": blue.fields.get("buyerTaxNum", ""),
                    "taxExcludedAmount": wire.yuan(sum(x.excluded_fen for _i, x in lines)),
                    "taxAmount": wire.yuan(sum(x.tax_fen for _i, x in lines)),
                    "billTime": _china(now), "lines": lines, "usedBy": ""}
            for index, line in lines:
                done = blue.reversed[index]
                done[0] -= line.included_fen
                done[1] -= line.excluded_fen
                done[2] -= line.tax_fen
            self.red_forms[bill_id] = form
            return bill_id

    def _reversal(self, blue: SimInvoice, detail: object) -> list[tuple[int, Line]]:
        """The (blue row, negative line) pairs a form reverses: all that remains, or the rows asked."""
        remaining = [(i, line, blue.reversed[i]) for i, line in enumerate(blue.lines)]
        if detail in (None, "", []):
            pairs = [(i, Line(line.goods_name, line.goods_code, line.rate_permille, line.policy, line.quantity,
                              -(line.included_fen - done[0]), -(line.excluded_fen - done[1]),
                              -(line.tax_fen - done[2])))
                     for i, line, done in remaining if line.included_fen > done[0]]
            if not pairs:
                raise Refusal(wire.RED_NOT_ALLOWED, "该蓝字发票已全额冲红")
            return pairs
        if not isinstance(detail, list):
            raise Refusal(wire.INVALID_FIELD, "detail格式不正确")
        pairs = []
        last = -1
        for number, row in enumerate(detail, start=1):
            line = check_line(row, number, red=True)
            try:
                index = int(str(row.get("blueDetailIndex"))) - 1  # type: ignore[union-attr]
            except ValueError as exc:
                raise Refusal(wire.INVALID_FIELD, f"第{number}行blueDetailIndex不正确") from exc
            if not 0 <= index < len(blue.lines) or index <= last:
                raise Refusal(wire.RED_NOT_ALLOWED, f"第{number}行blueDetailIndex不正确（须按蓝票行序且不重复）")
            last = index
            original, done = blue.lines[index], blue.reversed[index]
            if (original.goods_name, original.goods_code, original.rate_permille) != \
                    (line.goods_name, line.goods_code, line.rate_permille):
                raise Refusal(wire.RED_NOT_ALLOWED, f"第{number}行与蓝票第{index + 1}行的商品、编码或税率不一致")
            if -line.included_fen > original.included_fen - done[0] or -line.excluded_fen > \
                    original.excluded_fen - done[1] or -line.tax_fen > original.tax_fen - done[2]:
                raise Refusal(wire.RED_NOT_ALLOWED, f"第{number}行冲红金额超过蓝票第{index + 1}行可冲红金额")
            pairs.append((index, line))
        return pairs

    def query_red_forms(self, payload: object) -> dict[str, Any]:
        if not isinstance(payload, dict) or str(payload.get("identity", "")) not in ("0", "1"):
            raise Refusal(wire.INVALID_FIELD, "identity只能是0或1")
        with self.lock:
            wanted = str(payload.get("billId") or "")
            forms = [f for f in self.red_forms.values() if not wanted or f["billId"] == wanted]
            return {"total": len(forms), "list": [{k: v for k, v in f.items() if k not in ("lines", "usedBy")}
                                                  for f in forms]}

    def confirm_red_forms(self) -> None:
        with self.lock:
            for form in self.red_forms.values():
                if form["billStatus"] == wire.RED_FORM_BUYER_PENDING:
                    form["billStatus"] = wire.RED_FORM_CONFIRMED

    def fast_red(self, payload: object, now: float) -> str:
        if not isinstance(payload, dict):
            raise Refusal(wire.INVALID_FIELD, "请求格式不正确")
        with self.lock:
            order_no = str(payload.get("orderNo") or "")
            if not order_no or len(order_no) > 20:
                raise Refusal(wire.INVALID_FIELD, "orderNo不能为空且不超过20位")
            if order_no in self.invoices:
                self.counts["duplicates"] += 1
                raise Refusal(wire.DUPLICATE_ORDER, "订单编号或流水号不能重复")
            form = next((f for f in self.red_forms.values()
                         if f["billNo"] == payload.get("billNo") and f["billUuid"] == payload.get("billUuid")), None)
            if form is None:
                raise Refusal(wire.RED_NOT_ALLOWED, "红字确认单不存在")
            if form["blueElecInvoiceNumber"] != str(payload.get("elecInvoiceNumber") or ""):
                raise Refusal(wire.RED_NOT_ALLOWED, "红字确认单与蓝字发票号码不一致")
            if form["billStatus"] not in wire.RED_FORM_EFFECTIVE:
                raise Refusal(wire.RED_NOT_ALLOWED, f"红字确认单状态{form['billStatus']}，不能开具红字发票")
            if form["usedBy"]:
                raise Refusal(wire.RED_NOT_ALLOWED, f"红字确认单已开具红字发票（订单{form['usedBy']}）")
            blue = next(i for i in self.invoices.values() if i.invoice_no == form["blueElecInvoiceNumber"])
            red = SimInvoice(order_no, self._next_serial(now), dict(blue.fields), tuple(x for _i, x in form["lines"]),
                             now + self.delay_s, wire.STATUS_ISSUED, accepted_at=now, red=True, blue_no=blue.invoice_no)
            red.fields["redReason"] = form["redReason"]
            form["usedBy"] = order_no
            self.invoices[order_no] = red
            return red.serial_no

    # --- title forms ------------------------------------------------------------------------------
    def open_title(self, expires_in_s: float, now: float) -> tuple[str, float]:
        with self.lock:
            session_id = secrets.token_urlsafe(12)
            self.titles[session_id] = TitleSession(now + expires_in_s)
            return session_id, now + expires_in_s

    def submit_title(self, session_id: str, kind: str, name: str, tax_id: str, now: float) -> str:
        """The resident's phone posts the form: "" when taken, else what to correct."""
        with self.lock:
            session = self.titles.get(session_id)
            if session is None or session.state(now) == "expired":
                raise Refusal(wire.NOT_FOUND, "二维码已失效")
            name = name.strip()
            tax_id = "".join(tax_id.split()).upper()
            if kind not in ("personal", "company"):
                return "请选择个人或单位"
            if problem := name_problem(name):
                return problem
            if kind == "company":
                if not tax_id:
                    return "单位抬头须填写统一社会信用代码"
                if problem := tax_id_problem(tax_id):
                    return problem
            elif tax_id:
                return "个人抬头不填写税号"
            session.kind, session.name, session.tax_id = kind, name, tax_id
            return ""

    def read_title(self, session_id: str, now: float) -> dict[str, str]:
        with self.lock:
            session = self.titles.get(session_id)
            if session is None:
                raise Refusal(wire.NOT_FOUND, "抬头会话不存在")
            return {"status": session.state(now), "naturalPersonFlag": "1" if session.kind == "personal" else "0",
                    "buyerName": session.name, "buyerTaxNum": session.tax_id}

    # --- re-delivery (deliveryInvoice) -------------------------------------------------------------
    def deliver(self, payload: object, now: float) -> None:
        """Push an issued invoice again by SMS and/or e-mail: recorded in `deliveries` (what a test reads)."""
        with self.lock:
            try:
                number, phone, mail = check_delivery(payload, seller_tax_id=self.seller_tax_id)
                invoice = next((i for i in self.invoices.values()
                                if i.invoice_no == number and self._settle(i, now) == wire.STATUS_ISSUED), None)
                if invoice is None:
                    raise Refusal(wire.NOT_DELIVERABLE, f"发票{number}不存在或尚未开具，不能交付")
            except Refusal:
                self.counts["refused"] += 1
                raise
            self.deliveries.append({"invoice_no": number, "order_no": invoice.order_no, "phone": phone,
                                    "mail": mail, "at": now})

    # --- answers --------------------------------------------------------------------------------
    def _item(self, invoice: SimInvoice, now: float, with_detail: bool) -> dict[str, Any]:
        status = self._settle(invoice, now)
        included, excluded, tax = invoice.totals()
        item: dict[str, Any] = {
            "serialNo": invoice.serial_no, "orderNo": invoice.order_no, "status": status,
            "statusMsg": STATUS_MESSAGES[status], "failCause": invoice.reason if status in ("22", "24") else "",
            "invoiceType": "2" if invoice.red else "1", "invoiceLine": invoice.fields.get("invoiceLine", "pc"),
            "payerName": invoice.fields.get("buyerName", ""), "payerTaxNo": invoice.fields.get("buyerTaxNum", ""),
            "salerTaxNum": invoice.fields.get("salerTaxNum", ""), "remark": invoice.fields.get("remark", ""),
            "orderAmount": wire.yuan(included), "exTaxAmount": wire.yuan(excluded), "taxAmount": wire.yuan(tax),
            "oldEleInvoiceNumber": invoice.blue_no, "redReason": invoice.fields.get("redReason", ""),
        }
        if status == wire.STATUS_ISSUED:
            assert invoice.issued_at is not None
            item.update(allElectronicInvoiceNumber=invoice.invoice_no, invoiceNo=invoice.invoice_no, invoiceCode="",
                        invoiceTime=int(invoice.issued_at * 1000),
                        qrCode=_qr(invoice.invoice_no, excluded, invoice.issued_at),
                        pdfUrl=f"{self.base_url}/invoices/{invoice.invoice_no}.pdf")
        if with_detail:
            item["invoiceItems"] = [line.as_item(n) for n, line in enumerate(invoice.lines, start=1)]
        return item

    def _settle(self, invoice: SimInvoice, now: float) -> str:
        """The invoice's status now; an invoice that has just been issued gets its number."""
        status = invoice.status(now)
        if status == wire.STATUS_ISSUED and not invoice.invoice_no:
            invoice.invoice_no = self._next_number(invoice.ready_at)
            invoice.issued_at = invoice.ready_at
        return status

    def pdf_lines(self, invoice_no: str) -> list[str] | None:
        with self.lock:
            invoice = next((i for i in self.invoices.values() if i.invoice_no == invoice_no), None)
            if invoice is None:
                return None
            included, excluded, tax = invoice.totals()
            return [f"{'Red-letter' if invoice.red else 'Fully digital'} e-invoice {invoice_no} (simulator)",
                    f"Order {invoice.order_no}", f"Buyer tax ID {invoice.fields.get('buyerTaxNum') or '-'}",
                    f"Total {wire.yuan(included)} = {wire.yuan(excluded)} + tax {wire.yuan(tax)} CNY"]

    def summary(self, now: float) -> dict[str, Any]:
        with self.lock:
            orders = {o: self._settle(i, now) for o, i in self.invoices.items()}
            issued_numbers = [i.invoice_no for i in self.invoices.values() if i.invoice_no]
            return {"tokens_issued": len(self.token_times), "orders": orders, **self.counts,
                    "issued": sum(1 for s in orders.values() if s == wire.STATUS_ISSUED),
                    "distinct_invoice_numbers": len(set(issued_numbers)), "deliveries": len(self.deliveries),
                    "red_forms": {b: f["billStatus"] for b, f in self.red_forms.items()},
                    "red_reasons": {b: f["redReason"] for b, f in self.red_forms.items()}}

    def _next_serial(self, now: float) -> str:
        self._serial += 1
        return datetime.fromtimestamp(now, tz=timezone.utc).strftime("%y%m%d%H%M%S") + f"{self._serial:08d}"

    def _next_number(self, when: float) -> str:
        """A 20-digit 数电 number: year (2), region (2, here 31), channel (1), sequence (15)."""
        self._number += 1
        year = datetime.fromtimestamp(when, tz=timezone.utc).strftime("%y")
        return f"{year}312{self._number:015d}"


def _china(ts: float) -> str:
    return datetime.fromtimestamp(ts + 8 * 3600, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _qr(invoice_no: str, excluded_fen: int, issued_at: float) -> str:
    """The payload of the invoice's QR code: version, kind, (no code), number, amount, date, (no check), CRC."""
    day = datetime.fromtimestamp(issued_at + 8 * 3600, tz=timezone.utc).strftime("%Y%m%d")
    body = f"01,32,,{invoice_no},{wire.yuan(excluded_fen)},{day},"
    return f"{body},{zlib.crc32(body.encode()) & 0xFFFF:04X}"


