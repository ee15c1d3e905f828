"""Staff receipt tools: today's receipts, find by 8-digit number, PNG view, reprint, void with a reason;
and bill import from a CSV chosen on a USB drive."""
from __future__ import annotations

from typing import Any

from kiosk import errors
from kiosk.flows.invoice_records import RED_ON_VOID_STATES, RED_REASONS, InvoiceRecord
from kiosk.flows.staff import RECEIPT_KIND_LABELS, method_label
from kiosk.flows.staff_invoices import RED_REASON_LABELS
from kiosk.flows.staff_tools import StaffStepFlow
from kiosk.flows.steps import Option, StepView
from kiosk.flows.tool_records import ImportFile, ImportOutcome, ReceiptSummary
from kiosk.i18n import N_, format_time

NUMBER_DIGITS = 8
VOID_REASONS = {"wrong_bill": N_("Wrong bill paid"), "duplicate": N_("Paid twice"),
                "customer": N_("Customer asked to cancel"), "test": N_("Test transaction")}
MORE_KINDS = {"void": N_("Void"), "top_up": N_("Card top-up"), "card_loss": N_("Card loss"),
              "card_unfreeze": N_("Card unfrozen"), "direct_debit": N_("Direct debit"),
              "shift_handover": N_("Shift handover"), "settlement": N_("Daily settlement"), "callback": N_("Callback")}


