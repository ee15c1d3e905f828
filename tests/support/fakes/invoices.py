"""The invoice part of the in-memory KioskServices: requests for the fake's receipts, saved titles, phone forms.

Titles are checked by the real kiosk.invoices.titles.make_buyer (GB 32100 check character, characters, length) and
masked by its mask functions. Test hooks: `fill_invoice_form(session_id, kind, name, tax_id)` (the resident's
phone), `settle_invoice(request_id, issued=True, reason=...)` (the provider's answer), `invoicing_off`.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from kiosk import errors
from kiosk.flows import invoice_records as ir
from kiosk.invoices.states import STATE_LABELS, InvoiceState
from kiosk.invoices.titles import make_buyer, mask_name, mask_tax_id

FORM_BASE = "http://fake.tax/title-form/"


class FakeInvoicesMixin:
    receipts: dict[str, dict[str, Any]]
    _lock: Any

    def _init_invoices(self) -> None:
        self.invoicing_off = False
        self.invoice_forms: dict[str, ir.TitleView | None] = {}
        self.invoice_requests: dict[str, ir.InvoiceRecord] = {}
        self.invoice_households: dict[str, str] = {}  # request id -> household
        self.saved_titles: dict[str, list[tuple[str, ir.TitleView]]] = {}  # household -> [(id, title)] newest first
        self._invoice_seq = 0
        self.retry_refusal: errors.KioskError | None = None  # test hook: the next retries raise this
        self.retried_titles: dict[str, ir.TitleView] = {}  # request id -> the corrected title staff sent
        self.void_red_reasons: dict[str, str] = {}  # request id -> the red-letter reason a void filed
        self.invoice_deliveries: list[tuple[str, str]] = []  # (request id, phone) re-sent
        self.invoice_delivery_down = False  # the provider cannot be reached for a re-send

    # --- test hooks ---------------------------------------------------------------------------
    def fill_invoice_form(self, session_id: str, kind: str, name: str, tax_id: str = "") -> None:
        if session_id not in self.invoice_forms:
            raise KeyError(session_id)
        self.invoice_forms[session_id] = ir.TitleView(kind, name, tax_id)

    def settle_invoice(self, request_id: str, issued: bool = True, reason: str = "") -> ir.InvoiceRecord:
        with self._lock:
            rec = self.invoice_requests[request_id]
            if issued:
                no = f"{26440000000000000000 + int(request_id):020d}"
                rec = replace(rec, state="issued", state_label=STATE_LABELS[InvoiceState.ISSUED], invoice_no=no,
                              qr_payload=f"https://fake.tax/pdf/{no}.pdf")
            else:
                rec = replace(rec, state="failed", state_label=STATE_LABELS[InvoiceState.FAILED],
                              failure_reason=reason)
            self.invoice_requests[request_id] = rec
            return rec

    def _invoicing_on(self) -> None:
        if self.invoicing_off:
            raise errors.InvoicingOff("switched off")

    # --- KioskServices ------------------------------------------------------------------------
    def invoice_offer(self, receipt_number: str) -> ir.InvoiceOfferView:
        self._enter("invoice_offer")  # type: ignore[attr-defined]
        if self.invoicing_off:
            return ir.InvoiceOfferView(receipt_number, 0, unavailable=errors.InvoicingOff.code)
        receipt = self.receipts.get(receipt_number)
        if receipt is None:
            raise errors.NotFound(receipt_number)
        existing = [r for r in self.invoice_requests.values() if r.receipt_number == receipt_number]
        fen = 0 if receipt["voided"] or receipt["kind"] in ("void", "card_loss") else receipt["amount"]
        return ir.InvoiceOfferView(receipt_number, fen, existing[-1] if existing else None)

    def invoice_titles(self, household_id: str) -> tuple[ir.SavedTitleView, ...]:
        self._enter("invoice_titles")  # type: ignore[attr-defined]
        return tuple(ir.SavedTitleView(tid, t.kind, mask_name(t.kind, t.name), mask_tax_id(t.tax_id) if t.tax_id
                                       else "") for tid, t in self.saved_titles.get(household_id, ()))

    def open_invoice_form(self, expires_in_s: int = 180) -> ir.TitleFormView:
        self._enter("open_invoice_form")  # type: ignore[attr-defined]
        self._invoicing_on()
        session_id = f"F{len(self.invoice_forms) + 1:04d}"
        self.invoice_forms[session_id] = None
        return ir.TitleFormView(session_id, FORM_BASE + session_id, expires_in_s)

    def read_invoice_title(self, session_id: str) -> ir.TitleView | None:
        self._enter("read_invoice_title")  # type: ignore[attr-defined]
        title = self.invoice_forms[session_id]
        if title is None:
            return None
        buyer = make_buyer(title.kind, title.name, title.tax_id)  # raises what the real service raises
        return ir.TitleView(str(buyer.kind), buyer.name, buyer.tax_id)

    def request_invoice(self, household_id: str, receipt_number: str, title: ir.TitleView | None = None,
                        title_id: str | None = None) -> ir.InvoiceRecord:
        self._enter("request_invoice")  # type: ignore[attr-defined]
        self._invoicing_on()
        with self._lock:
            offer = self.invoice_offer(receipt_number)
            if not offer.can_request:
                raise (errors.InvoiceAlreadyRequested(receipt_number, receipt=receipt_number) if offer.existing
                       else errors.NotFound(receipt_number))
            saved = self.saved_titles.setdefault(household_id, [])
            if title is None:
                title = next((t for tid, t in saved if tid == title_id), None)
                if title is None:
                    raise errors.NotFound(f"title {title_id}")
            buyer = make_buyer(title.kind, title.name, title.tax_id)
            title = ir.TitleView(str(buyer.kind), buyer.name, buyer.tax_id)
            kept = [(tid, t) for tid, t in saved if t != title]
            tid = next((tid for tid, t in saved if t == title), str(len(saved) + 1 + len(kept)))
            self.saved_titles[household_id] = [(tid, title)] + kept
            self._invoice_seq += 1
            request_id = str(self._invoice_seq)
            rec = ir.InvoiceRecord(request_id, receipt_number, "queued", STATE_LABELS[InvoiceState.QUEUED],
                                   title.kind, mask_name(title.kind, title.name),
                                   mask_tax_id(title.tax_id) if title.tax_id else "", offer.invoiceable_fen,
                                   created_at=self.now(),  # type: ignore[attr-defined]
                                   household_id=household_id)
            self.invoice_requests[request_id] = rec
            self.invoice_households[request_id] = household_id
            return rec

    def household_invoices(self, household_id: str) -> tuple[ir.InvoiceRecord, ...]:
        self._enter("household_invoices")  # type: ignore[attr-defined]
        return tuple(r for rid, r in reversed(self.invoice_requests.items())
                     if self.invoice_households.get(rid) == household_id)

    def resend_invoice(self, household_id: str, request_id: str, phone: str) -> ir.InvoiceDeliveryView:
        """The real checks (kiosk.invoices.delivery: the phone, 3 a day); `invoice_delivery_down` refuses."""
        from kiosk.invoices.delivery import RESENDS_PER_DAY, check_phone, mask_phone

        self._enter("resend_invoice")  # type: ignore[attr-defined]
        self._invoicing_on()
        number = check_phone(phone)
        with self._lock:
            rec = self.invoice_requests.get(request_id)
            if rec is None or self.invoice_households.get(request_id) != household_id:
                raise errors.NotFound(request_id)
            if rec.state != "issued":
                raise errors.InvoiceWrongState(request_id, state=rec.state)
            done = sum(1 for rid, _ in self.invoice_deliveries if rid == request_id)
            if done >= RESENDS_PER_DAY:
                raise errors.InvoiceResendLimit(request_id, count=done)
            if self.invoice_delivery_down:
                raise errors.InvoiceNotSent("provider down")
            self.invoice_deliveries.append((request_id, number))
            return ir.InvoiceDeliveryView(request_id, mask_phone(number), RESENDS_PER_DAY - done - 1)

    def staff_invoices(self, staff_id: str, state: str | None = None) -> tuple[ir.InvoiceRecord, ...]:
        self._enter("staff_invoices")  # type: ignore[attr-defined]
        self._staff(staff_id, "invoices")  # type: ignore[attr-defined]
        return tuple(r for r in reversed(self.invoice_requests.values())
                     if state is None or r.state == state or (state == "pending" and r.pending))

    def retry_invoice(self, staff_id: str, request_id: str, title: ir.TitleView | None = None,
                      title_id: str | None = None) -> ir.InvoiceRecord:
        self._enter("retry_invoice")  # type: ignore[attr-defined]
        self._staff(staff_id, "invoice retry")  # type: ignore[attr-defined]
        if self.retry_refusal is not None:  # what the real service raises when the provider cannot confirm
            raise self.retry_refusal
        rec = self.invoice_requests.get(request_id)
        if rec is None or rec.state != "failed":
            raise errors.AlreadyDone(request_id)
        if title is None and title_id is not None:
            saved = self.saved_titles.get(self.invoice_households.get(request_id, ""), [])
            title = next((t for tid, t in saved if tid == title_id), None)
            if title is None:
                raise errors.NotFound(f"title {title_id}")
        if title is not None:
            buyer = make_buyer(title.kind, title.name, title.tax_id)  # raises what the real service raises
            rec = replace(rec, buyer_kind=str(buyer.kind), buyer_masked=mask_name(str(buyer.kind), buyer.name),
                          tax_id_masked=mask_tax_id(buyer.tax_id) if buyer.tax_id else "")
            self.retried_titles[request_id] = ir.TitleView(str(buyer.kind), buyer.name, buyer.tax_id)
        rec = replace(rec, state="queued", state_label=STATE_LABELS[InvoiceState.QUEUED], failure_reason="")
        self.invoice_requests[request_id] = rec
        return rec

    def receipt_invoice(self, staff_id: str, receipt_number: str) -> ir.InvoiceRecord | None:
        self._enter("receipt_invoice")  # type: ignore[attr-defined]
        self._staff(staff_id, "receipt invoice")  # type: ignore[attr-defined]
        found = [r for r in self.invoice_requests.values() if r.receipt_number == receipt_number]
        return found[-1] if found else None

    def _void_invoices(self, receipt_number: str, reason: str) -> None:
        """What a void does to the receipt's invoice (kiosk.invoices.red_letters.on_receipt_voided)."""
        for rid, rec in list(self.invoice_requests.items()):
            if rec.receipt_number != receipt_number:
                continue
            if rec.state in ("queued", "failed"):
                self.invoice_requests[rid] = replace(rec, state="cancelled",
                                                     state_label=STATE_LABELS[InvoiceState.CANCELLED])
            elif rec.state in ir.RED_ON_VOID_STATES:
                self.void_red_reasons[rid] = reason
                if rec.state == "issued":
                    self.invoice_requests[rid] = replace(rec, state="red_lettered", red_fen=rec.total_fen,
                                                         state_label=STATE_LABELS[InvoiceState.RED_LETTERED])

    def red_letter_invoice(self, staff_id: str, request_id: str, reason: str) -> ir.InvoiceRecord:
        self._enter("red_letter_invoice")  # type: ignore[attr-defined]
        self._staff(staff_id, "invoice red letter")  # type: ignore[attr-defined]
        if reason not in ir.RED_REASONS:
            raise errors.InvalidEntry(f"red-letter reason {reason!r}", field="reason 1-4")
        rec = self.invoice_requests.get(request_id)
        if rec is None or rec.state != "issued":
            raise errors.AlreadyDone(request_id)
        rec = replace(rec, state="red_lettered", state_label=STATE_LABELS[InvoiceState.RED_LETTERED],
                      red_fen=rec.total_fen)
        self.invoice_requests[request_id] = rec
        return rec
