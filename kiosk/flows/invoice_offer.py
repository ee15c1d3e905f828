""""开发票" on the done page of every journey whose payment made a receipt (fees, top-ups, bookings, parking, the
card replacement fee): one piece, used by each done page.

After the payment succeeded the flow asks `invoice_offer(receipt)`; the service (the tax table) decides whether the
receipt can have an invoice and for how much, and the done page's main button then reads "Request an invoice"
while the other button reads "Done" (home, as pay-fees does). The button opens the invoice journey (route
`invoice`) for that receipt; its Done returns to the household page, where every done page returns.
Nothing is shown when invoicing is off or the receipt has nothing the table invoices.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.flows.invoice_records import InvoiceOfferView
from kiosk.flows.steps import StepView
from kiosk.i18n import N_

DONE_STEP = "done"
INVOICE_CAPTION = N_("Request an invoice")
HOME_ROUTE = "household"  # where every done page (and the invoice journey's) returns


class InvoiceOffering:
    """For any Flow (pay fees included): ask for the offer after paying, and open the invoice journey."""

    invoice_offer: InvoiceOfferView | None = None
    step: Any
    services: Any
    ctx: Any
    call: Callable[..., Any]
    t: Callable[..., str]

    def offer_invoice(self, receipt_number: str) -> None:
        """After a payment with a receipt: ask the service, quietly nothing when it cannot be had."""
        self.invoice_offer = None
        if not receipt_number:
            return
        self.call("invoice_offer", lambda: self.services.invoice_offer(receipt_number), self._invoice_offered,
                  lambda _exc: None)

    def _invoice_offered(self, offer: InvoiceOfferView) -> None:
        self.invoice_offer = offer

    @property
    def invoice_offered(self) -> bool:
        return self.step == DONE_STEP and self.invoice_offer is not None and self.invoice_offer.can_request

    def invoice_caption(self) -> str:
        return self.t(INVOICE_CAPTION) if self.invoice_offered else ""

    def request_invoice(self) -> None:
        """The done page's "开发票": the invoice journey for this receipt."""
        if self.invoice_offered:
            assert self.invoice_offer is not None
            self.ctx.navigate("invoice", receipt=self.invoice_offer.receipt_number)


class StepInvoiceOffering(InvoiceOffering):
    """For the generic step journeys (kiosk.flows.steps.StepFlow): put first in the bases,
    `class TopUpFlow(StepInvoiceOffering, StepFlow)`. Every payment made with `pay()` whose result carries a
    `receipt_number` is offered an invoice; the flow's primary() calls `done_primary()` on its done step, and on the
    done page Back reads Done and goes where Done goes."""

    def pay(self, label: str, fn: Callable[[str, Any], Any], on_done: Callable[[Any], None]) -> None:
        def done(result: Any) -> None:
            on_done(result)
            self.offer_invoice(str(getattr(result, "receipt_number", "") or ""))

        super().pay(label, fn, done)  # type: ignore[misc]

    def done_route(self) -> str:
        """Where the done page's Done goes (the household page; a flow may say otherwise)."""
        return HOME_ROUTE

    def done_primary(self) -> None:
        """The done page's main button: "开发票" when offered, else Done."""
        if self.invoice_offered:
            self.request_invoice()
        else:
            self.ctx.navigate(self.done_route())

    def back(self) -> None:
        if self.step == DONE_STEP:  # the payment is made: nothing to go back to, Done
            self.ctx.navigate(self.done_route())
            return
        super().back()  # type: ignore[misc]

    def base_view(self, prompt: str, **fields: Any) -> StepView:
        if self.invoice_offered:
            fields["primary"], fields["back_caption"] = self.invoice_caption(), self.t(N_("Done"))
        return super().base_view(prompt, **fields)  # type: ignore[misc]