class ReceiptsFlow(StaffStepFlow):
    """list -> receipt (PNG, reprint, void) -> void reason -> [red-letter reason] -> confirm -> done; or number on
    the keypad. The red-letter reason (退货 / 开票有误 / 服务中止 / 折让) is asked only when the receipt's invoice is
    issued or with the provider (a void files its red letter); a receipt without one, or whose request the void
    simply cancels (queued, failed), does not ask."""

    route = "staff_receipts"
    title = N_("Receipts")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.receipts: tuple[ReceiptSummary, ...] = ()
        self.receipt: ReceiptSummary | None = None
        self.image = ""
        self.number = ""
        self.reason = ""
        self.message = ""
        self.void_number = ""
        self.void_notice = ""  # a QR refund pending or refused at the gateway (kiosk.payments.void_refunds)
        self.invoice: InvoiceRecord | None = None  # the receipt's invoice request, looked up before a void
        self.red_reason = ""

    def loaded(self) -> None:
        staff_id = self.staff_id
        self.step = "loading"  # "today" is the site's day, which the services know (the kiosk's clock may differ)
        self.call("receipts_of_day", lambda: self.services.receipts_of_day(staff_id), self._listed, self.fail)

    def _listed(self, receipts: tuple[ReceiptSummary, ...]) -> None:
        self.receipts, self.step = receipts, "list"

    def choose(self, key: str) -> None:
        if self.step == "list":
            found = next((r for r in self.receipts if r.receipt_number == key), None)
            if found is not None:
                self._show(found)
        elif self.step == "receipt" and self.receipt is not None:
            if key == "reprint":
                self._reprint()
            elif key == "void" and self._voidable:
                self._look_up_invoice()
        elif self.step == "void_reason" and key in VOID_REASONS:
            self.reason = key
            self.go_step("void_red_reason" if self._asks_red_reason else "void_confirm")
        elif self.step == "void_red_reason" and key in RED_REASONS:
            self.red_reason = key
            self.go_step("void_confirm")

    def _look_up_invoice(self) -> None:
        """Whether a void of this receipt files a red letter (then its reason is asked): its invoice request."""
        staff_id, number = self.staff_id, self.receipt.receipt_number if self.receipt else ""
        self.invoice, self.red_reason = None, ""
        self.history.append(self.step)
        self.step, self.error = "loading", None

        def found(record: InvoiceRecord | None) -> None:
            self.invoice, self.step = record, "void_reason"

        def unknown(exc: errors.KioskError) -> None:  # the invoices cannot be read: the void would pick reason 3
            self.fail(exc)

        self.call("receipt_invoice", lambda: self.services.receipt_invoice(staff_id, number), found, unknown)

    @property
    def _asks_red_reason(self) -> bool:
        return self.invoice is not None and self.invoice.state in RED_ON_VOID_STATES

    @property
    def _voidable(self) -> bool:
        r = self.receipt
        return r is not None and not r.voided and r.amount_fen > 0 and r.kind != "void"

    def _show(self, receipt: ReceiptSummary) -> None:
        self.receipt, self.image, self.message = receipt, "", ""
        self.go_step("receipt")
        staff_id, number = self.staff_id, receipt.receipt_number
        self.call("receipt_png", lambda: self.services.receipt_png(staff_id, number),
                  lambda path: setattr(self, "image", path), self.fail)

    def _reprint(self) -> None:
        staff_id, number = self.staff_id, self.receipt.receipt_number if self.receipt else ""
        self.message = ""
        self.call("staff_reprint", lambda: self.services.staff_reprint(staff_id, number),
                  lambda _r: setattr(self, "message", self.t(N_("A copy is printing."))), self.fail)

    def key(self, char: str) -> None:
        if self.step != "number":
            return
        if char == "back":
            self.number = self.number[:-1]
        elif char == "clear":
            self.number = ""
        elif char.isdigit() and len(self.number) < NUMBER_DIGITS:
            self.number += char
        self.changed()

    def primary(self) -> None:
        if self.step == "list":
            self.number = ""
            self.go_step("number")
        elif self.step == "number" and self.number:
            staff_id, number = self.staff_id, self.number.zfill(NUMBER_DIGITS)
            self.call("find_receipt", lambda: self.services.find_receipt(staff_id, number), self._show, self.fail)
        elif self.step == "void_confirm" and self.receipt is not None:
            staff_id, number = self.staff_id, self.receipt.receipt_number
            reason = self.t(VOID_REASONS[self.reason])
            red = self.red_reason if self._asks_red_reason else ""
            self.history.append(self.step)
            self.step = "sending"
            self.call("void_receipt", lambda: self.services.void_receipt(staff_id, number, reason, invoice_reason=red),
                      self._voided, self.fail)
        elif self.step in ("done", "failed"):
            self.history.clear()
            self.loaded()
        self.changed()

    def _voided(self, result: Any) -> None:
        self.void_number, self.step = result.void_receipt_number, "done"
        self.void_notice = getattr(result, "notice", "")

    def _kind(self, kind: str) -> str:
        label = RECEIPT_KIND_LABELS.get(kind) or MORE_KINDS.get(kind)
        return self.t(label) if label else kind

    def _method(self, method: str) -> str:
        return method_label(method, self.t)

    def _label(self, r: ReceiptSummary) -> str:
        parts = [r.receipt_number, format_time(r.issued_at, self.language), self._kind(r.kind), self.money(r.amount_fen)]
        if r.unit_label:
            parts.append(r.unit_label)
        if r.voided:
            parts.append(self.t(N_("Voided")))
        return " · ".join(parts)

    def view(self) -> StepView:
        prompts = {"loading": N_("Loading, please wait"), "list": N_("Today's receipts. Tap one to see it"),
                   "number": N_("Enter the 8-digit receipt number"), "receipt": N_("Receipt {number}"),
                   "void_reason": N_("Why is this receipt voided?"),
                   "void_red_reason": N_("This receipt has an invoice. Why is the invoice reversed?"),
                   "void_confirm": N_("Please check and confirm"), "sending": N_("Please wait"),
                   "done": N_("The receipt is voided. The void slip is printing."),
                   "failed": N_("Sorry, this could not be done")}
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        if self.step == "list":
            options = tuple(Option(r.receipt_number, self._label(r)) for r in self.receipts)
            if not self.receipts:
                lines = (("", self.t(N_("No receipts today."))),)
        elif self.step in ("receipt", "void_reason", "void_red_reason", "void_confirm", "done") \
                and self.receipt is not None:
            r = self.receipt
            lines = ((self.t(N_("Receipt number")), r.receipt_number), (self.t(N_("Time")), self.when(r.issued_at)),
                     (self.t(N_("Type")), self._kind(r.kind)), (self.t(N_("Amount")), self.money(r.amount_fen)),
                     (self.t(N_("Payment method")), self._method(r.method)))
            if r.voided:
                lines += (("", self.t(N_("This receipt has been voided."))),)
            if self.step == "receipt":
                options = (Option("reprint", self.t(N_("Reprint"))),
                           Option("void", self.t(N_("Void")), self._voidable,
                                  reason="" if self._voidable else self.t(N_("Cannot be voided"))))
            if self.step == "receipt" and self.image:  # the picture of the receipt says it all, larger
                lines = lines[-1:] if r.voided else ()
            if self.step == "void_confirm":
                lines += ((self.t(N_("Reason")), self.t(VOID_REASONS[self.reason])),)
                if self._asks_red_reason and self.red_reason:
                    lines += ((self.t(N_("Red-letter reason")), self.t(RED_REASON_LABELS[self.red_reason])),)
            if self.step == "done":
                lines += ((self.t(N_("Void receipt number")), self.void_number),)
                if self.void_notice:
                    lines += (("", self.t(self.void_notice)),)
        if self.step == "void_reason":
            options = tuple(Option(k, self.t(v)) for k, v in VOID_REASONS.items())
        if self.step == "void_red_reason":
            options = tuple(Option(k, self.t(RED_REASON_LABELS[k]), icon="undo-variant") for k in RED_REASONS)
        primary = {"list": N_("Find by number"), "number": N_("Find"), "void_confirm": N_("Void receipt"),
                   "done": N_("Done"), "failed": N_("Back to the list")}.get(self.step, "")
        number = self.receipt.receipt_number if self.receipt else ""
        return self.base_view(self.t(prompts.get(self.step, ""), number=number), options=options, lines=lines,
                              entry=self.number, keypad=self.step == "number", message=self.message,
                              image=self.image if self.step == "receipt" else "",
                              primary=self.t(primary) if primary else "",
                              primary_enabled=self.step != "number" or bool(self.number))


