"""The invoice calls of the real KioskServices: thin over kiosk.invoices.service.Invoicing (the runtime's)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kiosk.errors import InvoicingOff, NotFound
from kiosk.flows import invoice_records as ir

if TYPE_CHECKING:
    from kiosk.app_runtime.runtime import KioskRuntime
    from kiosk.invoices.views import InvoiceView


def record(view: InvoiceView) -> ir.InvoiceRecord:
    return ir.InvoiceRecord(str(view.request_id), str(view.receipt_number), str(view.state), view.state_label,
                            str(view.buyer_kind), view.buyer_masked, view.tax_id_masked, view.total_fen,
                            # the QR a phone opens: the PDF's address (the bureau's own payload when there is none)
                            view.invoice_no or "", view.pdf_url or view.qr_payload or "", view.failure_reason or "",
                            view.red_fen,
                            view.created_at, str(view.household_id or ""))


class InvoicesFacade:
    rt: KioskRuntime

    def _invoicing(self):  # type: ignore[no-untyped-def]
        if self.rt.invoicing is None:
            raise InvoicingOff("not built")
        return self.rt.invoicing

    def invoice_offer(self, receipt_number: str) -> ir.InvoiceOfferView:
        inv = self.rt.invoicing
        if inv is None or not inv.available:
            error = (inv.error if inv is not None else None) or InvoicingOff()
            return ir.InvoiceOfferView(str(receipt_number), 0, unavailable=error.code)
        offer = inv.offer(receipt_number)
        return ir.InvoiceOfferView(str(receipt_number), offer.invoiceable_fen,
                                   record(offer.existing) if offer.existing is not None else None)

    def invoice_titles(self, household_id: str) -> tuple[ir.SavedTitleView, ...]:
        return tuple(ir.SavedTitleView(str(t.title_id), str(t.kind), t.name_masked, t.tax_id_masked)
                     for t in self._invoicing().saved_titles(int(household_id)))

    def open_invoice_form(self, expires_in_s: int = 180) -> ir.TitleFormView:
        form = self._invoicing().open_title_form(expires_in_s)
        expires = form.expires_at if form.expires_at.tzinfo else form.expires_at.replace(tzinfo=UTC)
        left = int((expires - datetime.now(UTC)).total_seconds())
        return ir.TitleFormView(form.session_id, form.url, max(1, min(left, expires_in_s)))

    def read_invoice_title(self, session_id: str) -> ir.TitleView | None:
        buyer = self._invoicing().read_title(session_id)
        return None if buyer is None else ir.TitleView(str(buyer.kind), buyer.name, buyer.tax_id)

    def request_invoice(self, household_id: str, receipt_number: str, title: ir.TitleView | None = None,
                        title_id: str | None = None) -> ir.InvoiceRecord:
        from kiosk.invoices.titles import make_buyer

        inv = self._invoicing()
        buyer = make_buyer(title.kind, title.name, title.tax_id) if title is not None else None
        if buyer is None and not title_id:
            raise NotFound("no invoice title")
        view = inv.request(receipt_number, actor=f"kiosk:{self.rt.till.kiosk_code}", buyer=buyer,
                           title_id=int(title_id) if title_id and buyer is None else None,
                           household_id=int(household_id))
        return record(view)

    def household_invoices(self, household_id: str) -> tuple[ir.InvoiceRecord, ...]:
        if self.rt.invoicing is None:
            return ()
        return tuple(record(v) for v in self.rt.invoicing.household_invoices(int(household_id)))

    def resend_invoice(self, household_id: str, request_id: str, phone: str) -> ir.InvoiceDeliveryView:
        sent = self._invoicing().resend(actor=f"kiosk:{self.rt.till.kiosk_code}", request_id=int(request_id),
                                        phone=phone, household_id=int(household_id))
        return ir.InvoiceDeliveryView(str(sent.request_id), sent.address_masked, sent.left_today)

    def staff_invoices(self, staff_id: str, state: str | None = None) -> tuple[ir.InvoiceRecord, ...]:
        self._staff(staff_id)  # type: ignore[attr-defined]
        if self.rt.invoicing is None:
            return ()
        return tuple(record(v) for v in self.rt.invoicing.list(state))

    def retry_invoice(self, staff_id: str, request_id: str, title: ir.TitleView | None = None,
                      title_id: str | None = None) -> ir.InvoiceRecord:
        from kiosk.invoices.titles import make_buyer

        who = self._staff(staff_id)  # type: ignore[attr-defined]
        buyer = make_buyer(title.kind, title.name, title.tax_id) if title is not None else None
        return record(self._invoicing().retry(int(request_id), actor=f"staff:{who.name}", buyer=buyer,
                                              title_id=int(title_id) if title_id and buyer is None else None))

    def receipt_invoice(self, staff_id: str, receipt_number: str) -> ir.InvoiceRecord | None:
        self._staff(staff_id)  # type: ignore[attr-defined]
        if self.rt.invoicing is None:
            return None
        view = self.rt.invoicing.for_receipt(receipt_number)
        return record(view) if view is not None else None

    def red_letter_invoice(self, staff_id: str, request_id: str, reason: str) -> ir.InvoiceRecord:
        who = self._staff(staff_id)  # type: ignore[attr-defined]
        inv = self._invoicing()
        view = inv.get(int(request_id))
        if not view.invoice_no:
            raise NotFound(f"invoice request {request_id} has no invoice")
        return record(inv.red(view.invoice_no, reason=reason, actor=f"staff:{who.name}"))

