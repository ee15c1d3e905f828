"""Staff's invoice page (maintenance mode): requests by state (pending, issued, failed with the provider's reason,
red-lettered), a failed one sent again (its title corrected first when needed: kiosk.flows.staff_invoice_title), an
issued one reversed by a red letter with its reason code."""
from __future__ import annotations

from typing import Any

from kiosk import errors
from kiosk.flows.invoice_records import RED_REASONS, InvoiceRecord
from kiosk.flows.staff_invoice_title import TITLE_STEPS, CorrectTitleSteps
from kiosk.flows.staff_tools import StaffStepFlow
from kiosk.flows.steps import Option, StepView
from kiosk.i18n import N_

GROUPS = ("pending", "failed", "issued", "red_lettered", "cancelled")
GROUP_LABELS = {"pending": N_("Pending"), "failed": N_("Failed"), "issued": N_("Issued"),
                "red_lettered": N_("Reversed (red letter)"), "cancelled": N_("Cancelled")}
GROUP_ICONS = {"pending": "clock", "failed": "alert-circle", "issued": "check-circle", "red_lettered": "undo-variant",
               "cancelled": "close-circle"}
RED_REASON_LABELS = {"1": N_("Goods returned (退货)"), "2": N_("Issued in error (开票有误)"),
                     "3": N_("Service stopped (服务中止)"), "4": N_("Allowance (折让)")}
PROMPTS = {"loading": N_("Loading, please wait"), "sending": N_("Please wait"),
           "groups": N_("Invoice requests by state"), "list": N_("Choose a request"),
           "detail": N_("Invoice request"), "red_reason": N_("Why is this invoice reversed?"),
           "red_confirm": N_("Reverse this invoice with a red letter?"),
           "failed": N_("Sorry, this could not be done")}


def group_of(record: InvoiceRecord) -> str:
    return "pending" if record.pending else record.state