class ImportBillsFlow(StaffStepFlow):
    """files on the USB drive -> confirm -> imported (count, total) or the bad rows (nothing imported)."""

    route = "staff_import"
    title = N_("Import bills")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.files: tuple[ImportFile, ...] = ()
        self.file: ImportFile | None = None
        self.outcome: ImportOutcome | None = None

    def loaded(self) -> None:
        staff_id = self.staff_id
        self.step = "loading"
        self.call("import_files", lambda: self.services.import_files(staff_id), self._listed, self.fail)

    def _listed(self, files: tuple[ImportFile, ...]) -> None:
        self.files, self.step = files, "files"

    def choose(self, key: str) -> None:
        found = next((f for f in self.files if f.path == key), None)
        if self.step == "files" and found is not None:
            self.file = found
            self.go_step("confirm")

    def primary(self) -> None:
        if self.step == "files":
            self.loaded()
        elif self.step == "confirm" and self.file is not None:
            staff_id, path = self.staff_id, self.file.path
            self.history.append(self.step)
            self.step = "sending"
            self.call("import_bills", lambda: self.services.import_bills(staff_id, path), self._imported, self.fail)
        elif self.step in ("done", "problems", "failed"):
            self.ctx.navigate("staff_home")
            return
        self.changed()

    def _imported(self, outcome: ImportOutcome) -> None:
        self.outcome, self.step = outcome, ("problems" if outcome.problems else "done")

    def view(self) -> StepView:
        prompts = {"loading": N_("Looking for files, please wait"),
                   "files": N_("Insert the USB drive, then choose the bills file (CSV)"),
                   "confirm": N_("Please check and confirm"), "sending": N_("Importing, please wait"),
                   "done": N_("The bills were imported."),
                   "problems": N_("Nothing was imported: correct these rows and try again."),
                   "failed": N_("Sorry, this could not be done")}
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        if self.step == "files":
            options = tuple(Option(f.path, f"{f.name} · {f.size_bytes // 1024 + 1} KB\n{f.path}") for f in self.files)
            if not self.files:
                lines = (("", self.t(N_("No CSV file found on a USB drive."))),)
        if self.step in ("confirm", "done", "problems") and self.file is not None:
            lines = ((self.t(N_("File")), self.file.name),)
        o = self.outcome
        if self.step == "done" and o is not None:
            lines += ((self.t(N_("Bills imported")), str(o.count)), (self.t(N_("Total")), self.money(o.total_fen)))
        if self.step == "problems" and o is not None:
            lines += tuple((self.t(N_("Line {line}"), line=line), reason) for line, reason in o.problems[:8])
        primary = {"files": N_("Look again"), "confirm": N_("Import"), "done": N_("Done"), "problems": N_("Done"),
                   "failed": N_("Done")}.get(self.step, "")
        return self.base_view(self.t(prompts.get(self.step, "")), options=options, lines=lines,
                              primary=self.t(primary) if primary else "")
