"""My records → My invoices: the household's invoices (number, amount, state), one opens with a QR for its PDF;
an issued one can be sent again by SMS to a mobile number typed on the keypad (masked once sent), 3 times a day.
E-mail is not offered here: the kiosk has no keyboard (`kiosk invoice resend --email` at the office)."""
from __future__ import annotations

from typing import Any

from kiosk import errors
from kiosk.flows.base import DEVICE_QR, PaymentView, ProgressView
from kiosk.flows.invoice_records import InvoiceDeliveryView, InvoiceRecord
from kiosk.flows.steps import Option, StepFlow, StepView
from kiosk.i18n import N_

PHONE_DIGITS = 11  # a mainland mobile number
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
        self.phone = ""  # typed on the keypad; forgotten once sent
        self.sent: InvoiceDeliveryView | None = None

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

    # --- re-send by SMS ----------------------------------------------------------------------
    def primary(self) -> None:
        if self.step == "detail" and self.current is not None and self.current.state == "issued":
            self.phone, self.sent = "", None
            self.go_step("phone")
        elif self.step == "phone" and len(self.phone) == PHONE_DIGITS:
            self._send()
        elif self.step == "resend_failed":
            self.step, self.error = "phone", None
            self.changed()
        elif self.step == "sent":
            self._to_detail()

    def key(self, char: str) -> None:
        if self.step != "phone":
            return
        if char == "back":
            self.phone = self.phone[:-1]
        elif char == "clear":
            self.phone = ""
        elif char.isdigit() and len(self.phone) < PHONE_DIGITS:
            self.phone += char
        self.changed()

    def _send(self) -> None:
        assert self.current is not None
        household, request_id, phone = (self.summary.household_id if self.summary else ""), \
            self.current.request_id, self.phone
        self.step, self.error = "sending", None
        self.call("resend_invoice", lambda: self.services.resend_invoice(household, request_id, phone), self._sent,
                  self._not_sent)
        self.changed()

    def _sent(self, sent: InvoiceDeliveryView) -> None:
        self.sent, self.phone, self.step = sent, "", "sent"  # the number is forgotten: only its mask is shown

    def _not_sent(self, exc: errors.KioskError) -> None:
        self.step = "resend_failed"
        hint = N_("Please check the number and try again.") if isinstance(exc, errors.InvoicePhoneInvalid) else ""
        self.error = self.error_view(exc, hint)

    def _to_detail(self) -> None:
        self.history.clear()
        self.step, self.error, self.phone, self.sent = "detail", None, "", None
        self.changed()

    def back(self) -> None:
        if self.step in ("phone", "sent", "resend_failed"):
            self._to_detail()
            return
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
            return StepView(self.step, title, prompt, lines=invoice_lines(self, r), payment=payment,
                            primary=self.t(N_("Send by SMS")) if r.state == "issued" else "")
        if self.step == "phone" and self.current is not None:
            return StepView(self.step, title, self.t(N_("Enter the mobile number to send the invoice to")),
                            lines=((self.t(N_("Invoice number")), self.current.invoice_no),),
                            entry=phone_entry(self.phone), keypad=True, primary=self.t(N_("Send the invoice")),
                            primary_enabled=len(self.phone) == PHONE_DIGITS)
        if self.step == "sending":
            return StepView(self.step, title, self.t(N_("Please wait")),
                            progress=ProgressView(self.t(N_("Please wait")), False))
        if self.step == "sent" and self.sent is not None and self.current is not None:
            return StepView(self.step, title, self.t(N_("Invoice sent to {phone}"), phone=self.sent.address_masked),
                            lines=((self.t(N_("Invoice number")), self.current.invoice_no),
                                   (self.t(N_("Mobile phone")), self.sent.address_masked)),
                            message=self.t(N_("It can be sent {count} more times today."), count=self.sent.left_today),
                            primary=self.t(N_("Done")))
        if self.step == "resend_failed":
            return StepView(self.step, title, self.t(N_("Sorry, this could not be done")), error=self.error,
                            primary=self.t(N_("Try again")))
        if self.step == "failed":
            return StepView(self.step, title, self.t(N_("Sorry, this could not be done")), error=self.error)
        return StepView(self.step, title, self.t(N_("Loading, please wait")),
                        progress=ProgressView(self.t(N_("Loading, please wait")), False))


def phone_entry(digits: str) -> str:
    """'13800138000' as '138 0013 8000' while it is typed (the resident checks it before sending)."""
    return " ".join(p for p in (digits[:3], digits[3:7], digits[7:]) if p)
