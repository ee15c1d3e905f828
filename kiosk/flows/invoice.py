"""开发票 after a payment: personal or company, the title from the resident's phone (a QR, a countdown, a cancel)
or a title the household saved on an earlier visit (masked, one tap), then "发票开具中" (queued; the receipt carries
a QR to fetch it later). Kivy-free; drawn by the generic steps screen (the QR in its payment panel)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kiosk import errors
from kiosk.flows.base import DEVICE_QR, PaymentView, ProgressView
from kiosk.flows.invoice_records import COMPANY, PERSONAL, InvoiceOfferView, InvoiceRecord, TitleFormView, TitleView
from kiosk.flows.steps import Option, StepFlow, StepView
from kiosk.i18n import N_

FORM_SECONDS = 180  # how long the phone form stays open
KIND_LABELS = {PERSONAL: N_("Personal (个人)"), COMPANY: N_("Company (单位)")}
KIND_ICONS = {PERSONAL: "account", COMPANY: "domain"}
PROMPTS = {
    "loading": N_("Loading, please wait"), "sending": N_("Please wait"), "opening": N_("Please wait"),
    "kind": N_("Who should the invoice be made out to?"),
    "form": N_("Scan the code with your phone and fill in the invoice title"),
    "confirm": N_("Please check the invoice title"),
    "expired": N_("The time to fill in the title ran out. Nothing was requested."),
    "done": N_("Invoice being issued"),
    "requested": N_("An invoice was already requested for this receipt"),
    "unavailable": N_("Sorry, this could not be done"), "failed": N_("Sorry, this could not be done"),
}


def title_line(title: TitleView) -> str:
    return f"{title.name}\n{title.tax_id}" if title.tax_id else title.name


class InvoiceFlow(StepFlow):
    """loading -> kind (saved titles, personal, company) -> form (QR, countdown, cancel) -> confirm -> done.
    Params: receipt (the paid receipt's number)."""

    route = "invoice"
    title = N_("Request an invoice")

    def __init__(self, ctx, receipt: str = "", **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.receipt = str(receipt)
        self.offer: InvoiceOfferView | None = None
        self.saved: tuple = ()
        self.kind = ""
        self.form: TitleFormView | None = None
        self.deadline: datetime | None = None
        self.reading = False  # a read of the phone form is in flight
        self.title_: TitleView | None = None
        self.title_id: str | None = None
        self.chosen_label = ""  # the masked saved title, as shown
        self.result: InvoiceRecord | None = None

    # --- loading ------------------------------------------------------------------------------
    def loaded(self) -> None:
        self.step = "loading"
        self.call("invoice_offer", lambda: self.services.invoice_offer(self.receipt), self._offered, self.fail)

    def _offered(self, offer: InvoiceOfferView) -> None:
        self.offer = offer
        if offer.unavailable:
            self.step, self.error = "unavailable", self.error_view(errors.InvoicingOff(offer.unavailable))
        elif offer.existing is not None and not offer.can_request:
            self.step, self.result = "requested", offer.existing
        elif not offer.can_request:
            self.step = "unavailable"
            self.error = self.error_view(errors.NotFound(self.receipt), N_("Nothing on this receipt can be invoiced."))
        else:
            household = self.summary.household_id if self.summary else ""
            self.call("invoice_titles", lambda: self.services.invoice_titles(household), self._titles, self._no_titles)

    def _titles(self, saved: tuple) -> None:
        self.saved, self.step = saved, "kind"

    def _no_titles(self, exc: errors.KioskError) -> None:  # the saved titles are a convenience: go on without
        self._titles(())

    # --- actions --------------------------------------------------------------------------------
    def choose(self, key: str) -> None:
        if self.step == "kind" and key in (PERSONAL, COMPANY):
            self._open_form(key)
        elif self.step == "kind" and key.startswith("saved:"):
            saved = next((t for t in self.saved if f"saved:{t.title_id}" == key), None)
            if saved is not None:
                self.title_, self.title_id, self.kind = None, saved.title_id, saved.kind
                self.chosen_label = "\n".join(p for p in (saved.name_masked, saved.tax_id_masked) if p)
                self.go_step("confirm")

    def _open_form(self, kind: str) -> None:
        self.kind, self.title_, self.title_id, self.error = kind, None, None, None
        self.history.append("kind")
        self.step = "opening"
        self.call("open_invoice_form", lambda: self.services.open_invoice_form(FORM_SECONDS), self._form_open,
                  self._form_failed)
        self.changed()

    def _form_open(self, form: TitleFormView) -> None:
        self.form, self.step = form, "form"
        self.deadline = self.ctx.clock() + timedelta(seconds=form.expires_in_s)

    def _form_failed(self, exc: errors.KioskError) -> None:
        self.step, self.form = "form_error", None
        self.error = self.error_view(exc, N_("Please try again, or ask staff for help."))

    @property
    def seconds_left(self) -> int:
        if self.deadline is None:
            return 0
        return max(0, int((self.deadline - self.ctx.clock()).total_seconds()))

    def tick(self) -> None:
        """Once a second while the form is open (the screen's clock): the countdown, and a look at the phone form."""
        if self.closed or self.step != "form" or self.form is None:
            return
        if self.seconds_left <= 0:
            self.step, self.form = "expired", None
            self.changed()
            return
        if not self.reading:
            self.reading = True
            session_id = self.form.session_id
            self.call("read_invoice_title", lambda: self.services.read_invoice_title(session_id), self._title_read,
                      self._title_refused)
        self.changed()

    def _title_read(self, title: TitleView | None) -> None:
        self.reading = False
        if title is None or self.step != "form":
            return
        self.title_, self.kind, self.form = title, title.kind, None
        self.chosen_label = title_line(title)
        self.step = "confirm"

    def _title_refused(self, exc: errors.KioskError) -> None:
        """A bad tax ID or title from the phone: one line that says what to correct; a new form fixes it."""
        self.reading = False
        if self.step != "form":
            return
        if isinstance(exc, (errors.InvalidTaxId, errors.InvoiceTitleInvalid)):
            self.step, self.form = "form_error", None
            self.error = self.error_view(exc, N_("Please scan again and correct it."))
        # anything else (the provider slow or away for a moment): the next tick asks again

    def back(self) -> None:
        """On the form this is the Cancel: the form is dropped, nothing is requested."""
        if self.step in ("form", "opening"):
            if self.job is not None and not self.job.finished:
                self.job.cancel()
            self.step, self.form, self.deadline, self.reading = "kind", None, None, False
            if self.history and self.history[-1] == "kind":
                self.history.pop()
            self.changed()
            return
        if self.step in ("done", "requested", "unavailable"):
            self.ctx.navigate("household")
            return
        super().back()

    def cancel(self) -> None:
        self.back()

    def primary(self) -> None:
        if self.step == "confirm":
            self._request()
        elif self.step in ("expired", "form_error") and self.kind in (PERSONAL, COMPANY):
            self._open_form(self.kind)  # a new form of the same kind (Back: the other kind)
        elif self.step in ("done", "requested", "unavailable", "failed"):
            self.ctx.navigate("household")

    def _request(self) -> None:
        household = self.summary.household_id if self.summary else ""
        title, title_id = self.title_, self.title_id
        self.history.append(self.step)
        self.step, self.error = "sending", None
        self.call("request_invoice",
                  lambda: self.services.request_invoice(household, self.receipt, title=title, title_id=title_id),
                  self._requested, self._request_failed)
        self.changed()

    def _requested(self, record: InvoiceRecord) -> None:
        self.result, self.step, self.history = record, "done", []

    def _request_failed(self, exc: errors.KioskError) -> None:
        self.step = "failed"
        self.error = self.error_view(exc, N_("Nothing was requested. Please try again, or ask staff for help."))

    # --- view -----------------------------------------------------------------------------------
    def _offer_lines(self) -> tuple[tuple[str, str], ...]:
        lines = ((self.t(N_("Receipt number")), self.receipt),)
        if self.offer is not None and self.offer.invoiceable_fen:
            lines += ((self.t(N_("Invoice amount")), self.money(self.offer.invoiceable_fen)),)
        return lines

    def _kind_options(self) -> tuple[Option, ...]:
        saved = tuple(Option(f"saved:{t.title_id}", t.name_masked, detail=t.tax_id_masked or self.t(KIND_LABELS.get(
            t.kind, "")), icon="history") for t in self.saved)
        return saved + tuple(Option(k, self.t(KIND_LABELS[k]), icon=KIND_ICONS[k]) for k in (PERSONAL, COMPANY))

    def _record_lines(self, rec: InvoiceRecord) -> tuple[tuple[str, str], ...]:
        lines = ((self.t(N_("Receipt number")), rec.receipt_number),
                 (self.t(N_("Invoice amount")), self.money(rec.total_fen)),
                 (self.t(N_("Invoice title")), "\n".join(p for p in (rec.buyer_masked, rec.tax_id_masked) if p)),
                 (self.t(N_("State")), self.t(rec.state_label)))
        if rec.invoice_no:
            lines += ((self.t(N_("Invoice number")), rec.invoice_no),)
        return lines

    def view(self) -> StepView:
        step = self.step
        prompt = self.t(PROMPTS.get(step, PROMPTS["failed"]))
        title = self.t(self.title)
        if step == "kind":
            return StepView(step, title, prompt, options=self._kind_options(), lines=self._offer_lines())
        if step == "form" and self.form is not None:
            left = self.seconds_left
            countdown = self.t(N_("{minutes}:{seconds} left"), minutes=left // 60, seconds=f"{left % 60:02d}")
            payment = PaymentView(text=prompt, qr=self.form.url, heading=prompt, detail=countdown,
                                  notice=self.t(KIND_LABELS.get(self.kind, "")), device=DEVICE_QR)
            return StepView(step, title, prompt, payment=payment, back_is_cancel=True, ticking=True)
        if step in ("expired", "form_error"):
            return StepView(step, title, prompt, error=self.error, primary=self.t(N_("Try again")))
        if step == "confirm":
            lines = self._offer_lines() + ((self.t(N_("Invoice title")), self.chosen_label),)
            return StepView(step, title, prompt, lines=lines, primary=self.t(N_("Confirm")))
        if step in ("done", "requested") and self.result is not None:
            message = self.t(N_("Your receipt carries a QR code to fetch the invoice later; it also appears under "
                                "My records when it is issued."))
            return StepView(step, title, prompt, lines=self._record_lines(self.result), message=message,
                            primary=self.t(N_("Done")))
        if step in ("unavailable", "failed"):
            return StepView(step, title, prompt, error=self.error, primary=self.t(N_("Done")))
        return StepView(step, title, prompt, progress=ProgressView(prompt))
