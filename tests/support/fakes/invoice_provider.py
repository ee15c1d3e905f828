"""An in-process tax provider implementing kiosk.ports.InvoiceProvider, for service tests.

It keeps the provider's rules, so the kiosk's side tested against it behaves the same against the simulator
(`kiosk sim tax-provider`, tests/invoicing): an order number is taken once (a second send answers DUPLICATE),
results arrive asynchronously (`delay_s` after acceptance, on `clock`), a buyer tax ID with a wrong check
character fails the invoice, line arithmetic is checked (excluded + tax = included, |excluded x rate - tax| <= 6
fen), red letters reverse an issued invoice once per line. Faults: `down` (every call unreachable), `lose_answer`
(the order is taken but the caller gets no answer: a timeout after sending), `fail_next` (the next order fails
with a reason), `seal_fail` (issued orders fail their seal first). `sends` counts request_invoice calls per order
number: the exactly-once tests read it.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction

from kiosk.domain import credit_code
from kiosk.errors import InvoiceProviderUnreachable, InvoiceRejected
from kiosk.ports import (BuyerKind, InvoiceBuyer, InvoiceOrder, InvoiceResult, InvoiceStatus, RedLetterRequest,
                         TitleForm)


@dataclass
class _Order:
    order_no: str
    total_fen: int
    accepted_at: float
    red: bool = False
    fail_reason: str = ""
    seal_failures: int = 0
    invoice_no: str = ""
    reversed_lines: set[int] = field(default_factory=set)
    line_count: int = 0


class FakeInvoiceProvider:
    name = "fake tax provider"

    def __init__(self, *, delay_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay_s = delay_s
        self.clock = clock
        self.down = False
        self.lose_answer = 0  # the next N requests are taken, but the caller gets no answer
        self.fail_next = ""  # the next order fails with this reason
        self.seal_fail = 0  # each newly accepted order fails its seal this many times
        self.orders: dict[str, _Order] = {}
        self.sends: Counter[str] = Counter()
        self.queries: Counter[str] = Counter()
        self.reissues: Counter[str] = Counter()
        self.titles: dict[str, InvoiceBuyer | None] = {}
        self.deliveries: list[tuple[str, str, str]] = []  # (invoice number, phone, e-mail) re-sent
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    # --- the port -----------------------------------------------------------------------------
    def request_invoice(self, order: InvoiceOrder) -> InvoiceResult:
        with self._lock:
            self._reachable()
            self.sends[order.order_no] += 1
            if order.order_no in self.orders:
                return InvoiceResult(order.order_no, InvoiceStatus.DUPLICATE)
            for n, line in enumerate(order.lines, start=1):
                if abs(Fraction(line.rate_permille, 1000) * line.tax_excluded_fen - line.tax_fen) > 6:
                    raise InvoiceRejected(f"line {n}", reason=f"line {n}: tax off by more than 0.06",
                                          provider_code="E9106")
            reason = self.fail_next
            self.fail_next = ""
            if order.buyer.kind is BuyerKind.COMPANY and not credit_code.is_valid(order.buyer.tax_id):
                reason = "购方税号校验失败"
            self.orders[order.order_no] = _Order(order.order_no, order.total_fen, self.clock(), fail_reason=reason,
                                                 seal_failures=self.seal_fail, line_count=len(order.lines))
            return self._answer(InvoiceResult(order.order_no, InvoiceStatus.ACCEPTED))

    def query(self, order_no: str) -> InvoiceResult:
        with self._lock:
            self._reachable()
            self.queries[order_no] += 1
            found = self.orders.get(order_no)
            if found is None:
                return InvoiceResult(order_no, InvoiceStatus.NOT_FOUND)
            if self.clock() - found.accepted_at < self.delay_s:
                return InvoiceResult(order_no, InvoiceStatus.ISSUING, red=found.red)
            if found.fail_reason:
                return InvoiceResult(order_no, InvoiceStatus.FAILED, reason=found.fail_reason, red=found.red)
            if found.seal_failures:
                return InvoiceResult(order_no, InvoiceStatus.SEAL_FAILED, reason="签章失败", red=found.red)
            if not found.invoice_no:
                found.invoice_no = f"{26440000000000000000 + next(self._numbers):020d}"
            sign = -1 if found.red else 1
            return InvoiceResult(order_no, InvoiceStatus.ISSUED, serial_no=f"S{order_no}", invoice_no=found.invoice_no,
                                 qr_payload=f"https://fake.tax/q/{found.invoice_no}",
                                 pdf_url=f"https://fake.tax/pdf/{found.invoice_no}.pdf",
                                 issued_at=datetime.now(timezone.utc), total_fen=sign * found.total_fen,
                                 red=found.red)

    def reissue(self, order_no: str) -> InvoiceResult:
        with self._lock:
            self._reachable()
            self.reissues[order_no] += 1
            found = self.orders[order_no]
            found.seal_failures = max(0, found.seal_failures - 1)
            found.accepted_at = self.clock()
            return InvoiceResult(order_no, InvoiceStatus.ACCEPTED)

    def red_letter(self, request: RedLetterRequest) -> InvoiceResult:
        with self._lock:
            self._reachable()
            self.sends[request.order_no] += 1
            if request.order_no in self.orders:
                return InvoiceResult(request.order_no, InvoiceStatus.DUPLICATE, red=True)
            blue = self.orders.get(request.original_order_no)
            if blue is None or blue.invoice_no != request.original_invoice_no:
                raise InvoiceRejected("no such invoice", reason="原发票不存在", provider_code="E9110")
            positions = set(range(1, blue.line_count + 1)) if not request.lines else None
            total = blue.total_fen if not request.lines else sum(line.tax_included_fen for line in request.lines)
            if positions is not None and blue.reversed_lines:
                raise InvoiceRejected("already reversed", reason="已红冲", provider_code="E9111")
            if positions is not None:
                blue.reversed_lines |= positions
            self.orders[request.order_no] = _Order(request.order_no, total, self.clock(), red=True)
            return self._answer(InvoiceResult(request.order_no, InvoiceStatus.ACCEPTED, red=True))

    def open_title_form(self, expires_in_s: int) -> TitleForm:
        session_id = f"T{next(self._numbers)}"
        self.titles[session_id] = None
        return TitleForm(session_id, f"https://fake.tax/title/{session_id}", datetime.now(timezone.utc))

    def read_title(self, session_id: str) -> InvoiceBuyer | None:
        return self.titles.get(session_id)

    # --- helpers ------------------------------------------------------------------------------
    def deliver(self, invoice_no: str, *, phone: str = "", email: str = "") -> None:
        """Push an issued invoice again: recorded in `deliveries` (invoice number, phone, e-mail)."""
        self._reachable()
        with self._lock:
            if not any(o.invoice_no == invoice_no for o in self.orders.values()):
                raise InvoiceRejected(f"{invoice_no} not issued", reason=f"发票{invoice_no}不存在", provider_code="")
            self.deliveries.append((invoice_no, phone, email))

    def _reachable(self) -> None:
        if self.down:
            raise InvoiceProviderUnreachable("connection refused")

    def _answer(self, result: InvoiceResult) -> InvoiceResult:
        if self.lose_answer:
            self.lose_answer -= 1
            raise InvoiceProviderUnreachable("read timed out")
        return result

    def issued(self) -> list[str]:
        """Order numbers with an invoice (what the bureau holds)."""
        return [o.order_no for o in self.orders.values() if o.invoice_no]