class StaffInvoicesFlow(CorrectTitleSteps, StaffStepFlow):
    route = "staff_invoices"
    title = N_("Invoices")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.records: tuple[InvoiceRecord, ...] = ()
        self.group = ""
        self.current: InvoiceRecord | None = None
        self.reason = ""
        self.message = ""
        self._init_title()

    def loaded(self) -> None:
        self._reload("groups")

    def _reload(self, then: str) -> None:
        staff_id = self.staff_id
        self.step = "loading"

        def done(records: tuple[InvoiceRecord, ...]) -> None:
            self.records, self.step = records, then
            if self.current is not None:
                self.current = next((r for r in records if r.request_id == self.current.request_id), self.current)

        self.call("staff_invoices", lambda: self.services.staff_invoices(staff_id), done, self.fail)

    def in_group(self, group: str) -> tuple[InvoiceRecord, ...]:
        return tuple(r for r in self.records if group_of(r) == group)

    # --- actions --------------------------------------------------------------------------------
    def choose(self, key: str) -> None:
        self.message = ""
        if self.step == "groups" and key in GROUPS:
            self.group = key
            self.go_step("list")
        elif self.step == "list":
            self.current = next((r for r in self.in_group(self.group) if r.request_id == key), None)
            if self.current is not None:
                self.go_step("detail")
        elif self.step == "detail" and self.current is not None:
            if key == "correct" and self.current.state == "failed":
                self.start_correction()
            elif key == "retry" and self.current.state == "failed":
                self._act("retry_invoice", lambda s, r: self.services.retry_invoice(s, r.request_id),
                          N_("Sent again under a new order number."))
            elif key == "red" and self.current.state == "issued":
                self.go_step("red_reason")
        elif self.step == "red_reason" and key in RED_REASONS:
            self.reason = key
            self.go_step("red_confirm")
        elif self.step == "title_kind":
            self.choose_title(key)

    def back(self) -> None:
        if not self.cancel_form():
            super().back()

    def primary(self) -> None:
        if self.step == "red_confirm" and self.current is not None:
            reason = self.reason
            self._act("red_letter_invoice", lambda s, r: self.services.red_letter_invoice(s, r.request_id, reason),
                      N_("The red letter is filed; it is issued by the tax service."))
        elif self.step in ("title_error", "title_confirm"):
            self.title_primary()
        elif self.step == "failed":
            self.ctx.navigate("staff_home")

    def _act(self, label: str, fn, done_message: str) -> None:  # type: ignore[no-untyped-def]
        staff_id, record = self.staff_id, self.current
        self.step = "sending"

        def done(updated: InvoiceRecord) -> None:
            self.current, self.message = updated, self.t(done_message)
            self.history = ["groups", "list"]
            self._reload("detail")

        self.call(label, lambda: fn(staff_id, record), done, self._act_failed)
        self.changed()

    def _act_failed(self, exc: errors.KioskError) -> None:
        self.step, self.history = "detail", ["groups", "list"]
        self.error = self.error_view(exc)
        if isinstance(exc, errors.InvoiceNoLongerFailed):  # the request went back to the provider's answer
            self._reload("detail")

    # --- view -----------------------------------------------------------------------------------
    def _row(self, r: InvoiceRecord) -> Option:
        detail = " · ".join(p for p in (r.buyer_masked, r.invoice_no or r.failure_reason) if p)
        return Option(r.request_id, self.t(N_("Receipt {number}"), number=r.receipt_number), detail=detail,
                      value=self.money(r.total_fen), icon=GROUP_ICONS.get(group_of(r), "file-document"))

    def _detail_lines(self, r: InvoiceRecord) -> tuple[tuple[str, str], ...]:
        lines = ((self.t(N_("Receipt number")), r.receipt_number), (self.t(N_("State")), self.t(r.state_label)),
                 (self.t(N_("Invoice amount")), self.money(r.total_fen)),
                 (self.t(N_("Invoice title")), "\n".join(p for p in (r.buyer_masked, r.tax_id_masked) if p)))
        if r.invoice_no:
            lines += ((self.t(N_("Invoice number")), r.invoice_no),)
        if r.failure_reason:
            lines += ((self.t(N_("The tax service's reason")), r.failure_reason),)
        if r.red_fen:
            lines += ((self.t(N_("Reversed")), self.money(r.red_fen)),)
        return lines

    def view(self) -> StepView:
        step, title = self.step, self.t(self.title)
        prompt = self.t(PROMPTS.get(step, PROMPTS["failed"]))
        if step == "groups":
            options = tuple(Option(g, self.t(GROUP_LABELS[g]), enabled=bool(self.in_group(g)),
                                   value=str(len(self.in_group(g))), icon=GROUP_ICONS[g]) for g in GROUPS)
            return StepView(step, title, prompt, options=options)
        if step == "list":
            return StepView(step, f"{title} · {self.t(GROUP_LABELS.get(self.group, ''))}", prompt,
                            options=tuple(self._row(r) for r in self.in_group(self.group)))
        if step == "detail" and self.current is not None:
            r, options = self.current, ()
            if r.state == "failed":
                options = (Option("correct", self.t(N_("Correct title and retry")), icon="pencil"),
                           Option("retry", self.t(N_("Send again")), icon="refresh"))
            elif r.state == "issued":
                options = (Option("red", self.t(N_("Reverse with a red letter")), icon="undo-variant"),)
            return StepView(step, title, prompt, options=options, lines=self._detail_lines(r), message=self.message,
                            error=self.error)
        if step == "red_reason":
            return StepView(step, title, prompt, options=tuple(
                Option(k, self.t(RED_REASON_LABELS[k]), icon="undo-variant") for k in RED_REASONS))
        if step == "red_confirm" and self.current is not None:
            lines = self._detail_lines(self.current) + ((self.t(N_("Reason")), self.t(RED_REASON_LABELS[self.reason])),)
            return StepView(step, title, prompt, lines=lines, primary=self.t(N_("Confirm")))
        if step in TITLE_STEPS:
            return self.title_view(title, self._detail_lines(self.current) if self.current is not None else ())
        if step == "failed":
            return StepView(step, title, prompt, error=self.error, primary=self.t(N_("Done")))
        from kiosk.flows.base import ProgressView

        return StepView(step, title, prompt, progress=ProgressView(prompt, False))
