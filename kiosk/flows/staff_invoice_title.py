"""Staff correct the title of a failed invoice request on the kiosk, the way a resident gives one: a title the
household saved (masked, one tap), or the phone form (a QR, a countdown, a cancel). The title is checked (GB 32100
check character, characters, length) by the services before anything is sent; then the request is retried under a
new order number (kiosk.invoices.service.Invoicing.retry asks the provider about the old one first).

A mixin of StaffInvoicesFlow (kiosk/flows/staff_invoices.py): its steps are named `title_*`. Kivy-free."""
from __future__ import annotations

from datetime import datetime, timedelta

from kiosk import errors
from kiosk.flows.base import DEVICE_QR, PaymentView, ProgressView
from kiosk.flows.invoice import FORM_SECONDS, KIND_ICONS, KIND_LABELS, title_line
from kiosk.flows.invoice_records import COMPANY, PERSONAL, InvoiceRecord, SavedTitleView, TitleFormView, TitleView
from kiosk.flows.steps import Option, StepView
from kiosk.i18n import N_

TITLE_STEPS = ("title_loading", "title_kind", "title_opening", "title_form", "title_error", "title_confirm")
TITLE_PROMPTS = {
    "title_loading": N_("Loading, please wait"), "title_opening": N_("Please wait"),
    "title_kind": N_("Who should the corrected invoice be made out to?"),
    "title_form": N_("Scan the code with your phone and fill in the invoice title"),
    "title_error": N_("Sorry, this could not be done"),
    "title_expired": N_("The time to fill in the title ran out. Nothing was sent again."),
    "title_confirm": N_("Send the invoice again with this title?"),
}


