"""My records → My invoices: the household's invoices (number, amount, state), one opens with a QR for its PDF."""
from __future__ import annotations

from typing import Any

from kiosk.flows.base import DEVICE_QR, PaymentView
from kiosk.flows.invoice_records import InvoiceRecord
from kiosk.flows.steps import Option, StepFlow, StepView
from kiosk.i18n import N_

STATE_ICONS = {"issued": "check-circle", "failed": "alert-circle", "red_lettered": "undo-variant",
               "cancelled": "close-circle"}  # anything pending: "clock"


def invoice_lines(flow: StepFlow, r: InvoiceRecord) -> tuple[tuple[str, str], ...]:
    lines = ((flow.t(N_("Receipt number")), r.receipt_number), (flow.t(N_("State")), flow.t(r.state_label)),
             (flow.t(N_("Invoice amount")), flow.money(r.total_fen)),
             (flow.t(N_("Invoice title")), "\n".join(p for p in (r.buyer_masked, r.tax_id_masked) if p)))
    if r.invoice_no:
        lines += ((flow.t(N_("Invoice number")), r.invoice_no),)
    if r.red_fen:
        lines += ((flow.t(N_("Reversed")), flow.money(r.red_fen)),)
    return lines


class MyInvoicesFlow(StepFlow):
    route = "my_invoices"
    title = N_("My invoices")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.invoices: tuple[InvoiceRecord, ...] = ()
        self.current: InvoiceRecord | None = None

    def loaded(self) -> None:
        household = self.summary.household_id if self.summary else ""
        self.step = "loading"
        self.call("household_invoices", lambda: self.services.household_invoices(household), self._listed, self.fail)

    def _listed(self, invoices: tuple[InvoiceRecord, ...]) -> None:
        self.invoices, self.step = invoices, "list"
        if self.current is not None:
            self.current = next((i for i in invoices if i.request_id == self.current.request_id), self.current)

    def choose(self, key: str) -> None:
        if self.step == "list":
            self.current = next((i for i in self.invoices if i.request_id == key), None)
            if self.current is not None:
                self.go_step("detail")

    def refresh(self) -> None:
        """The invoice worker said something changed (the bus): the list and the open invoice as they stand now."""
        if self.step in ("list", "detail"):
            step = self.step
            household = self.summary.household_id if self.summary else ""
            self.call("household_invoices", lambda: self.services.household_invoices(household),
                      lambda inv: (self._listed(inv), setattr(self, "step", step)), lambda _e: None)

    def back(self) -> None:
        if self.step == "detail":
            self.history.clear()
            self.step, self.current = "list", None
            self.changed()
            return
        self.ctx.navigate("records")

    def view(self) -> StepView:
        title = self.t(self.title)
        if self.step == "list":
            prompt = self.t(N_("Tap an invoice to see it.")) if self.invoices else self.t(N_("No invoices yet."))
            options = tuple(Option(i.request_id, self.t(i.state_label), value=self.money(i.total_fen),
                                   detail="\n".join(p for p in (self.t(N_("Receipt {number}"), number=i.receipt_number),
                                                                i.invoice_no) if p),
                                   icon=STATE_ICONS.get(i.state, "clock")) for i in self.invoices)
            return StepView(self.step, title, prompt, options=options)
        if self.step == "detail" and self.current is not None:
            r = self.current
            prompt = self.t(N_("Scan the code for the invoice's PDF")) if r.qr_payload else self.t(r.state_label)
            # the QR takes the page (the panel hides the lines): the number, amount and title go with it
            said = "\n".join((f"{self.t(N_('Invoice number'))} {r.invoice_no}",
                              f"{self.t(N_('Invoice amount'))} {self.money(r.total_fen)}"))
            payment = PaymentView(text=prompt, qr=r.qr_payload, heading=prompt, can_cancel=False, detail=said,
                                  device=DEVICE_QR) \
                if r.qr_payload else None
            return StepView(self.step, title, prompt, lines=invoice_lines(self, r), payment=payment)
        if self.step == "failed":
            return StepView(self.step, title, self.t(N_("Sorry, this could not be done")), error=self.error)
        from kiosk.flows.base import ProgressView

        return StepView(self.step, title, self.t(N_("Loading, please wait")),
                        progress=ProgressView(self.t(N_("Loading, please wait")), False))