class CorrectTitleSteps:
    """title_kind -> (saved title) -> title_confirm, or title_kind -> title_form -> title_confirm; Confirm retries."""

    current: InvoiceRecord | None

    def _init_title(self) -> None:
        self.t_saved: tuple[SavedTitleView, ...] = ()
        self.t_kind = ""
        self.t_form: TitleFormView | None = None
        self.t_deadline: datetime | None = None
        self.t_reading = False
        self.t_expired = False
        self.t_title: TitleView | None = None
        self.t_title_id: str | None = None
        self.t_label = ""

    # --- starting -------------------------------------------------------------------------------
    def start_correction(self) -> None:
        self._init_title()
        household = self.current.household_id if self.current is not None else ""
        self.go_step("title_loading")  # type: ignore[attr-defined]
        if not household:
            self._titles(())
            return
        self.call("invoice_titles", lambda: self.services.invoice_titles(household),  # type: ignore[attr-defined]
                  self._titles, lambda _exc: self._titles(()))  # saved titles are a convenience: go on without

    def _titles(self, saved: tuple[SavedTitleView, ...]) -> None:
        self.t_saved, self.step = saved, "title_kind"

    # --- actions --------------------------------------------------------------------------------
    def choose_title(self, key: str) -> None:
        if key in (PERSONAL, COMPANY):
            self.history.append("title_kind")  # type: ignore[attr-defined]
            self._open_form(key)
            return
        saved = next((t for t in self.t_saved if f"saved:{t.title_id}" == key), None)
        if saved is not None:
            self.t_title, self.t_title_id, self.t_kind = None, saved.title_id, saved.kind
            self.t_label = "\n".join(p for p in (saved.name_masked, saved.tax_id_masked) if p)
            self.go_step("title_confirm")  # type: ignore[attr-defined]

    def _open_form(self, kind: str) -> None:
        self.t_kind, self.t_title, self.t_title_id, self.error, self.t_expired = kind, None, None, None, False
        self.step = "title_opening"
        self.call("open_invoice_form", lambda: self.services.open_invoice_form(FORM_SECONDS),  # type: ignore
                  self._form_open, self._form_failed)
        self.changed()  # type: ignore[attr-defined]

    def _form_open(self, form: TitleFormView) -> None:
        self.t_form, self.step, self.t_reading = form, "title_form", False
        self.t_deadline = self.ctx.clock() + timedelta(seconds=form.expires_in_s)  # type: ignore[attr-defined]

    def _form_failed(self, exc: errors.KioskError) -> None:
        self.step, self.t_form = "title_error", None
        self.error = self.error_view(exc)  # type: ignore[attr-defined]

    @property
    def seconds_left(self) -> int:
        if self.t_deadline is None:
            return 0
        return max(0, int((self.t_deadline - self.ctx.clock()).total_seconds()))  # type: ignore[attr-defined]

    def tick(self) -> None:
        """Once a second while the form is open: the countdown, and a look at the phone form."""
        if self.closed or self.step != "title_form" or self.t_form is None:  # type: ignore[attr-defined]
            return
        if self.seconds_left <= 0:
            self.step, self.t_form, self.t_expired, self.error = "title_error", None, True, None
            self.changed()  # type: ignore[attr-defined]
            return
        if not self.t_reading:
            self.t_reading = True
            session_id = self.t_form.session_id
            self.call("read_invoice_title", lambda: self.services.read_invoice_title(session_id),  # type: ignore
                      self._title_read, self._title_refused)
        self.changed()  # type: ignore[attr-defined]

    def _title_read(self, title: TitleView | None) -> None:
        self.t_reading = False
        if title is None or self.step != "title_form":
            return
        self.t_title, self.t_kind, self.t_form, self.t_label = title, title.kind, None, title_line(title)
        self.step = "title_confirm"  # Back: the kinds again (history holds title_kind)

    def _title_refused(self, exc: errors.KioskError) -> None:
        self.t_reading = False
        if self.step == "title_form" and isinstance(exc, (errors.InvalidTaxId, errors.InvoiceTitleInvalid)):
            self.step, self.t_form = "title_error", None
            self.error = self.error_view(exc, N_("Please scan again and correct it."))  # type: ignore[attr-defined]
        # anything else (the provider slow or away for a moment): the next tick asks again

    def cancel_form(self) -> bool:
        """Back on the form (its Cancel): the form is dropped, nothing is sent; True when it was the form."""
        if self.step not in ("title_form", "title_opening"):
            return False
        if self.job is not None and not self.job.finished:  # type: ignore[attr-defined]
            self.job.cancel()  # type: ignore[attr-defined]
        self.step, self.t_form, self.t_deadline, self.t_reading = "title_kind", None, None, False
        if self.history and self.history[-1] == "title_kind":  # type: ignore[attr-defined]
            self.history.pop()  # type: ignore[attr-defined]
        self.changed()  # type: ignore[attr-defined]
        return True

    def title_primary(self) -> None:
        if self.step == "title_error" and self.t_kind in (PERSONAL, COMPANY):
            self._open_form(self.t_kind)  # a new form of the same kind
        elif self.step == "title_confirm" and self.current is not None:
            title, title_id = self.t_title, self.t_title_id
            self._act("retry_invoice",  # type: ignore[attr-defined]
                      lambda s, r: self.services.retry_invoice(s, r.request_id, title=title,  # type: ignore
                                                               title_id=title_id),
                      N_("The title is corrected; the invoice is sent again under a new order number."))

    # --- view -----------------------------------------------------------------------------------
    def title_view(self, title: str, detail_lines: tuple[tuple[str, str], ...]) -> StepView:
        step = self.step  # type: ignore[attr-defined]
        t = self.t  # type: ignore[attr-defined]
        prompt = t(TITLE_PROMPTS["title_expired" if step == "title_error" and self.t_expired else step])
        if step == "title_kind":
            saved = tuple(Option(f"saved:{s.title_id}", s.name_masked, detail=s.tax_id_masked or t(
                KIND_LABELS.get(s.kind, "")), icon="history") for s in self.t_saved)
            options = saved + tuple(Option(k, t(KIND_LABELS[k]), icon=KIND_ICONS[k]) for k in (PERSONAL, COMPANY))
            return StepView(step, title, prompt, options=options, lines=detail_lines)
        if step == "title_form" and self.t_form is not None:
            left = self.seconds_left
            countdown = t(N_("{minutes}:{seconds} left"), minutes=left // 60, seconds=f"{left % 60:02d}")
            payment = PaymentView(text=prompt, qr=self.t_form.url, heading=prompt, detail=countdown,
                                  notice=t(KIND_LABELS.get(self.t_kind, "")), device=DEVICE_QR)
            return StepView(step, title, prompt, payment=payment, back_is_cancel=True, ticking=True)
        if step == "title_error":
            return StepView(step, title, prompt, error=self.error,  # type: ignore[attr-defined]
                            primary=t(N_("Try again")) if self.t_kind else "")
        if step == "title_confirm":
            lines = detail_lines + ((t(N_("New invoice title")), self.t_label),)
            return StepView(step, title, prompt, lines=lines, primary=t(N_("Confirm")))
        return StepView(step, title, prompt, progress=ProgressView(prompt))
